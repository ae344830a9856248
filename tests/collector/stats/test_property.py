"""Views from the rollups equal a recomputation from raw rows, whatever the arrival order.

Hypothesis draws events and heartbeat slices, sends them through the real
HTTP ingest paths in a random order and random batches, and every view (the
chatter table, each chatter's days, the revenue series by day and by hour)
must equal collector/stats/metrics.py run over the same raw rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from collector.stats import present
from collector.stats.metrics import ChatterMetrics, EventRow, SliceRow, compute, fan_interactions
from collector.stats.periods import Period, period
from shared.protocol import format_time
from tests.collector.conftest import Agent, Collector

# Events straddle Europe/Berlin's 25-hour day (2026-10-25); slices must be recent.
EVENT_BASE = dt.datetime(2026, 10, 24, 0, 0, tzinfo=dt.UTC)
EVENT_MINUTES = 4 * 24 * 60
SLICE_DAYS = 3
ZONES = ("UTC", "Europe/Berlin", "Asia/Kathmandu", "America/St_Johns")
ASSIGNED = {"alice": {"luna"}, "bob": {"luna", "nova"}}
TABLES = (
    "sale_reassignments",
    "fan_days",
    "events",
    "slices",
    "sales_quarters",
    "sales_days",
    "revenue_quarters",
    "activity_quarters",
    "activity_days",
)


@dataclass(frozen=True)
class Drawn:
    events: list[dict[str, Any]]
    slices: list[tuple[int, dict[str, Any]]]  # (device index, slice)
    event_batches: list[list[dict[str, Any]]]
    slice_batches: list[list[tuple[int, dict[str, Any]]]]
    zone: str
    # Manager reassignments, made once their sale has arrived: (sale id, chatter or None).
    reassigned: list[tuple[str, str | None]]


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@st.composite
def events(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(5, 40))
    out: list[dict[str, Any]] = []
    for i in range(count):
        kind = draw(
            st.sampled_from(["fan_message"] * 3 + ["message_sent"] * 3 + ["ppv_purchase", "tip"])
        )
        if out and draw(st.integers(0, 9)) == 0:
            kind = "refund"
        # Whole hours plus a few minutes: ties, bursts and the 24 h limits all come up.
        hours = draw(st.integers(0, EVENT_MINUTES // 60))
        minutes = draw(st.sampled_from([0, 0, 1, 15, 30, 45]))
        seconds = draw(st.sampled_from([0, 0, 0, 17, 59]))
        at = EVENT_BASE + dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)
        # Mixed prefixes: ties at one instant break on ids that sort differently by locale.
        prefix = draw(st.sampled_from(["e", "E", "x-", "a_", "B"]))
        base = {
            "id": f"{prefix}{i}",
            "type": kind,
            "occurred_at": format_time(at),
            "creator": draw(st.sampled_from(["luna", "nova"])),
        }
        fan = draw(st.sampled_from(["f1", "f2", "f3"]))
        ppv = draw(st.sampled_from(["p1", "p2", "p3"]))
        amount = _money(draw(st.integers(1, 5000)))
        if kind == "fan_message":
            base["fan"] = fan
        elif kind == "message_sent":
            base.update(
                chatter=draw(st.sampled_from(["alice", "bob"])),
                fan=fan,
                kind=draw(st.sampled_from(["direct", "direct", "mass", "automated"])),
            )
            if draw(st.booleans()):
                base["ppv"] = {"id": ppv, "price": amount}
        elif kind == "ppv_purchase":
            base.update(fan=fan, ppv_id=ppv, amount=amount)
        elif kind == "tip":
            base.update(fan=fan, amount=amount)
            if draw(st.booleans()):
                base["chatter"] = draw(st.sampled_from(["alice", "bob"]))
        else:
            refunded = draw(st.sampled_from([e["id"] for e in out] + ["missing"]))
            base.update(refers_to=refunded, amount=amount)
        out.append(base)
    return out


def _batches(draw: st.DrawFn, items: list[Any]) -> list[list[Any]]:
    shuffled = draw(st.permutations(items))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(items) - 1)), max_size=4)))
    bounds = [0, *(c for c in cuts if c < len(items)), len(items)]
    return [shuffled[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


@st.composite
def drawn(draw: st.DrawFn, slice_base: dt.datetime) -> Drawn:
    evs = draw(events())
    starts = draw(
        st.lists(
            st.tuples(st.integers(0, 2), st.integers(0, SLICE_DAYS * 24 * 60 - 1)),
            max_size=30,
            unique=True,
        )
    )
    slices = []
    for device, minute in starts:
        active = draw(st.integers(0, 60))
        slices.append(
            (
                device,
                {
                    "start": format_time(slice_base + dt.timedelta(minutes=minute)),
                    "duration": 60,
                    "active_seconds": active,
                    "input_seconds": active // 2,
                    "paused_seconds": draw(st.integers(0, 60 - active)),
                    "keystrokes": draw(st.integers(0, 200)),
                    "mouse_events": draw(st.integers(0, 200)),
                },
            )
        )
    zone = draw(st.sampled_from(ZONES))
    sales = [e["id"] for e in evs if e["type"] in ("ppv_purchase", "tip")]
    reassigned = []
    if sales:
        reassigned = draw(
            st.lists(
                st.tuples(st.sampled_from(sales), st.sampled_from(["alice", "bob", None])),
                max_size=3,
            )
        )
    return Drawn(evs, slices, _batches(draw, evs), _batches(draw, slices), zone, reassigned)


def reference_events(
    evs: list[dict[str, Any]], reassigned: list[tuple[str, str | None]]
) -> list[EventRow]:
    assigned = dict(reassigned)  # the last reassignment of a sale wins
    rows = []
    for e in evs:
        amount = e.get("amount") or (e.get("ppv") or {}).get("price") or "0"
        ref = e.get("ppv_id") or e.get("refers_to") or (e.get("ppv") or {}).get("id")
        rows.append(
            EventRow(
                e["id"],
                e["type"],
                dt.datetime.fromisoformat(e["occurred_at"]),
                e["creator"],
                e.get("chatter"),
                e.get("fan"),
                e.get("kind"),
                ref,
                round(float(amount) * 100) if e["type"] != "message_sent" else 0,
                assigned.get(e["id"]),
            )
        )
    return rows


def _hour_windows(window: Period) -> list[Period]:
    """Local hours as periods (a DST day has 23 or 25)."""
    hours = []
    moment = window.start
    while moment < window.end:
        local = moment.astimezone(window.tz)
        end = moment + dt.timedelta(hours=1)
        # A Kathmandu or St John's hour still ends on a local hour boundary.
        end -= dt.timedelta(minutes=end.astimezone(window.tz).minute)
        hours.append(Period(local.date(), local.date(), window.tz, moment, end))
        moment = end
    return hours


def _check(agency: Collector, token: str, drawn: Drawn, slices: list[SliceRow]) -> None:
    refs = reference_events(drawn.events, drawn.reassigned)
    ranges = [(dt.date(2026, 10, 23), dt.date(2026, 10, 28))]
    if drawn.slices:
        ranges.append((SLICE_BASE.date() - dt.timedelta(days=1), dt.date.today()))
    auth = {"Authorization": f"Bearer {token}"}
    for zone in (drawn.zone,):
        for first, last in ranges:
            window = period(first, last, zone)
            params = {"start": str(first), "end": str(last), "tz": zone, "compare": "false"}
            for creator in (None, "luna"):
                query = {**params, **({"creator": creator} if creator else {})}
                body = agency.http.get("/api/v1/stats/chatters", params=query, headers=auth).json()
                expected = compute(refs, slices, window, creator=creator, assignments=ASSIGNED)
                got = {r["key"]: r for r in body["chatters"]}
                for key, m in expected.items():
                    row = {k: v for k, v in got.pop(key).items() if k not in ("key", "name")}
                    m.activity_shared = bool(creator and key and len(ASSIGNED[key]) > 1)
                    assert row == present.metric_fields(m, 2), (zone, creator, key)
                assert all(_empty(r) for r in got.values()), (zone, creator, got)
                _check_fans(agency, auth, query, refs, window, creator, expected)
            _check_days(agency, auth, params, refs, slices, window)
            _check_revenue(agency, auth, params, refs, window)
    # Two local days in the middle of the events: the fan view then adds the fan_days
    # rollup's whole UTC days to raw events at both ragged edges (UTC has none).
    window = period(dt.date(2026, 10, 24), dt.date(2026, 10, 25), drawn.zone)
    query = {"start": "2026-10-24", "end": "2026-10-25", "tz": drawn.zone}
    for creator in (None, "luna"):
        with_creator = {**query, **({"creator": creator} if creator else {})}
        expected = compute(refs, slices, window, creator=creator, assignments=ASSIGNED)
        _check_fans(agency, auth, with_creator, refs, window, creator, expected)


def _check_fans(
    agency: Collector,
    auth: dict[str, str],
    query: dict[str, str],
    refs: list[EventRow],
    window: Period,
    creator: str | None,
    expected: dict[str | None, ChatterMetrics],
) -> None:
    """The fan view and the revenue breakdown equal the reference on the raw rows."""
    for key in ("alice", "bob"):
        base = f"/api/v1/stats/chatters/{key}"
        body = agency.http.get(f"{base}/fans", params={**query, "per_page": "500"}, headers=auth)
        got = {(r["creator"], r["fan"]): r for r in body.json()["fans"]}
        want = fan_interactions(refs, window, key, creator=creator)
        assert set(got) == set(want), (key, creator)
        # Sorted by the median wait (computed apart from the SQL): fans without one last.
        by_wait = {**query, "per_page": "500", "sort": "median_wait_seconds", "order": "asc"}
        waits = [
            (r["median_wait_seconds"] is None, r["median_wait_seconds"] or 0, r["fan"])
            for r in agency.http.get(f"{base}/fans", params=by_wait, headers=auth).json()["fans"]
        ]
        assert [w[:2] for w in waits] == sorted(w[:2] for w in waits), (key, creator)
        assert len(waits) == len(want), (key, creator)
        for fan, f in want.items():
            row = got[fan]
            assert (row["messages_sent"], row["fan_messages"], row["ppv_sent"]) == (
                f.messages_sent,
                f.fan_messages,
                f.ppv_sent,
            ), (key, fan)
            assert (row["ppv_bought"], row["median_wait_seconds"], row["replies"]) == (
                f.ppv_bought,
                f.median_wait_seconds,
                len(f.response_samples),
            ), (key, fan)
            money = (row["ppv_revenue"], row["tip_revenue"], row["refunds"], row["net_revenue"])
            assert money == tuple(
                _money_signed(v) for v in (f.ppv_revenue, f.tip_revenue, f.refunds, f.net_revenue)
            ), (key, fan)
            assert f.last_contact is not None
            assert dt.datetime.fromisoformat(row["last_contact"]) == f.last_contact
        # One truth: the breakdown's net is the chatter's total_sales in the table.
        totals = agency.http.get(f"{base}/breakdown", params=query, headers=auth).json()["totals"]
        m = expected.get(key, ChatterMetrics())
        assert (totals["net_revenue"], totals["refunds"]) == (
            _money_signed(m.total_sales),
            _money_signed(m.refunds),
        ), (key, creator)
        assert _money_signed(sum(f.net_revenue for f in want.values())) == totals["net_revenue"]


def _empty(row: dict[str, Any]) -> bool:
    blank = present.metric_fields(ChatterMetrics(), 2)
    ignored = ("key", "name", "activity_shared")
    return {k: v for k, v in row.items() if k not in ignored} == {
        k: v for k, v in blank.items() if k not in ignored
    }


def _check_days(
    agency: Collector,
    auth: dict[str, str],
    params: dict[str, str],
    refs: list[EventRow],
    slices: list[SliceRow],
    window: Period,
) -> None:
    for key in ("alice", "bob"):
        url = f"/api/v1/stats/chatters/{key}/daily"
        days = agency.http.get(url, params=params, headers=auth).json()["days"]
        assert [d["date"] for d in days] == [str(d) for d in window.days()]
        for row in days:
            day = dt.date.fromisoformat(row["date"])
            m = compute(refs, slices, period(day, day, window.tz.key), assignments=ASSIGNED).get(
                key, ChatterMetrics()
            )
            assert (row["active_seconds"], row["inactive_seconds"], row["keystrokes"]) == (
                m.active_seconds,
                m.inactive_seconds,
                m.keystrokes,
            ), (key, day)
            assert (row["total_revenue"], row["messages_sent"], row["ppv_sent"]) == (
                present.metric_fields(m, 2)["total_sales"],
                m.messages_sent,
                m.ppv_sent,
            ), (key, day)
            assert (row["ppv_bought"], row["avg_response_seconds"]) == (
                m.ppv_bought,
                m.avg_response_seconds,
            ), (key, day)


def _check_revenue(
    agency: Collector,
    auth: dict[str, str],
    params: dict[str, str],
    refs: list[EventRow],
    window: Period,
) -> None:
    day_windows = [period(d, d, window.tz.key) for d in window.days()]
    for interval, windows in (("day", day_windows), ("hour", _hour_windows(window))):
        query = {**params, "interval": interval}
        series = agency.http.get("/api/v1/stats/revenue", params=query, headers=auth).json()
        points = series["series"]
        assert len(points) == len(windows), interval
        for point, sub in zip(points, windows, strict=True):
            assert dt.datetime.fromisoformat(point["start"]) == sub.start
            metrics = compute(refs, [], sub).values()
            ppv = sum(m.ppv_sales for m in metrics)
            tips = sum(m.tips for m in metrics)
            assert (point["ppv"], point["tips"]) == (_money_signed(ppv), _money_signed(tips))


def _money_signed(minor: int) -> str:
    return ("-" if minor < 0 else "") + _money(abs(minor))


def _reset(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


def _reassign(agency: Collector, token: str, sale: str, chatter: str | None) -> None:
    reply = agency.http.post(
        f"/api/v1/sales/{sale}/reassign",
        json={"chatter": chatter, "reason": "property test"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 200, reply.text


def _run(agency: Collector, integration: str, token: str, agents: list[Agent], d: Drawn) -> None:
    _reset(agency.database_url)
    arrived: set[str] = set()
    pending = list(d.reassigned)
    for batch in d.event_batches:
        reply = agency.post_events(batch, integration)
        assert reply.status_code == 200, reply.text
        arrived |= {e["id"] for e in batch}
        # Reassign a sale as soon as it is there: later batches then arrive on top of it.
        while pending and pending[0][0] in arrived:
            _reassign(agency, token, *pending.pop(0))
    for batch in d.slice_batches:
        for device in range(len(agents)):
            mine = [s for i, s in batch if i == device]
            if mine:
                agent = agents[device]
                for s in mine:
                    agent.seq += 1
                    s["seq"] = agent.seq
                assert agent.send(mine).status_code == 200
    for sale, chatter in pending:
        _reassign(agency, token, sale, chatter)
    owners = ("alice", "alice", "bob")
    slices = [
        SliceRow(
            owners[i],
            str(i),
            dt.datetime.fromisoformat(s["start"]),
            s["duration"],
            s["active_seconds"],
            s["paused_seconds"],
            s["keystrokes"],
            s["mouse_events"],
        )
        for i, s in d.slices
    ]
    _check(agency, token, d, slices)


SLICE_BASE = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - (
    dt.timedelta(days=SLICE_DAYS)
)


@pytest.mark.parametrize("examples", [60])
def test_views_equal_the_reference(
    agency: Collector, integration: str, examples: int, database_url: str
) -> None:
    token = agency.token("manager")
    agents = [agency.enroll("alice"), agency.enroll("alice"), agency.enroll("bob")]
    count = examples if database_url.startswith("sqlite") else examples // 2

    @settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(drawn(SLICE_BASE))
    def check(d: Drawn) -> None:
        _run(agency, integration, token, agents, d)

    check()
