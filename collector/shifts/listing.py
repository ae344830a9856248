"""Shifts and occurrences as the API, the pages and the command line show them."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collector.db.models import Chatter, Creator, chatter_creators
from collector.db.schedule_models import Shift, ShiftException
from collector.shifts.fields import hhmm, weekdays_text
from collector.shifts.manage import Scope, exceptions_of
from collector.shifts.occurrences import CANCELLED, Change, Occurrence, occurrences
from collector.shifts.queries import rule_of

# The longest range of occurrences one request may ask for.
MAX_RANGE_DAYS = 62


def keys(session: Session) -> tuple[dict[int, str], dict[int, str]]:
    """Chatter and creator keys by id (small tables: read whole)."""
    chatters = dict(session.execute(select(Chatter.id, Chatter.key)).all())
    creators = dict(session.execute(select(Creator.id, Creator.key)).all())
    return chatters, creators


def chatters_of(session: Session, scope: Scope) -> frozenset[int] | None:
    """The chatters assigned to one of the ``scope``'s creators (None: every chatter)."""
    if scope is None:
        return None
    query = select(chatter_creators.c.chatter_id).where(
        chatter_creators.c.creator_id.in_(list(scope))
    )
    return frozenset(session.scalars(query))


def shown(chatter_id: int, chatters: dict[int, str], visible: Collection[int] | None) -> str | None:
    """The key of a chatter as a caller who may see ``visible`` named reads it (None:
    every one): any other chatter reads as null, so a chatter never learns whose day was
    swapped to them and a team lead never a chatter outside their creators
    (``chatters_of``).  The one rule of every schedule view: API, pages, command line."""
    if visible is not None and chatter_id not in visible:
        return None
    return chatters.get(chatter_id)


def describe(
    shift: Shift,
    names: tuple[dict[int, str], dict[int, str]],
    exceptions: list[ShiftException] | None = None,
    visible: Collection[int] | None = None,
) -> dict[str, Any]:
    """A shift with its exceptions; a swapped day's chatter outside ``visible`` (``shown``)
    reads as null."""
    chatters, creators = names
    body: dict[str, Any] = {
        "id": shift.id,
        "chatter": chatters.get(shift.chatter_id),
        "creator": creators.get(shift.creator_id),
        "kind": "weekly" if shift.weekdays else "once",
        "weekdays": weekdays_text(shift.weekdays) or None,
        "start": hhmm(shift.start_minute),
        "end": hhmm(shift.end_minute),
        "overnight": shift.end_minute <= shift.start_minute,
        "zone": shift.zone,
        "first_day": shift.first_day.isoformat(),
        "last_day": None if shift.last_day is None else shift.last_day.isoformat(),
        "note": shift.note,
    }
    if exceptions is not None:
        body["exceptions"] = [
            {
                "day": e.day.isoformat(),
                "kind": e.kind,
                "chatter": shown(e.replacement_chatter_id, chatters, visible)
                if e.replacement_chatter_id
                else None,
                "note": e.note,
            }
            for e in exceptions
        ]
    return body


def shifts(
    session: Session,
    scope: Scope = None,
    *,
    creator_id: int | None = None,
    chatter_id: int | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[int, list[Shift]]:
    """(how many match, one page of them) by creator, chatter, first day."""
    query = select(Shift)
    if scope is not None:
        query = query.where(Shift.creator_id.in_(list(scope)))
    if creator_id is not None:
        query = query.where(Shift.creator_id == creator_id)
    if chatter_id is not None:
        query = query.where(Shift.chatter_id == chatter_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(Shift.creator_id, Shift.chatter_id, Shift.first_day, Shift.id)
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return total, list(session.scalars(query))


def described(session: Session, found: list[Shift], scope: Scope = None) -> list[dict[str, Any]]:
    """The shifts as ``describe`` shows them to a caller limited to the creators ``scope``
    (a team lead: a swapped day's chatter outside their creators reads as null)."""
    names = keys(session)
    exceptions = exceptions_of(session, [s.id for s in found])
    visible = chatters_of(session, scope)
    return [describe(s, names, exceptions[s.id], visible) for s in found]


@dataclass(frozen=True)
class Planned:
    """An occurrence as planned: worked (by its chatter or, swapped, another) or cancelled."""

    occurrence: Occurrence
    state: str  # scheduled | swapped | cancelled
    planned_chatter_id: int  # the shift's own chatter
    note: str


def planned(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    scope: Scope = None,
    *,
    creator_id: int | None = None,
    chatter_id: int | None = None,
    with_cancelled: bool = True,
) -> list[Planned]:
    """Occurrences overlapping [start, end), cancelled ones too when asked; a chatter's
    are those they work (their own and the days swapped to them)."""
    query = select(Shift).where(
        Shift.first_day <= (end + dt.timedelta(days=1)).date(),
        (Shift.last_day.is_(None)) | (Shift.last_day >= (start - dt.timedelta(days=2)).date()),
    )
    if scope is not None:
        query = query.where(Shift.creator_id.in_(list(scope)))
    if creator_id is not None:
        query = query.where(Shift.creator_id == creator_id)
    stored = {s.id: s for s in session.scalars(query)}
    if not stored:
        return []
    rows = session.scalars(
        select(ShiftException).where(
            ShiftException.shift_id.in_(list(stored)),
            ShiftException.day >= (start - dt.timedelta(days=2)).date(),
            ShiftException.day <= (end + dt.timedelta(days=1)).date(),
        )
    ).all()
    by_key = {(e.shift_id, e.day): e for e in rows}
    # Cancelled days left in: they are marked below instead of dropped.
    changes = [
        Change(e.shift_id, e.day, e.kind, e.replacement_chatter_id)
        for e in rows
        if e.kind != CANCELLED
    ]
    found = []
    for o in occurrences([rule_of(s) for s in stored.values()], changes, start, end):
        exception = by_key.get((o.shift_id, o.day))
        state = "swapped" if o.swapped else "scheduled"
        if exception is not None and exception.kind == CANCELLED:
            if not with_cancelled:
                continue
            state = "cancelled"
        if chatter_id is not None and o.chatter_id != chatter_id:
            continue
        found.append(
            Planned(
                o,
                state,
                stored[o.shift_id].chatter_id,
                exception.note if exception is not None else stored[o.shift_id].note,
            )
        )
    return found


def occurrence_row(
    item: Planned,
    names: tuple[dict[int, str], dict[int, str]],
    tz: zoneinfo.ZoneInfo,
    visible: Collection[int] | None = None,
) -> dict[str, Any]:
    """``visible``: the chatters the caller may see named (None: every one); any other
    chatter reads as null (``shown``), and so does the note of a shift planned for one
    (the note of a day handed over may give the reason: "alex sick")."""
    chatters, creators = names

    def named(chatter_id: int) -> str | None:
        return shown(chatter_id, chatters, visible)

    o = item.occurrence
    return {
        "shift_id": o.shift_id,
        "day": o.day.isoformat(),
        "state": item.state,
        "chatter": named(o.chatter_id),
        "planned_chatter": named(item.planned_chatter_id),
        "creator": creators.get(o.creator_id),
        "zone": o.zone,
        "starts_at": _utc(o.starts_at),
        "ends_at": _utc(o.ends_at),
        "local_start": o.starts_at.astimezone(tz).isoformat(),
        "local_end": o.ends_at.astimezone(tz).isoformat(),
        "seconds": o.seconds,
        "note": item.note if visible is None or item.planned_chatter_id in visible else None,
    }


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
