"""Chatter-stats views on the generated 90-day agency: server time per view, and ingestion.

Server time is measured in-process (the Flask app, no network): from the
request to the last byte of the JSON, previous-period comparison included.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from bench import stats_data
from bench.prepare import cli
from bench.timing import PartLane, Timing, lane_lines, timed
from collector import create_app
from collector.http.database import db

TARGET_MS = 150.0
REPEATS = 15
INGEST_DAY = dt.date(2026, 11, 2)  # after the data set: nothing cached is touched


@dataclass
class StatsLane(PartLane):
    views: list[Timing] = field(default_factory=list)
    ingest_events_per_s: float = 0.0
    ingest_batches: int = 0


def _get(client: FlaskClient, token: str, path: str, **params: str) -> Callable[[], Any]:
    def call() -> Any:
        reply = client.get(path, query_string=params, headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
        return reply.get_data()

    return call


def last_days(q: dict[str, Any], days: int) -> dict[str, str]:
    """The report range of the data set's last ``days`` local days (start, end, tz)."""
    end = dt.date.fromisoformat(q["end"])
    return {"start": str(end - dt.timedelta(days=days - 1)), "end": q["end"], "tz": q["tz"]}


def dataset_of(q: dict[str, Any]) -> dict[str, Any]:
    """What a result names of the data set: its range, zone, busy chatter and creator."""
    return {k: q[k] for k in ("start", "end", "tz", "chatter", "creator")}


def run(lane: str, scale: float) -> StatsLane:
    result = StatsLane(lane, scale)
    url = stats_data.ensure_dataset(lane, scale)
    q = stats_data.sample_queries(lane, scale)
    result.dataset = dataset_of(q)
    token = q["manager_token"]
    integration = cli(url, "api-token", f"bench-int-{int(time.time())}", "--role", "integration")
    app = create_app({"DATABASE_URL": url})
    try:
        client = app.test_client()
        base = {"start": q["start"], "end": q["end"], "tz": q["tz"]}
        week = last_days(q, 7)
        chatter = q["chatter"]
        views = [
            ("all-chatters table, 90 days", "/api/v1/stats/chatters", base),
            (
                "all-chatters table, 90 days, one creator",
                "/api/v1/stats/chatters",
                {**base, "creator": q["creator"]},
            ),
            ("all-chatters table, 7 days", "/api/v1/stats/chatters", week),
            (
                "daily table of one chatter, 90 days",
                f"/api/v1/stats/chatters/{chatter}/daily",
                base,
            ),
            (
                "fan interactions of one chatter, 90 days",
                f"/api/v1/stats/chatters/{chatter}/fans",
                base,
            ),
            ("top chatters by revenue, 90 days", "/api/v1/stats/top", {**base, "by": "revenue"}),
            ("top chatters by response time", "/api/v1/stats/top", {**base, "by": "response_time"}),
            ("revenue series by day, 90 days", "/api/v1/stats/revenue", base),
            (
                "revenue series by hour, 90 days",
                "/api/v1/stats/revenue",
                {**base, "interval": "hour"},
            ),
            (
                "all-chatters export xlsx, 90 days",
                "/api/v1/stats/chatters",
                {**base, "format": "xlsx"},
            ),
        ]
        for name, path, params in views:
            timing = Timing(name, timed(_get(client, token, path, **params), REPEATS))
            result.views.append(timing)
            print(f"[stats {lane}] {name}: median {timing.median:.1f} ms", flush=True)
        result.ingest_events_per_s, result.ingest_batches = _ingest(client, integration, token, q)
        with app.app_context():
            _forget_ingest(db.engine)
    finally:
        with app.app_context():
            db.engine.dispose()
    return result


def _ingest_batch(batch: int, size: int, creator: str, chatter: str) -> list[dict[str, Any]]:
    """A realistic mix: fan messages, replies (some PPVs), purchases and tips."""
    start = dt.datetime.combine(INGEST_DAY, dt.time(8), dt.UTC) + dt.timedelta(minutes=batch * 20)
    events: list[dict[str, Any]] = []
    for i in range(size // 5):
        at = start + dt.timedelta(seconds=i * 2)
        fan, tag = f"bench-fan-{batch}-{i % 97}", f"bench-ingest-{batch}-{i}"
        ppv = {"id": f"bench-ppv-{batch}-{i}", "price": "12.00"}
        common = {"creator": creator}
        events += [
            {"id": f"{tag}-f", "type": "fan_message", "occurred_at": _t(at), "fan": fan, **common},
            {
                "id": f"{tag}-m",
                "type": "message_sent",
                "occurred_at": _t(at, 40),
                "fan": fan,
                "chatter": chatter,
                "kind": "direct",
                **common,
            },
            {
                "id": f"{tag}-p",
                "type": "message_sent",
                "occurred_at": _t(at, 50),
                "fan": fan,
                "chatter": chatter,
                "kind": "direct",
                "ppv": ppv,
                **common,
            },
            {
                "id": f"{tag}-b",
                "type": "ppv_purchase",
                "occurred_at": _t(at, 90),
                "fan": fan,
                "ppv_id": ppv["id"],
                "amount": "12.00",
                **common,
            },
            {
                "id": f"{tag}-t",
                "type": "tip",
                "occurred_at": _t(at, 95),
                "fan": fan,
                "amount": "3.00",
                **common,
            },
        ]
    return events


def _chatter_of(client: FlaskClient, token: str, creator: str) -> str:
    reply = client.get("/api/v1/chatters", headers={"Authorization": f"Bearer {token}"})
    return str(next(c["key"] for c in reply.get_json()["chatters"] if creator in c["creators"]))


def _t(moment: dt.datetime, plus: int = 0) -> str:
    return (moment + dt.timedelta(seconds=plus)).isoformat().replace("+00:00", "Z")


def _ingest(client: FlaskClient, token: str, manager: str, q: dict[str, Any]) -> tuple[float, int]:
    chatter = _chatter_of(client, manager, q["creator"])
    batches = [_ingest_batch(b, 1000, q["creator"], chatter) for b in range(10)]
    t0 = time.perf_counter()
    for body in batches:
        reply = client.post(
            "/api/v1/events", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert reply.status_code == 200 and reply.get_json()["accepted"] == len(body), reply.data
    elapsed = time.perf_counter() - t0
    return sum(len(b) for b in batches) / elapsed, len(batches)


def _forget_ingest(engine: Engine) -> None:
    """Take the ingested events and their buckets out again so the cache stays as built."""
    first = int(dt.datetime.combine(INGEST_DAY, dt.time(0), dt.UTC).timestamp()) - 86_400
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE event_id LIKE 'bench-ingest-%'"))
        for table in ("sales_quarters", "revenue_quarters"):
            conn.execute(text(f"DELETE FROM {table} WHERE bucket >= :b"), {"b": first})
        for table in ("sales_days", "fan_days"):
            conn.execute(text(f"DELETE FROM {table} WHERE day >= :b"), {"b": first})


def render(lanes: list[StatsLane]) -> str:
    lines = [
        "chatter stats views (server time, in-process, previous period included; "
        f"target <= {TARGET_MS:.0f} ms)",
        f"{'lane':<11} {'view':<44} {'median ms':>10} {'p95 ms':>8}  verdict",
    ]
    return "\n".join(lines + lane_lines(lanes, _rows))


def _rows(lane: StatsLane) -> list[str]:
    lines = []
    for v in lane.views:
        verdict = "(no target)" if "export" in v.name else v.verdict(TARGET_MS)
        lines.append(f"{lane.lane:<11} {v.name:<44} {v.median:>10.1f} {v.p95:>8.1f}  {verdict}")
    lines.append(
        f"{lane.lane:<11} {'ingest into the big agency (rollups kept)':<44} "
        f"{lane.ingest_events_per_s:>10,.0f} events/s "
        f"({lane.ingest_batches} batches of 1,000, new conversations)"
    )
    return lines
