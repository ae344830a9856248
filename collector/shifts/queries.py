"""Loading shift rules and exceptions from the database, and their occurrences."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.db.schedule_models import Shift, ShiftException
from collector.shifts.occurrences import Change, Occurrence, ShiftRule, occurrences


def rule_of(shift: Shift) -> ShiftRule:
    return ShiftRule(
        id=shift.id,
        chatter_id=shift.chatter_id,
        creator_id=shift.creator_id,
        zone=shift.zone,
        weekdays=shift.weekdays,
        start_minute=shift.start_minute,
        end_minute=shift.end_minute,
        first_day=shift.first_day,
        last_day=shift.last_day,
    )


def load_occurrences(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    *,
    creator_ids: Collection[int] | None = None,
) -> list[Occurrence]:
    """Occurrences overlapping [start, end), optionally of some creators only.

    Filtering by chatter is the caller's, on ``Occurrence.chatter_id``: a swap moves an
    occurrence to a chatter whose own shifts do not hold it.
    """
    # A day's margin: an occurrence starting the local day before ``start`` may reach it.
    query = select(Shift).where(
        Shift.first_day <= (end + dt.timedelta(days=1)).date(),
        (Shift.last_day.is_(None)) | (Shift.last_day >= (start - dt.timedelta(days=2)).date()),
    )
    if creator_ids is not None:
        query = query.where(Shift.creator_id.in_(list(creator_ids)))
    rules = [rule_of(s) for s in session.scalars(query)]
    if not rules:
        return []
    changes = [
        Change(e.shift_id, e.day, e.kind, e.replacement_chatter_id)
        for e in session.scalars(
            select(ShiftException).where(
                ShiftException.shift_id.in_([r.id for r in rules]),
                ShiftException.day >= (start - dt.timedelta(days=2)).date(),
                ShiftException.day <= (end + dt.timedelta(days=1)).date(),
            )
        )
    ]
    return occurrences(rules, changes, start, end)
