"""The demo agency's schedules: a weekly roster with overnight shifts, a coverage rule per
creator, one cancelled and one swapped day this week, all by the schedule rules."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from collector.db.models import Creator
from collector.demo import agency
from collector.shifts import coverage, listing
from tests.collector.conftest import Collector

NOW = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)  # a Tuesday


def test_demo_roster(collector: Collector) -> None:
    engine = create_engine(collector.database_url)
    with Session(engine) as session:
        assert agency.seed(session, NOW)
        session.commit()
        monday = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
        week = listing.planned(session, monday, monday + dt.timedelta(days=7))
        chatters, creators = listing.keys(session)
        rows = {
            (p.occurrence.day.isoformat(), chatters[p.occurrence.chatter_id], p.state) for p in week
        }
        assert ("2026-11-25", "alex", "cancelled") in rows
        assert ("2026-11-26", "fran", "swapped") in rows and (
            "2026-11-26",
            "chen",
            "swapped",
        ) in rows
        overnight = [p.occurrence for p in week if chatters[p.occurrence.chatter_id] == "fran"]
        assert overnight and all(o.seconds == 8 * 3600 for o in overnight)
        covered = {creators[r.creator_id] for r in coverage.rules(session)}
        assert covered == set(session.scalars(select(Creator.key)))
    engine.dispose()
