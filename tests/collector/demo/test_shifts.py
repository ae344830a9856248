"""The demo agency's schedules: a weekly roster with overnight shifts, a coverage rule per
creator, one cancelled and one swapped day this week, all by the schedule rules."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from collector.alerts.conditions import showed_up
from collector.db.models import Creator
from collector.demo import agency
from collector.shifts import coverage, listing
from collector.shifts.queries import load_occurrences
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


def test_demo_roster_starts_with_its_activity(collector: Collector) -> None:
    """Found by review: the roster began two weeks back and the activity one, so each
    chatter's "last 14 days" showed 3 to 6 no-shows.  Every shift of the roster that has
    ended was worked, bar the demo's rare no-show."""
    engine = create_engine(collector.database_url)
    with Session(engine) as session:
        assert agency.seed(session, NOW)
        session.commit()
        start = NOW - dt.timedelta(days=14)
        ended = [o for o in load_occurrences(session, start, NOW) if o.ends_at <= NOW]
        first = min(o.starts_at for o in ended)
        assert first >= NOW.replace(hour=0, minute=0) - dt.timedelta(days=agency.DAYS + 1)
        missed = Counter(
            o.chatter_id
            for o in ended
            if not showed_up(session, o.chatter_id, o.starts_at, o.ends_at)
        )
        assert len(ended) > 30 and max(missed.values(), default=0) <= 2, missed
    engine.dispose()
