"""Regular (machine-like) input: flags and sums at ingest equal the reference, in any order.

Hypothesis draws runs of slices with input timing (a jiggler's near-constant intervals,
a person's irregular ones, keys, no timing at all), sends them through the real HTTP
ingest path in a random order and random batches, and then the stored flags, the
chatter table and each chatter's days (with the setting exclude_regular_input off and
on) must equal collector/stats/metrics.py over the same raw rows; a rebuild must leave
flags and rollups exactly as they were.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from collector.db.engine import configure_engine
from collector.stats import regular
from collector.stats.metrics import (
    REGULAR_MIN_SPAN,
    ChatterMetrics,
    SliceRow,
    compute,
    regular_slices,
    steady,
)
from collector.stats.periods import period
from collector.stats.rebuild import rebuild_all
from shared.protocol import format_time
from tests.collector.auth.test_accounts import PASSWORD, browser, login  # noqa: F401  (fixture)
from tests.collector.conftest import Agent, Collector

OWNERS = ("alice", "alice", "bob")
TABLES = ("slices", "activity_quarters", "activity_days")
SUMS = (
    "chatter_id, online_seconds, active_seconds, paused_seconds, keystrokes, mouse_events, "
    "regular_seconds"
)


def timing(gaps: list[int], bursts: int, keyed: int) -> dict[str, int]:
    return {
        "bursts": bursts,
        "keyed_bursts": keyed,
        "gaps": len(gaps),
        "gap_ms_sum": sum(gaps),
        "gap_ms_sum_sq": sum(g * g for g in gaps),
    }


@st.composite
def one_slice(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    active = draw(st.integers(1, 60))
    base: dict[str, Any] = {
        "duration": 60,
        "active_seconds": active,
        "input_seconds": min(active, 2),
        "paused_seconds": 0,
        "keystrokes": 0,
        "mouse_events": draw(st.integers(0, 20)),
    }
    if kind == "jiggler":  # every 30 s, a few ms off
        gaps = [30_000 + draw(st.integers(-40, 40)) for _ in range(draw(st.integers(1, 2)))]
        base.update(timing(gaps, len(gaps), 0))
    elif kind == "slow":  # every 2 min: some slices hold no interval at all
        gaps = draw(st.sampled_from([[], [120_000 + draw(st.integers(-100, 100))]]))
        base.update(timing(gaps, len(gaps), 0))
    elif kind == "person":
        gaps = draw(st.lists(st.integers(1_000, 60_000), max_size=6))
        base.update(timing(gaps, len(gaps) + draw(st.integers(0, 1)), 0))
    elif kind == "typing":
        gaps = draw(st.lists(st.integers(1_000, 20_000), min_size=1, max_size=6))
        keyed = draw(st.integers(1, len(gaps)))
        base.update(timing(gaps, len(gaps), keyed), keystrokes=draw(st.integers(1, 300)))
    elif kind == "idle":
        base.update(timing([], 0, 0), active_seconds=0, input_seconds=0)
    return base


@dataclass(frozen=True)
class Drawn:
    slices: list[tuple[int, int, dict[str, Any]]]  # (device, minute, slice)
    batches: list[list[tuple[int, int, dict[str, Any]]]]


@st.composite
def drawn(draw: st.DrawFn) -> Drawn:
    out: list[tuple[int, int, dict[str, Any]]] = []
    for device in range(3):
        minute = draw(st.integers(0, 3))
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(
                st.sampled_from(["jiggler", "jiggler", "slow", "person", "typing", "idle", "none"])
            )
            length = draw(st.integers(1, 9))
            for _ in range(length):
                out.append((device, minute, draw(one_slice(kind))))
                minute += 1
            minute += draw(st.sampled_from([0, 0, 0, 1, 2]))
    shuffled = draw(st.permutations(out))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(out) - 1)), max_size=5)))
    bounds = [0, *(c for c in cuts if c < len(out)), len(out)]
    batches = [shuffled[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    return Drawn(out, batches)


BASE = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=30)


def _start(minute: int) -> dt.datetime:
    return BASE + dt.timedelta(minutes=minute)


def _rows(d: Drawn) -> list[SliceRow]:
    return [
        SliceRow(
            OWNERS[device],
            str(device),
            _start(minute),
            s["duration"],
            s["active_seconds"],
            s["paused_seconds"],
            s["keystrokes"],
            s["mouse_events"],
            60,
            None
            if "bursts" not in s
            else (s["bursts"], s["keyed_bursts"], s["gaps"], s["gap_ms_sum"], s["gap_ms_sum_sq"]),
        )
        for device, minute, s in d.slices
    ]


def _snapshot(url: str) -> dict[str, list[Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return _read(conn)
    finally:
        engine.dispose()


def _read(conn: Any) -> dict[str, list[Any]]:
    found = conn.execute(text("SELECT device_id, start, regular FROM slices"))
    tables: dict[str, list[Any]] = {"slices": sorted((d, s, bool(f)) for d, s, f in found)}
    for table, when in (("activity_quarters", "bucket"), ("activity_days", "day")):
        rows = conn.execute(text(f"SELECT {when}, {SUMS} FROM {table}"))
        tables[table] = sorted(tuple(r) for r in rows)
    return tables


def _check_api(agency: Collector, token: str, refs: list[SliceRow], exclude: bool) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    first = BASE.date()
    last = (BASE + dt.timedelta(days=1)).date()
    params = {"start": str(first), "end": str(last), "tz": "Europe/Berlin", "compare": "false"}
    body = agency.http.get("/api/v1/stats/chatters", params=params, headers=auth).json()
    assert body["regular_input_excluded"] is exclude
    window = period(first, last, "Europe/Berlin")
    expected = compute([], refs, window, exclude_regular=exclude)
    got = {r["key"]: r for r in body["chatters"]}
    for key in ("alice", "bob"):
        m = expected.get(key, ChatterMetrics())
        row = got[key]
        assert (row["active_seconds"], row["inactive_seconds"], row["regular_seconds"]) == (
            m.active_seconds,
            m.inactive_seconds,
            m.regular_seconds,
        ), (key, exclude)
        url = f"/api/v1/stats/chatters/{key}/daily"
        for day in agency.http.get(url, params=params, headers=auth).json()["days"]:
            date = dt.date.fromisoformat(day["date"])
            want = compute(
                [], refs, period(date, date, "Europe/Berlin"), exclude_regular=exclude
            ).get(key, ChatterMetrics())
            assert (day["active_seconds"], day["regular_seconds"]) == (
                want.active_seconds,
                want.regular_seconds,
            ), (key, date, exclude)


def _run(agency: Collector, token: str, agents: list[Agent], d: Drawn) -> None:
    engine = create_engine(agency.database_url)
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    agency.cli("settings", "unset", "exclude_regular_input")
    for batch in d.batches:
        for device, agent in enumerate(agents):
            mine = [dict(s, start=format_time(_start(m))) for i, m, s in batch if i == device]
            for s in mine:
                agent.seq += 1
                s["seq"] = agent.seq
            if mine:
                reply = agent.send(mine)
                assert reply.status_code == 200, reply.text
    refs = _rows(d)
    expected = regular_slices(refs)
    ids = {str(i): agent.device_id for i, agent in enumerate(agents)}
    stored = _snapshot(agency.database_url)
    flagged = {(device, start) for device, start, flag in stored["slices"] if flag}
    uid = _device_uids(agency.database_url)
    assert {(ids[d], s) for d, s in expected} == {(uid[d], _utc(s)) for d, s in flagged}
    _check_api(agency, token, refs, exclude=False)
    agency.cli("settings", "set", "exclude_regular_input", "on")
    _check_api(agency, token, refs, exclude=True)
    # The rebuild recomputes every flag and sum from the raw slices: nothing changes.
    engine = create_engine(agency.database_url)
    configure_engine(engine)
    with engine.begin() as conn:
        rebuild_all(conn)
    engine.dispose()
    assert _snapshot(agency.database_url) == stored


def _utc(moment: Any) -> dt.datetime:
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _device_uids(url: str) -> dict[int, str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = {int(i): str(u) for i, u in conn.execute(text("SELECT id, uid FROM devices"))}
    engine.dispose()
    return found


def test_flags_and_sums_equal_the_reference_in_any_order(
    agency: Collector, database_url: str
) -> None:
    token = agency.token("manager")
    agents = [agency.enroll("alice"), agency.enroll("alice"), agency.enroll("bob")]
    count = 40 if database_url.startswith("sqlite") else 15

    @settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(drawn())
    def check(d: Drawn) -> None:
        _run(agency, token, agents, d)

    check()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 2), st.booleans(), st.integers(0, 3)), max_size=40))
def test_the_sweep_equals_the_plain_rule(shape: list[tuple[int, bool, int]]) -> None:
    """regular.flags (running sums and a sweep) against metrics.regular_slices (plain)."""
    rows, refs, start = [], [], 0
    for i, (skip, mouse_only, gaps) in enumerate(shape):
        start += 60 * skip
        pool = [30_000 + 7 * k * (i % 3) for k in range(gaps)]
        timed = (gaps, 0 if mouse_only else 1, gaps, sum(pool), sum(g * g for g in pool))
        rows.append(regular.Timed(i, start, 60, mouse_only, *timed[2:], False))
        refs.append(
            SliceRow(
                "a",
                "d",
                dt.datetime.fromtimestamp(start, dt.UTC),
                60,
                30,
                0,
                0 if mouse_only else 5,
                0,
                60,
                timed,
            )
        )
        start += 60
    want = regular_slices(refs)
    assert [(r.start, f) for r, f in zip(rows, regular.flags(rows), strict=True)] == [
        (r.start, ("d", ref.start) in want) for r, ref in zip(rows, refs, strict=True)
    ]


@pytest.mark.parametrize(
    ("gaps", "expected"),
    [
        ([30_000] * 10, True),  # a jiggler: every 30 s exactly
        ([30_000 + (-1) ** k * 2_900 for k in range(10)], True),  # CV 0.097
        ([30_000 + (-1) ** k * 3_000 for k in range(10)], False),  # CV 0.1 exactly: not below
        ([30_000] * 3, False),  # too few intervals to tell
        ([2_000, 9_000, 4_000, 31_000, 1_500, 12_000], False),  # a person
    ],
)
def test_steady_is_a_coefficient_of_variation_below_a_tenth(
    gaps: list[int], expected: bool
) -> None:
    assert steady(len(gaps), sum(gaps), sum(g * g for g in gaps)) is expected
    assert REGULAR_MIN_SPAN == 300


JIGGLE = {
    "active_seconds": 60,
    "keystrokes": 0,
    "bursts": 2,
    "keyed_bursts": 0,
    "gaps": 2,
    "gap_ms_sum": 60_000,
    "gap_ms_sum_sq": 2 * 30_000**2,
}


def test_regular_input_on_the_pages_the_api_and_the_exports(browser: Collector) -> None:  # noqa: F811
    """Six jiggled minutes and one typed: "Regular input" 6 min everywhere; the setting
    takes them out of active time everywhere (pages, API, exports, top chatters)."""
    agent = browser.enroll("alice")
    first = agent.cursor
    assert agent.send(agent.slices(6, **JIGGLE)).status_code == 200
    assert agent.send(agent.slices(1, active_seconds=60, keystrokes=40)).status_code == 200
    day = first.date()
    query = {"start": str(day), "end": str(day + dt.timedelta(days=1)), "tz": "UTC"}
    http = browser.http
    assert login(http, "boss@agency.test", PASSWORD).status_code == 302

    def read(exclude: bool) -> None:
        api = http.get("/api/v1/stats/chatters", params=query).json()
        (row,) = [r for r in api["chatters"] if r["key"] == "alice"]
        assert api["regular_input_excluded"] is exclude
        assert row["regular_seconds"] == 360
        assert row["active_seconds"] == (60 if exclude else 420)
        assert row["inactive_seconds"] == (360 if exclude else 0)
        top = http.get("/api/v1/stats/top", params={**query, "by": "activity"}).json()
        assert top["items"][0]["value"] == row["active_seconds"]
        exported = http.get("/api/v1/stats/chatters", params={**query, "format": "csv"}).text
        table = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
        header, *lines = table
        (line,) = [r for r in lines if "alice" in r]
        assert line[header.index("Regular input (seconds)")] == "360"
        assert line[header.index("Active (seconds)")] == str(row["active_seconds"])
        daily = http.get(
            "/api/v1/stats/chatters/alice/daily", params={**query, "format": "csv"}
        ).text
        assert "Regular input" in daily
        page = {"preset": "custom", **query}
        for url in ("/stats", "/chatters/alice"):
            html = http.get(url, params=page).text
            assert "Regular input" in html and "6 min" in html, url
            # Always explained; what the setting does, as it stands.
            assert 'id="regular-note"' in html, url
            assert ("It is left out of active time" in html) is exclude, url

    read(exclude=False)
    browser.cli("settings", "set", "exclude_regular_input", "on")
    read(exclude=True)
