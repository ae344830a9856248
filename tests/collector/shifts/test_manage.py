"""The shift rules on a real database (SQLite and PostgreSQL): overlaps across zones and
DST changes, swaps, restores, people who left, and the audit trail."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.db.engine import begin_write
from collector.db.models import AuditEntry, Chatter
from collector.db.schedule_models import Shift
from collector.errors import DomainError
from collector.http.database import db
from collector.shifts import manage, roster
from collector.shifts.occurrences import place
from collector.shifts.queries import rule_of
from tests.collector.conftest import Collector

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
NIGHTS = {
    "chatter": "alice",
    "creator": "luna",
    "weekdays": "daily",
    "start": "22:00",
    "end": "06:00",
    "zone": "Europe/Paris",
    "first_day": "2026-03-01",
}


@pytest.fixture
def session(agency: Collector) -> Iterator[Session]:
    with agency.app.app_context():
        yield db.session


def add(session: Session, **fields: Any) -> Shift:
    data = {**NIGHTS, **fields}
    shift = manage.add_shift(
        session, manage.shift_fields(session, data, default_zone="UTC"), "test", NOW
    )
    session.commit()
    return shift


def test_overlap_across_zones_follows_both_dst_changes(session: Session) -> None:
    add(session)  # 22:00 in Paris: 21:00 UTC until 29 March, then 20:00 UTC
    # 16:00 in New York is 20:00 UTC from 8 March (US summer time), so it ends before the
    # night starts, until Paris changes its clocks too on 29 March.
    early = {"weekdays": "mon", "start": "16:00", "end": "16:30", "zone": "America/New_York"}
    add(session, **early, first_day="2026-03-09", last_day="2026-03-23")
    with pytest.raises(DomainError) as caught:
        add(session, **early, first_day="2026-03-24")
    assert caught.value.status == 409 and caught.value.code == "overlapping_shifts"
    assert caught.value.message.startswith("Alice would work two shifts at once: ")
    assert "the new shift on 2026-03-30 (16:00–16:30 America/New_York)" in caught.value.message
    assert "overlaps shift 1 on 2026-03-30 (22:00–06:00 Europe/Paris)" in caught.value.message
    with pytest.raises(DomainError, match="on 2026-03-02"):  # before the US change: 21:00 UTC
        add(session, **early, first_day="2026-03-02", last_day="2026-03-02")


def test_swaps_and_restores_keep_people_free(session: Session) -> None:
    nights = add(session)
    bob_day = add(
        session,
        chatter="bob",
        creator="nova",
        weekdays="",
        start="20:00",
        end="23:00",
        first_day="2026-03-05",
    )
    with pytest.raises(DomainError) as caught:  # bob is on nova that evening
        manage.add_exception(
            session, nights, {"day": "2026-03-05", "kind": "swapped", "chatter": "bob"}, "t", NOW
        )
    assert caught.value.status == 409 and caught.value.message.startswith("Bob would work")
    session.rollback()
    manage.add_exception(
        session, nights, {"day": "2026-03-06", "kind": "swapped", "chatter": "bob"}, "t", NOW
    )
    manage.add_exception(session, nights, {"day": "2026-03-07", "kind": "cancelled"}, "t", NOW)
    session.commit()
    # Alice's cancelled evening is free: she takes a one-off shift then.
    add(session, weekdays="", start="23:00", end="23:30", first_day="2026-03-07")
    with pytest.raises(DomainError, match="two shifts at once"):
        manage.remove_exception(session, nights, dt.date(2026, 3, 7), "t", NOW)
    session.rollback()
    # Bob cannot become the shift's own chatter while he works one of its days as a swap.
    with pytest.raises(DomainError, match="already works a swapped day"):
        manage.edit_shift(
            session,
            nights,
            manage.shift_fields(session, {"chatter": "bob"}, default_zone="UTC", base=nights),
            "t",
            NOW,
        )
    session.rollback()
    assert bob_day.id == 2


def test_people_who_left_and_team_leads(session: Session) -> None:
    nights = add(session, last_day=None)
    alice = session.scalars(select(Chatter).where(Chatter.key == "alice")).one()
    alice.active = False
    session.commit()
    with pytest.raises(DomainError, match="^chatter: Alice is deactivated$"):
        add(session, first_day="2027-01-01")
    session.rollback()
    # Her old shift can still be ended.
    fields = manage.shift_fields(
        session, {"last_day": "2026-03-31"}, default_zone="UTC", base=nights
    )
    assert manage.edit_shift(session, nights, fields, "t", NOW) == {
        "last_day": [None, "2026-03-31"]
    }
    session.commit()
    nova = manage.creator_named(session, "nova").id
    with pytest.raises(DomainError) as caught:
        manage.find_shift(session, nights.id, scope={nova})
    assert (caught.value.status, caught.value.message) == (404, f"no shift {nights.id}")
    manage.remove_shift(session, nights, "t", NOW)
    session.commit()
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert [a for a in actions if "shift" in a] == ["add_shift", "edit_shift", "remove_shift"]


def test_two_changes_at_once_are_checked_one_after_the_other(agency: Collector) -> None:
    """Two managers add overlapping shifts for one chatter at the same moment: the second
    waits for the first and is refused, never both stored."""
    with agency.app.app_context():
        engine = db.engine
    first, second = Session(engine), Session(engine)
    outcome: list[object] = []

    def add_in(session: Session, start: str) -> None:
        try:
            begin_write(session)
            data = {**NIGHTS, "weekdays": "", "first_day": "2026-03-02", "start": start}
            fields = manage.shift_fields(session, data, default_zone="UTC")
            manage.add_shift(session, fields, "t", NOW)
            session.commit()
            outcome.append("stored")
        except DomainError as exc:
            session.rollback()
            outcome.append(exc.code)

    try:
        begin_write(first)
        data = {**NIGHTS, "weekdays": "", "first_day": "2026-03-02"}
        manage.add_shift(first, manage.shift_fields(first, data, default_zone="UTC"), "t", NOW)
        waiting = threading.Thread(target=add_in, args=(second, "23:00"))
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive()  # held back by the first change's transaction
        first.commit()
        waiting.join(timeout=30)
        assert outcome == ["overlapping_shifts"]
    finally:
        first.close()
        second.close()
    with agency.app.app_context():
        assert len(db.session.scalars(select(Shift)).all()) == 1


def test_a_shift_inside_the_spring_gap_is_refused(session: Session) -> None:
    """Found by review: 02:00-03:00 Paris on 29 March 2026 (clocks jump 02:00 -> 03:00) has
    no length; it was stored and then never appeared anywhere."""
    gap = {"start": "02:00", "end": "03:00", "first_day": "2026-03-29"}
    said = (
        "start: 02:00 does not exist on 2026-03-29 in Europe/Paris (clocks go from 02:00 to 03:00)"
    )
    with pytest.raises(DomainError) as caught:
        add(session, **gap, weekdays="")
    assert (caught.value.status, caught.value.message) == (422, said)
    with pytest.raises(DomainError) as caught:
        add(session, **gap, weekdays="sun", last_day="2026-03-29")
    assert caught.value.message == said
    # The same hours on an ordinary night, or a weekly shift that also runs on other
    # Sundays, are fine: that one night simply has no occurrence.
    add(session, **{**gap, "first_day": "2026-03-22"}, weekdays="")
    add(session, **gap, weekdays="sun", last_day="2026-04-12")


ROSTER = (
    "chatter,creator,day,start,end,zone,note\n"
    "alice,luna,2026-12-14,12:00,13:00,,x\n"
    "bob,luna,2026-12-14,12:00,13:00,,y\n"
)


def test_two_identical_roster_imports_at_once_add_it_once(agency: Collector) -> None:
    """Found by review: on PostgreSQL the second of two uploads of one file at the same
    moment was refused, each row overlapping its own twin from the first; it waits for
    the first now and skips every line, as a second upload in a row does."""
    with agency.app.app_context():
        engine = db.engine
    first, second = Session(engine), Session(engine)
    outcome: list[object] = []

    def upload(session: Session) -> roster.Imported:
        return roster.import_roster(
            session, ROSTER, default_zone="UTC", start_day=NOW.date(), actor="t", now=NOW
        )

    def upload_second() -> None:
        try:
            begin_write(second)
            done = upload(second)
            second.commit()
            outcome.append((len(done.added), [s["reason"] for s in done.skipped]))
        except DomainError as exc:
            second.rollback()
            outcome.append(exc.message)

    try:
        begin_write(first)
        assert len(upload(first).added) == 2
        waiting = threading.Thread(target=upload_second)
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive()  # held back until the first import commits
        first.commit()
        waiting.join(timeout=30)
        assert outcome == [(0, ["already scheduled as shift 1", "already scheduled as shift 2"])]
    finally:
        first.close()
        second.close()
    with agency.app.app_context():
        assert len(db.session.scalars(select(Shift)).all()) == 2


def test_the_one_rule_for_a_time_in_the_spring_gap(session: Session) -> None:
    """Found by review: 02:30-03:30 on 29 March (Paris) was refused as "does not exist that
    night", 02:15-02:45 stored as 03:15-03:45 without a word.  The rule (METRICS.md,
    "Attendance"): a time in the gap moves forward by the gap; a shift that runs on that
    day only is refused instead, naming the time that does not exist."""
    once = {"weekdays": "", "first_day": "2026-03-29"}
    for start, end, field, missing in (
        ("02:30", "03:30", "start", "02:30"),
        ("02:15", "02:45", "start", "02:15"),
        ("01:00", "02:30", "end", "02:30"),
        ("23:00", "02:30", "end", "02:30"),  # overnight into the gap, from the 28th
    ):
        day = "2026-03-28" if start == "23:00" else "2026-03-29"
        with pytest.raises(DomainError) as caught:
            add(session, **{**once, "first_day": day}, start=start, end=end)
        assert caught.value.message == (
            f"{field}: {missing} does not exist on 2026-03-29 in Europe/Paris "
            "(clocks go from 02:00 to 03:00)"
        )
        session.rollback()
    with pytest.raises(DomainError) as caught:  # a roster row: the same rule, by line
        roster.import_roster(
            session,
            "chatter,creator,day,start,end,zone\nalice,luna,2026-03-29,02:15,02:45,Europe/Paris\n",
            default_zone="UTC",
            start_day=NOW.date(),
            actor="t",
            now=NOW,
        )
    assert caught.value.details == [
        {
            "line": 2,
            "message": "start: 02:15 does not exist on 2026-03-29 in Europe/Paris "
            "(clocks go from 02:00 to 03:00)",
        }
    ]
    session.rollback()
    add(session, **once, start="03:00", end="03:30")  # the half hour that does exist
    # A weekly shift ending in the gap keeps its nights: that Saturday's ends at 03:30
    # CEST (01:30 UTC), 3.5 hours as on every Saturday.
    weekly = add(
        session, chatter="bob", weekdays="sat", start="23:00", end="02:30", first_day="2026-03-21"
    )
    starts_at, ends_at = place(rule_of(weekly), dt.date(2026, 3, 28))
    assert (starts_at, ends_at) == (
        dt.datetime(2026, 3, 28, 22, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),
    )
    assert (
        place(rule_of(weekly), dt.date(2026, 3, 21))[1]
        - place(rule_of(weekly), dt.date(2026, 3, 21))[0]
        == ends_at - starts_at
    )


def test_two_exceptions_for_one_day_at_once_say_which_day_is_taken(agency: Collector) -> None:
    """Found by review: on PostgreSQL the second of two cancellations of one day at the same
    moment met the unique key ("someone changed the same thing at the same moment"); it
    waits for the first now and is told what SQLite and a second request in a row say."""
    with agency.app.app_context():
        nights = add(db.session).id
        engine = db.engine
    first, second = Session(engine), Session(engine)
    outcome: list[object] = []
    cancel = {"day": "2026-03-05", "kind": "cancelled"}

    def cancel_second() -> None:
        try:
            begin_write(second)
            manage.add_exception(second, manage.find_shift(second, nights), cancel, "t", NOW)
            second.commit()
            outcome.append("stored")
        except DomainError as exc:
            second.rollback()
            outcome.append((exc.status, exc.message))

    try:
        begin_write(first)
        manage.add_exception(first, manage.find_shift(first, nights), cancel, "t", NOW)
        waiting = threading.Thread(target=cancel_second)
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive()  # held back by the first cancellation's transaction
        first.commit()
        waiting.join(timeout=30)
        assert outcome == [
            (409, "shift 1 is already cancelled on 2026-03-05: delete that exception first")
        ]
    finally:
        first.close()
        second.close()
