"""The demo agency's schedules: a weekly roster with overnight shifts, a coverage rule per
creator, a cancelled day and a swap of two days this week.

Added through ``collector.shifts`` like any roster, so the demo obeys the same rules (each
chatter works for the creator, no one works two shifts at once) and is audited.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.agency import credit
from collector.db import settings
from collector.db.schedule_models import Shift
from collector.shifts import coverage, manage

ACTOR = "demo"
# chatter, creator, weekdays, start, end: mornings, evenings and nights cover each creator.
ROSTER = [
    ("alex", "luna", "mon-fri", "08:00", "16:00"),
    ("eli", "luna", "mon-fri", "16:00", "00:00"),
    ("bea", "luna", "sat,sun", "10:00", "18:00"),
    ("chen", "nova", "mon-fri", "09:00", "17:00"),
    ("bea", "nova", "mon-fri", "17:00", "22:00"),
    ("fran", "nova", "mon-fri", "22:00", "06:00"),  # overnight
    ("dana", "mira", "mon-sat", "12:00", "20:00"),
    ("eli", "mira", "sat,sun", "20:00", "04:00"),  # overnight
]
# creator, weekdays, start, end, chatters required online
COVERAGE = [
    ("luna", "daily", "08:00", "00:00", 1),
    ("nova", "mon-fri", "09:00", "06:00", 1),
    ("mira", "daily", "12:00", "20:00", 1),
]


def seed_shifts(session: Session, now: dt.datetime, since: dt.datetime) -> None:
    """The roster from the agency's day of ``since``: where the demo's activity starts (it
    works the roster; a roster older than the activity would make every chatter's shifts
    before it no-shows)."""
    zone = str(settings.get_value(session, "agency_timezone"))
    local = zoneinfo.ZoneInfo(zone)
    today = now.astimezone(local).date()
    monday = today - dt.timedelta(days=today.weekday())
    first = since.astimezone(local).date()
    for chatter, creator, days, start, end in ROSTER:
        data = {
            "chatter": chatter,
            "creator": creator,
            "weekdays": days,
            "start": start,
            "end": end,
            "first_day": first.isoformat(),
        }
        fields = manage.shift_fields(session, data, default_zone=zone)
        credit.add_shift(session, fields, ACTOR, now)
    for creator, days, start, end, required in COVERAGE:
        data = {"creator": creator, "weekdays": days, "start": start, "end": end}
        values = coverage.rule_values(session, {**data, "required": required}, default_zone=zone)
        coverage.add_rule(session, values, ACTOR, now)
    by_start = {
        (s.chatter_id, s.creator_id, s.start_minute): s for s in session.scalars(select(Shift))
    }
    alex = _shift(session, by_start, "alex", "luna")
    chen = _shift(session, by_start, "chen", "nova")
    fran = _shift(session, by_start, "fran", "nova")
    wednesday, thursday = monday + dt.timedelta(days=2), monday + dt.timedelta(days=3)
    credit.add_exception(
        session, alex, {"day": wednesday, "kind": "cancelled", "note": "dentist"}, ACTOR, now
    )
    # Chen works Fran's Thursday night, Fran Chen's Thursday day.
    credit.add_exception(
        session,
        chen,
        {"day": thursday, "kind": "swapped", "with_shift": fran.id, "note": "swapped days"},
        ACTOR,
        now,
    )


def _shift(
    session: Session, shifts: dict[tuple[int, int, int], Shift], chatter: str, creator: str
) -> Shift:
    chatter_id = manage.chatter_named(session, chatter).id
    creator_id = manage.creator_named(session, creator).id
    return next(s for (c, cr, _), s in shifts.items() if c == chatter_id and cr == creator_id)
