"""The attendance view for 200 chatters x 90 days of shifts, on SQLite and PostgreSQL.

The issue's benchmark: ``GET /api/v1/stats/attendance`` for the whole agency over 90 local
days must answer in 200 ms or less (p95, server time in-process, one warm-up call first, as
the other parts).  The agency: 10 creators, 200 chatters each on a weekly 8-hour shift six
days a week in one of three zones, online about 8.5 hours a day (late, early, absent and
overtime mixed in).  As a real agency's database after the purge: attendance minutes for the
first 76 days (their slices are gone) and their hours, raw slices for the last 14, from
which ``attendance.store.rebuild`` computes their minutes and hours (timed).  The first
call, which computes and stores every occurrence's span from the hours and minutes, is
reported apart ("cold").

Then the same view after each of a few ingests of one chatter's slice ("after new
slices"): the chatter's spans and what the process keeps of them are measured again, the
others' are not (collector/attendance/kept.py).

The data are built in a database of its own (a temporary SQLite file, a PostgreSQL database
``ct_attbench_<random>``), dropped afterwards.  Run::

    .venv/bin/python -m bench.attendance [--lane sqlite|postgresql] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.lanes import LANES, pg_admin, pg_admin_url, pg_unreachable
from bench.timing import PartLane, Timing, timed
from collector import create_app
from collector.attendance import store
from collector.auth import credentials
from collector.db import retention
from collector.db.models import ApiToken, Chatter, Creator, Device, chatter_creators
from collector.db.schedule_models import CoverageRule, Shift
from collector.http.database import db
from collector.maintenance.upgrade import upgrade

TARGET_MS = 200.0
REPEATS = 15
TOKEN = "ctk_attbench_manager"
CHATTERS = 200
CREATORS = 10
DAYS = 90
KEPT_DAYS = 14  # raw slices of the last days; the minutes of the others stay alone
LAST_DAY = dt.date(2026, 6, 30)
FIRST_DAY = LAST_DAY - dt.timedelta(days=DAYS - 1)
ZONES = ("Europe/Paris", "America/New_York", "Asia/Manila")
TZ = "Europe/Paris"


@dataclass
class LaneResult(PartLane):
    timings: list[Timing] = field(default_factory=list)
    cold_ms: float = 0.0
    build_s: float = 0.0
    rebuild_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | {
            **self.dataset,
            "cold_ms": round(self.cold_ms, 1),
            "build_s": round(self.build_s, 1),
            "rebuild_s": round(self.rebuild_s, 1),
            "timings": [
                {
                    "name": t.name,
                    "median_ms": round(t.median, 1),
                    "p95_ms": round(t.p95, 1),
                    "targeted": t.name.startswith("attendance 90"),
                    "passed": t.meets(TARGET_MS) if t.name.startswith("attendance 90") else None,
                    "samples": len(t.samples_ms),
                }
                for t in self.timings
            ],
        }


@contextmanager
def lane_database(lane: str) -> Iterator[str]:
    """An empty database of the lane's kind, removed on exit."""
    if lane == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ct-attbench-") as workdir:
            yield f"sqlite:///{Path(workdir) / 'attbench.db'}"
        return
    admin = pg_admin_url()
    name = f"ct_attbench_{uuid.uuid4().hex[:12]}"
    with pg_admin(admin) as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with pg_admin(admin) as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _epoch(day: dt.date, minute: int, zone: str) -> int:
    from collector.shifts.occurrences import local_to_utc

    return int(local_to_utc(day, minute, zone).timestamp())


# Straight to the driver (COPY on PostgreSQL): millions of rows in seconds, not minutes.
_MINUTE_COLUMNS = (
    "chatter_id, minute, online, active, paused, first_active, active_until, human, "
    "first_human, human_until"
)
_SLICE_COLUMNS = (
    "device_id, chatter_id, start, slice_seconds, duration, active_seconds, input_seconds, "
    "paused_seconds, keystrokes, mouse_events, seq, batch_id, received_at"
)


def _copy(connection: Connection, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    raw = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns.split(","))
    raw.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # type: ignore[union-attr]


def _copy_minutes(connection: Connection, rows: list[tuple[Any, ...]]) -> None:
    # No regular input in the bench's agency: the active time without it is the same.
    _copy(connection, "attendance_minutes", _MINUTE_COLUMNS, [(*r, *r[3:4], *r[5:7]) for r in rows])


def _copy_slices(connection: Connection, rows: list[tuple[Any, ...]], now: dt.datetime) -> None:
    sqlite = connection.dialect.name == "sqlite"

    def moment(seconds: int) -> Any:
        at = dt.datetime.fromtimestamp(seconds, dt.UTC)
        # As the UTCDateTime column stores it: naive UTC text on SQLite.
        return at.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else at

    received = moment(int(now.timestamp()))
    _copy(
        connection,
        "slices",
        _SLICE_COLUMNS,
        [
            (
                device,
                chatter,
                moment(at),
                60,
                60,
                active,
                active,
                paused,
                0,
                0,
                seq,
                "attbench",
                received,
            )
            for device, chatter, at, active, paused, seq in rows
        ],
    )


def build(url: str, scale: float) -> dict[str, Any]:
    """The agency, its shifts and its activity; returns what was built."""
    engine = create_engine(url)
    upgrade(engine)
    rng = random.Random(15)
    chatters = max(1, round(CHATTERS * scale))
    now = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    kept_from = LAST_DAY - dt.timedelta(days=KEPT_DAYS - 1)
    minutes = slices = 0
    with engine.begin() as c:
        c.execute(
            insert(Creator),
            [
                {
                    "id": i + 1,
                    "key": f"creator{i}",
                    "name": f"Creator {i:02d}",
                    "active": True,
                    "created_at": now,
                }
                for i in range(CREATORS)
            ],
        )
        c.execute(
            insert(Chatter),
            [
                {
                    "id": i + 1,
                    "key": f"chatter{i:03d}",
                    "name": f"Chatter {i:03d}",
                    "active": True,
                    "created_at": now,
                }
                for i in range(chatters)
            ],
        )
        c.execute(
            insert(Device),
            [
                {
                    "id": i + 1,
                    "uid": str(uuid.UUID(int=i + 1)),
                    "chatter_id": i + 1,
                    "hostname": f"pc-{i}",
                    "platform": "Linux",
                    "agent_version": "bench",
                    "enrolled_at": now,
                }
                for i in range(chatters)
            ],
        )
        c.execute(
            insert(chatter_creators),
            [{"chatter_id": i + 1, "creator_id": i % CREATORS + 1} for i in range(chatters)],
        )
        c.execute(
            insert(ApiToken),
            [
                {
                    "name": "attbench",
                    "role": "manager",
                    "token_hash": credentials.token_hash(TOKEN),
                    "created_at": now,
                }
            ],
        )
        shifts: list[dict[str, Any]] = []
        for i in range(chatters):
            shifts.append(
                {
                    "chatter_id": i + 1,
                    "creator_id": i % CREATORS + 1,
                    "zone": ZONES[i % 3],
                    "weekdays": 0b0111111 if i % 2 else 0b1111110,
                    "start_minute": (i % 24) * 60,
                    "end_minute": ((i % 24) + 8) % 24 * 60,
                    "first_day": FIRST_DAY - dt.timedelta(days=7),
                    "last_day": None,
                    "note": "",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        c.execute(insert(Shift), shifts)
        c.execute(
            insert(CoverageRule),
            [
                {
                    "creator_id": k + 1,
                    "zone": TZ,
                    "weekdays": 127,
                    "start_minute": 0,
                    "end_minute": 0,
                    "required": 2,
                    "created_at": now,
                    "updated_at": now,
                }
                for k in range(CREATORS)
            ],
        )
        minute_rows: list[tuple[Any, ...]] = []
        slice_rows: list[tuple[Any, ...]] = []
        seq = 0
        for i, shift in enumerate(shifts):
            day = FIRST_DAY
            while day <= LAST_DAY:
                if rng.random() < 0.05:  # absent
                    day += dt.timedelta(days=1)
                    continue
                start = (
                    _epoch(day, shift["start_minute"], shift["zone"]) + rng.randint(-10, 15) * 60
                )
                length = 8 * 60 + rng.randint(-20, 40)  # minutes online, overtime some days
                for m in range(length):
                    at = start + m * 60
                    paused = 60 if 200 <= m < 215 else 0
                    active = 0 if paused else rng.choice((0, 20, 45, 60, 60))
                    if day >= kept_from:
                        seq += 1
                        slice_rows.append((i + 1, i + 1, at, active, paused, seq))
                    else:
                        minute_rows.append(
                            (
                                i + 1,
                                at,
                                60 - paused,
                                active,
                                paused,
                                0 if active else None,
                                60 if active else None,
                            )
                        )
                day += dt.timedelta(days=1)
            # One chatter at a time: the whole agency's rows would take gigabytes.
            minutes += len(minute_rows)
            slices += len(slice_rows)
            _copy_minutes(c, minute_rows)
            _copy_slices(c, slice_rows, now)
            minute_rows, slice_rows = [], []
        store.add_up_hours(c, 0)  # the purged minutes' hours (the rebuild does the others)
        with Session(bind=c) as session:
            cut = dt.datetime.combine(kept_from, dt.time(), dt.UTC) - dt.timedelta(days=1)
            retention.advance(session, retention.SLICES, cut, now)
            session.flush()
    engine.dispose()
    return {"chatters": chatters, "days": DAYS, "purged_minutes": minutes, "slices": slices}


def rebuild(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as c:
        store.rebuild(c)
    engine.dispose()


def measure(url: str, repeats: int) -> tuple[float, list[Timing]]:
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def params(days: int) -> dict[str, str]:
        first = LAST_DAY - dt.timedelta(days=days - 1)
        return {"start": str(first), "end": str(LAST_DAY), "tz": TZ}

    def call(path: str, query: dict[str, str]) -> None:
        reply = client.get(f"/api/v1/stats/{path}", query_string=query, headers=headers)
        assert reply.status_code == 200, reply.get_data(as_text=True)[:300]

    t0 = time.perf_counter()
    call("attendance", params(90))
    cold = (time.perf_counter() - t0) * 1000
    timings = [
        Timing("attendance 90 days", timed(lambda: call("attendance", params(90)), repeats)),
        Timing(
            "attendance 90 days UTC",
            timed(lambda: call("attendance", {**params(90), "tz": "UTC"}), repeats),
        ),
        Timing("attendance 30 days", timed(lambda: call("attendance", params(30)), repeats)),
        Timing(
            "attendance 7 days, one creator",
            timed(lambda: call("attendance", {**params(7), "creator": "creator3"}), repeats),
        ),
        Timing("coverage 7 days", timed(lambda: call("coverage", params(7)), repeats)),
    ]
    timings.append(
        Timing(
            "attendance 90 days, after new slices",
            _after_ingest(url, lambda: call("attendance", params(90)), repeats),
        )
    )
    with app.app_context():
        db.engine.dispose()
    return cold, timings


def _after_ingest(url: str, view: Any, repeats: int) -> list[float]:
    """The view each time after one more chatter sent a slice in the range (stored and
    refreshed as the ingest does, not timed): what a dashboard finds while agents send,
    the chatter's spans and kept rows measured again (collector/attendance/kept.py)."""
    engine = create_engine(url)
    samples = []
    try:
        for r in range(repeats):
            i = r % CHATTERS
            # Twelve hours after the chatter's shift starts on the last day: no slice there.
            at = _epoch(LAST_DAY, (i % 24) * 60, ZONES[i % 3]) + 12 * 3600
            with engine.begin() as c:
                _copy_slices(
                    c, [(i + 1, i + 1, at, 30, 0, 10_000_000 + r)], dt.datetime.now(dt.UTC)
                )
                store.refresh(c, i + 1, [at])
            t0 = time.perf_counter()
            view()
            samples.append((time.perf_counter() - t0) * 1000)
    finally:
        engine.dispose()
    return samples


def run(lanes: Sequence[str], scale: float, repeats: int = REPEATS) -> list[LaneResult]:
    results = []
    for lane in lanes:
        if lane == "postgresql" and (why := pg_unreachable(pg_admin_url())):
            results.append(LaneResult(lane, scale, status="not run", reason=why))
            continue
        with lane_database(lane) as url:
            t0 = time.perf_counter()
            dataset = build(url, scale)
            built = time.perf_counter() - t0
            t0 = time.perf_counter()
            rebuild(url)
            rebuilt = time.perf_counter() - t0
            cold, timings = measure(url, repeats)
        result = LaneResult(lane, scale, timings=timings, cold_ms=cold)
        result.dataset, result.build_s, result.rebuild_s = dataset, built, rebuilt
        results.append(result)
    return results


def missed(results: Sequence[LaneResult]) -> bool:
    return any(
        t.name.startswith("attendance 90") and not t.meets(TARGET_MS)
        for r in results
        for t in r.timings
    )


def report(results: Sequence[LaneResult]) -> str:
    lines = [f"Attendance view, target {TARGET_MS:.0f} ms (90 days, every chatter)"]
    for r in results:
        if r.status != "ran":
            lines.append(f"[{r.lane}] {r.status}: {r.reason}")
            continue
        d = r.dataset
        lines.append(
            f"[{r.lane}] scale {r.scale}: {d['chatters']} chatters x {d['days']} days, "
            f"{d['purged_minutes']:,} minutes kept after the purge, {d['slices']:,} slices "
            f"(built in {r.build_s:.0f} s; minutes rebuilt from the slices in {r.rebuild_s:.1f} s)"
        )
        lines.append(
            f"  {'attendance 90 days (cold: spans computed)':<44} {r.cold_ms:8.1f} ms  info"
        )
        for t in r.timings:
            targeted = t.name.startswith("attendance 90")
            verdict = ("PASS" if t.meets(TARGET_MS) else "FAIL") if targeted else "info"
            lines.append(
                f"  {t.name:<44} median {t.median:8.1f} ms  p95 {t.p95:8.1f} ms  {verdict}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lane", choices=LANES, action="append")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args(argv)
    results = run(args.lane or list(LANES), args.scale, args.repeats)
    print(report(results))
    return 1 if missed(results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
