"""The demo agency's schedules: a weekly roster with overnight shifts, a coverage rule per
creator, one cancelled and one swapped day this week, all by the schedule rules."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from collector.alerts.conditions import showed_up
from collector.db.models import Creator
from collector.demo import agency
from collector.errors import DomainError
from collector.shifts import coverage, listing, roster
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


def _samples(text: str) -> list[str]:
    """The roster samples of a text: each block starting with the roster's header."""
    blocks = re.findall(r"(chatter,creator,(?:day|weekday),[^\n<]*\n(?:[a-z][^\n<]*\n?)+)", text)
    return [html.unescape(b).strip() + "\n" for b in blocks]


def test_the_sample_rosters_import_into_the_demo(collector: Collector) -> None:
    """Found by review: the README's and the Schedules page's sample rosters overlapped the
    demo's own roster, so the first thing tried on `make run` was refused."""
    readme = (Path(__file__).parents[3] / "README.md").read_text("utf-8")
    schedules = readme[readme.index("## Schedules") :]
    page = (Path(collector.app.root_path) / "templates" / "admin" / "shifts.html").read_text()
    samples = _samples(schedules[: schedules.index("\n## ", 5)])
    assert len(samples) == 2 and _samples(page) == samples
    engine = create_engine(collector.database_url)
    with Session(engine) as session:
        assert agency.seed(session, NOW)
        session.commit()
        for sample in samples:
            done = roster.import_roster(
                session, sample, default_zone="UTC", start_day=NOW.date(), actor="t", now=NOW
            )
            assert done.added and not done.skipped, sample
        session.rollback()
    engine.dispose()


def test_a_roster_lists_every_bad_row_at_once(collector: Collector) -> None:
    """Found by review: overlaps were reported only once the other errors were fixed, and
    as "chatter works two shifts at once"; one upload now lists them all, by name."""
    engine = create_engine(collector.database_url)
    with Session(engine) as session:
        assert agency.seed(session, NOW)
        session.commit()
        bad = (
            "chatter,creator,day,start,end\n"
            "nobody,luna,2026-12-08,08:00,16:00\n"
            "bea,luna,2026-12-12,25:00,06:00\n"
            "alex,luna,2026-12-08,09:00,10:00\n"  # a Tuesday: Alex works Luna 08:00-16:00
        )
        with pytest.raises(DomainError) as caught:
            roster.import_roster(
                session, bad, default_zone="UTC", start_day=NOW.date(), actor="t", now=NOW
            )
        assert caught.value.message.startswith("the roster was not imported: 3 problems;")
        messages = {d["line"]: d["message"] for d in caught.value.details}
        assert messages[2] == "chatter: no chatter 'nobody'"
        assert messages[3].startswith("start: '25:00' is not a time")
        assert messages[4].startswith(
            "Alex Moreau works two shifts at once: the shift on line 4 on 2026-12-08 "
            "(09:00–10:00 UTC) overlaps shift 1 on 2026-12-08"
        )
        session.rollback()
    engine.dispose()
