"""Attendance with the setting exclude_regular_input (METRICS.md, "Attendance": regular
input left out): the worked example, and flags that change at ingest (a later slice
extends or breaks a jiggler's run) keep the stored minutes and hours equal to a rebuild's
and the fast path equal to the reference."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alembic import command
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.orm import Session

from collector.attendance.definitions import LATE_LEFT_EARLY, ON_TIME, Sums
from collector.db import migrate
from collector.db.engine import configure_engine
from collector.maintenance.rebuild import rebuild_everything
from shared.protocol import format_time
from tests.collector.attendance.helpers import add_shift, both, clear, ids, store_slices
from tests.collector.conftest import Agent, Collector
from tests.collector.stats.test_regular import BASE, Drawn, drawn

DAY = dt.date(2026, 6, 1)


def _at(hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2026, 6, 1, hour, minute, tzinfo=dt.UTC)


def _slice(device: int, chatter: int, at: dt.datetime, active: int, regular: bool) -> Any:
    return {
        "device_id": device,
        "chatter_id": chatter,
        "start": at,
        "slice_seconds": 60,
        "duration": 60,
        "active_seconds": active,
        "paused_seconds": 0,
        "regular": regular,
    }


def test_regular_input_worked_example(agency: Collector) -> None:
    """METRICS.md's example: a jiggler before and after the work, one real slice of
    another computer among the jiggles."""
    agency.enroll("alice")
    agency.enroll("alice")
    engine = create_engine(agency.database_url)
    with engine.begin() as c:
        chatters, creators, devices = ids(c)
        alice = chatters["alice"]
        a, b = devices["alice"]
        add_shift(
            c,
            chatter_id=alice,
            creator_id=creators["luna"],
            zone="UTC",
            weekdays=0,
            start_minute=9 * 60,
            end_minute=17 * 60,
            first_day=DAY,
        )
        rows = []
        for i in range(8 * 60 + 5):  # 08:55 to 17:00 on computer A
            at = _at(8, 55) + dt.timedelta(minutes=i)
            working = _at(9, 20) <= at < _at(16, 30)
            rows.append(_slice(a, alice, at, 45 if working else 60, not working))
        rows.append(_slice(b, alice, _at(16, 40), 20, False))  # computer B, a person
        store_slices(c, rows)
    with Session(engine) as session:
        for _ in range(2):  # the second time from the stored spans
            fast, ref = both(session, DAY, DAY, "UTC", [alice], grace=300)
            assert fast == ref
            (row,) = fast.rows
            assert row.sums == Sums(
                28_800, 20 * 60 + 430 * 45 + 30 * 60, 0, epoch(9, 0), epoch(17, 0)
            )
            assert row.status == ON_TIME
            assert fast.outside[(alice, DAY)][:2] == (300, 300)
            fast, ref = both(session, DAY, DAY, "UTC", [alice], grace=300, exclude_regular=True)
            assert fast == ref
            (row,) = fast.rows
            assert row.sums == Sums(28_800, 430 * 45 + 20, 0, epoch(9, 20), epoch(16, 41))
            assert (row.late_seconds, row.early_leave_seconds) == (1_200, 1_140)
            assert row.status == LATE_LEFT_EARLY
            assert fast.outside[(alice, DAY)][:2] == (300, 0)
    engine.dispose()


def epoch(hour: int, minute: int) -> int:
    return int(_at(hour, minute).timestamp())


def _stored(connection: Connection) -> dict[str, list[Any]]:
    return {
        table: sorted(tuple(r) for r in connection.execute(text(f"SELECT * FROM {table}")))
        for table in ("attendance_minutes", "attendance_hours")
    }


def _run(agency: Collector, agents: list[Agent], d: Drawn) -> None:
    engine = create_engine(agency.database_url)
    configure_engine(engine)
    try:
        with engine.begin() as c:
            clear(c)
            chatters, creators, _ = ids(c)
            # Alice's shift: from 2 to 12 minutes after the first slices' hour.
            add_shift(
                c,
                chatter_id=chatters["alice"],
                creator_id=creators["luna"],
                zone="UTC",
                weekdays=0,
                start_minute=BASE.hour * 60 + 2,
                end_minute=BASE.hour * 60 + 12,
                first_day=BASE.date(),
            )
        for batch in d.batches:
            for device, agent in enumerate(agents):
                mine = [
                    dict(s, start=format_time(BASE + dt.timedelta(minutes=m)))
                    for i, m, s in batch
                    if i == device
                ]
                for s in mine:
                    agent.seq += 1
                    s["seq"] = agent.seq
                if mine:
                    reply = agent.send(mine)
                    assert reply.status_code == 200, reply.text
        first, last = BASE.date(), BASE.date() + dt.timedelta(days=1)
        people = [chatters["alice"], chatters["bob"]]

        def check() -> None:
            with Session(engine) as session:
                for exclude in (False, True):
                    fast, ref = both(session, first, last, "UTC", people, exclude_regular=exclude)
                    assert fast == ref, exclude

        check()
        with engine.connect() as c:
            kept = _stored(c)
        with engine.begin() as c:
            rebuild_everything(c)
        with engine.connect() as c:
            assert _stored(c) == kept
        check()
    finally:
        engine.dispose()


def test_flags_changed_at_ingest_keep_attendance_exact(
    agency: Collector, database_url: str
) -> None:
    agents = [agency.enroll("alice"), agency.enroll("alice"), agency.enroll("bob")]
    count = 12 if database_url.startswith("sqlite") else 6

    @settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(drawn())
    def run(d: Drawn) -> None:
        _run(agency, agents, d)

    run()


def test_upgrade_to_hours_keeps_attendance(agency: Collector, database_url: str) -> None:
    """From 0018 (minutes without the human columns, no hours): the migration fills the
    hours, the upgrade recomputes the kept slices' minutes, and both paths agree."""
    alice = agency.enroll("alice")
    start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start -= dt.timedelta(hours=26)
    assert alice.send(alice.slices(150, start=start)).json()["accepted"] == 150
    engine = create_engine(database_url)
    configure_engine(engine)
    with engine.begin() as c:
        chatters, creators, _ = ids(c)
        add_shift(
            c,
            chatter_id=chatters["alice"],
            creator_id=creators["luna"],
            zone="UTC",
            weekdays=0,
            start_minute=start.hour * 60 + 30,
            end_minute=(start.hour * 60 + 150) % 1440,
            first_day=start.date(),
        )
    first, last = start.date(), start.date() + dt.timedelta(days=1)
    with Session(engine) as session:
        before, _ = both(session, first, last, "UTC", [chatters["alice"]])
    with engine.begin() as c:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = c
        command.downgrade(cfg, "0019_alert_claims_and_quiet")
    out = agency.cli("db", "upgrade").output
    assert f"revision {migrate.head()}" in out
    with engine.connect() as c:
        hours = c.execute(text("SELECT count(*), sum(online) FROM attendance_hours")).one()
        minutes = c.execute(text("SELECT count(*), sum(online) FROM attendance_minutes")).one()
        assert hours[0] >= 3 and hours[1] == minutes[1] > 0
    with Session(engine) as session:
        for exclude in (False, True):
            fast, ref = both(
                session, first, last, "UTC", [chatters["alice"]], exclude_regular=exclude
            )
            assert fast == ref == before
    engine.dispose()
