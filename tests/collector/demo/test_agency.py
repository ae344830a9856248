"""The demo agency: its statistics rebuild is audited like every other."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from collector.db.models import AuditEntry, Event, Slice
from collector.demo import agency
from tests.collector.auth.test_accounts import login
from tests.collector.conftest import Collector

NOW = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)


def test_demo_rebuild_is_audited(collector: Collector) -> None:
    engine = create_engine(collector.database_url)
    with Session(engine) as session:
        assert agency.seed(session, NOW)
        session.commit()
        entries = session.execute(
            select(AuditEntry.actor, AuditEntry.detail).where(AuditEntry.action == "rebuild_stats")
        ).all()
    engine.dispose()
    assert [(actor, detail["dropped_slices"]) for actor, detail in entries] == [("system", 0)]


def test_nothing_happens_after_now_and_sales_fall_inside_a_shift(collector: Collector) -> None:
    # 13:55: some chatters' shifts have started today, others start at 14:00 or 16:00.
    now = dt.datetime(2026, 11, 24, 13, 55, tzinfo=dt.UTC)
    engine = create_engine(collector.database_url)
    with Session(engine) as session:
        assert agency.seed(session, now)
        session.commit()
        events = session.execute(
            select(Event.chatter_id, Event.occurred_at, Event.type).where(Event.source == "demo")
        ).all()
        slices = session.execute(select(Slice.chatter_id, Slice.start, Slice.duration)).all()
    engine.dispose()
    assert events and slices
    assert max(at for _, at, _ in events) <= now
    assert max(start + dt.timedelta(seconds=length) for _, start, length in slices) <= now
    # A chatter's messages fall on a day they were online, within that day's shift.
    online: dict[tuple[int, dt.date], list[dt.datetime]] = {}
    for chatter, start, _ in slices:
        online.setdefault((chatter, start.date()), []).append(start)
    for chatter, at, kind in events:
        # The website chat's agents (seed_conversations) answer visitors at other hours.
        if chatter is None or kind not in ("message_sent", "tip"):
            continue
        starts = online.get((chatter, at.date()))
        assert starts, (chatter, at)
        assert min(starts) <= at <= max(starts) + dt.timedelta(minutes=30), (chatter, at)


def test_the_demo_team_lead_sees_only_nova(collector: Collector) -> None:
    engine = create_engine(collector.database_url)
    with Session(engine) as session:
        assert agency.seed(session, NOW)
        session.commit()
    engine.dispose()
    collector.app.config["SESSION_COOKIE_SECURE"] = False  # the test client speaks plain HTTP
    reply = login(collector.http, "lead@demo.test", "demo-lead-password")
    assert reply.status_code in (302, 303), reply.text
    presence = collector.http.get("/api/v1/presence").json()
    assert [c["creator"] for c in presence["creators"]] == ["nova"], presence
    assert {p["chatter"] for p in presence["chatters"]} == {"bea", "chen", "fran"}
