"""Adding, editing and deleting shifts and their exceptions, with the rules they obey.

Shared by the API, the admin pages, the command line and the roster import.  Nothing
here commits; every change writes its audit entry (``collector.db.audit.record``) in the
caller's transaction, so it is stored with the change or not at all.

The rules:

- the chatter and the creator exist and are active, and the chatter works for the
  creator (Admin → People); an edit that keeps them re-checks neither, so an old shift of
  a chatter who left can still be ended;
- a shift has a length: start and end differ (an end at or before the start ends the next
  local day: 22:00-06:00 is overnight);
- a shift that runs on one day only (one-off, or weekly between close first and last
  days) names times that exist that day: 02:30 on the night clocks jump from 02:00 to
  03:00 is refused, naming the jump.  A weekly shift's own gap night follows the placing
  rule instead (``collector.shifts.occurrences``: 02:30 moves forward to 03:30);
- weekly shifts name weekdays and run at least once between their first and last day;
  a one-off shift has no weekdays and runs on its first day only;
- a chatter never has two occurrences at once (``collector.shifts.clashes``);
- a team lead (a manager limited to some creators) sees and changes only their
  creators' shifts: another creator's reads like one that does not exist (404 "no
  shift N", so a lead learns no other creator's shift ids), and naming another creator
  in a shift is 403 ("creator 'nova' is not one of yours").

Deleting a shift deletes its exceptions and its past occurrences with it (attendance is
computed from schedules): to end a weekly shift and keep its history, set its last day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from collector.db import audit, locks
from collector.db.models import Chatter, Creator, chatter_creators
from collector.db.schedule_models import Shift, ShiftException
from collector.errors import DomainError
from collector.shifts import clashes
from collector.shifts.fields import (
    day_of,
    hhmm,
    invalid,
    key_of,
    minute_of,
    note_of,
    shift_number,
    weekdays_label,
    weekdays_of,
    weekdays_text,
    zone_of,
)
from collector.shifts.occurrences import CANCELLED, SWAPPED, Change, ShiftRule, gap, place, runs_on
from collector.shifts.queries import rule_of

# A team lead's creator ids; None: every creator.
Scope = Collection[int] | None
# The tables' INTEGER keys: a larger number names nothing (and PostgreSQL would refuse it).
MAX_ID = 2**31 - 1
SHIFT_FIELDS = (
    "chatter",
    "creator",
    "zone",
    "weekdays",
    "start",
    "end",
    "first_day",
    "last_day",
    "note",
)


def in_scope(scope: Scope, creator_id: int, what: str) -> None:
    """Refuse (403) a creator outside a team lead's: ``what`` names it ("creator 'luna'")."""
    if scope is not None and creator_id not in scope:
        raise DomainError(f"{what} is not one of yours", 403)


def creator_named(session: Session, value: Any, field: str = "creator") -> Creator:
    key = key_of(value, field)
    creator = session.scalar(select(Creator).where(Creator.key == key))
    if creator is None:
        raise invalid(field, f"no creator {key!r}")
    return creator


def chatter_named(session: Session, value: Any, field: str = "chatter") -> Chatter:
    key = key_of(value, field)
    chatter = session.scalar(select(Chatter).where(Chatter.key == key))
    if chatter is None:
        raise invalid(field, f"no chatter {key!r}")
    return chatter


def works_for(session: Session, chatter: Chatter, creator: Creator, field: str = "chatter") -> None:
    """Active both, and the chatter assigned to the creator.  The messages name them as the
    pages do (the field already says which is which: "chatter: Alex is deactivated")."""
    if not chatter.active:
        raise invalid(field, f"{chatter.name} is deactivated")
    if not creator.active:
        raise invalid("creator", f"{creator.name} is deactivated")
    assigned = session.scalar(
        select(func.count()).where(
            chatter_creators.c.chatter_id == chatter.id,
            chatter_creators.c.creator_id == creator.id,
        )
    )
    if not assigned:
        raise invalid(
            field,
            f"{chatter.name} does not work for {creator.name}: "
            "assign them to the creator first (Admin → People)",
        )


@dataclass(frozen=True)
class ShiftFields:
    """A shift's values, checked."""

    chatter: Chatter
    creator: Creator
    zone: str
    weekdays: int  # 0: once
    start_minute: int
    end_minute: int
    first_day: dt.date
    last_day: dt.date | None
    note: str

    def rule(self, shift_id: int) -> ShiftRule:
        return ShiftRule(
            shift_id,
            self.chatter.id,
            self.creator.id,
            self.zone,
            self.weekdays,
            self.start_minute,
            self.end_minute,
            self.first_day,
            self.last_day,
        )


def _unknown(data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(str(k) for k in data if k not in allowed)
    if extra:
        raise DomainError(
            f"unknown field(s) {', '.join(repr(e[:40]) for e in extra[:5])}; "
            f"send {', '.join(allowed)}",
            422,
            code="invalid_field",
            details=[{"field": e[:40], "message": "unknown field"} for e in extra[:5]],
        )


def shift_fields(
    session: Session,
    data: Mapping[str, Any],
    *,
    default_zone: str,
    scope: Scope = None,
    base: Shift | None = None,
) -> ShiftFields:
    """Check a new shift (``base`` None: chatter, creator, start, end, first_day required)
    or the fields an edit sends over ``base``.  ``weekdays`` empty or null: once."""
    _unknown(data, SHIFT_FIELDS)

    def given(name: str) -> bool:
        return name in data

    if base is None:
        missing = [n for n in ("chatter", "creator", "start", "end", "first_day") if not given(n)]
        if missing:
            raise DomainError(
                f"missing field(s): {', '.join(missing)}",
                422,
                code="invalid_field",
                details=[{"field": n, "message": "is required"} for n in missing],
            )
    chatter = (
        chatter_named(session, data["chatter"])
        if given("chatter")
        else session.get_one(Chatter, base.chatter_id)  # type: ignore[union-attr]
    )
    creator = (
        creator_named(session, data["creator"])
        if given("creator")
        else session.get_one(Creator, base.creator_id)  # type: ignore[union-attr]
    )
    in_scope(scope, creator.id, f"creator {creator.key!r}")
    if base is None or chatter.id != base.chatter_id or creator.id != base.creator_id:
        works_for(session, chatter, creator)
    zone = zone_of(data["zone"]) if given("zone") and data["zone"] not in (None, "") else None
    raw_days = data.get("weekdays") if given("weekdays") else None
    if given("weekdays"):
        weekdays = 0 if raw_days in (None, "") else weekdays_of(raw_days)
    else:
        weekdays = base.weekdays if base is not None else 0
    start = minute_of(data["start"], "start") if given("start") else base.start_minute  # type: ignore[union-attr]
    end = minute_of(data["end"], "end", end=True) if given("end") else base.end_minute  # type: ignore[union-attr]
    first = day_of(data["first_day"], "first_day") if given("first_day") else base.first_day  # type: ignore[union-attr]
    if given("last_day"):
        last = None if data["last_day"] in (None, "") else day_of(data["last_day"], "last_day")
    else:
        last = base.last_day if base is not None else None
    note = note_of(data["note"]) if given("note") else (base.note if base is not None else "")
    fields = ShiftFields(
        chatter=chatter,
        creator=creator,
        zone=zone or (base.zone if base is not None else default_zone),
        weekdays=weekdays,
        start_minute=start,
        end_minute=end,
        first_day=first,
        last_day=last,
        note=note,
    )
    return _coherent(fields)


def _coherent(fields: ShiftFields) -> ShiftFields:
    if fields.start_minute == fields.end_minute:
        raise invalid(
            "end",
            f"the shift starts and ends at {hhmm(fields.start_minute)}: a shift needs a length "
            "(an end before the start ends the next day, e.g. 22:00-06:00)",
        )
    if fields.weekdays == 0:
        if fields.last_day is not None and fields.last_day != fields.first_day:
            raise invalid("last_day", "a one-off shift runs on its first day only: leave it empty")
        _exists(fields.rule(0), fields.first_day)
        return replace(fields, last_day=None)
    if fields.last_day is not None:
        if fields.last_day < fields.first_day:
            raise invalid(
                "last_day", f"{fields.last_day} is before the first day {fields.first_day}"
            )
        rule = fields.rule(0)
        span = min((fields.last_day - fields.first_day).days, 6)
        days = (fields.first_day + dt.timedelta(days=n) for n in range(span + 1))
        if not any(runs_on(rule, day) for day in days):
            raise invalid(
                "weekdays",
                f"none of {weekdays_label(fields.weekdays)} falls between {fields.first_day} "
                f"and {fields.last_day}",
            )
        if span < 6:
            running = [d for d in days_of(fields) if runs_on(rule, d)]
            if len(running) == 1:
                _exists(rule, running[0])
            if not any(_length(rule, d) > 0 for d in running):
                _has_length(rule, running[0])
    return fields


def days_of(fields: ShiftFields) -> list[dt.date]:
    last = fields.last_day or fields.first_day
    return [
        fields.first_day + dt.timedelta(days=n) for n in range((last - fields.first_day).days + 1)
    ]


def _length(rule: ShiftRule, day: dt.date) -> float:
    starts_at, ends_at = place(rule, day)
    return (ends_at - starts_at).total_seconds()


def _exists(rule: ShiftRule, day: dt.date) -> None:
    """The start and end of the occurrence on ``day`` are times that exist: the only
    night of a one-off shift is no place for the gap rule (02:30 -> 03:30) to move it."""
    end_day = day if rule.end_minute > rule.start_minute else day + dt.timedelta(days=1)
    for name, on, minute in (("start", day, rule.start_minute), ("end", end_day, rule.end_minute)):
        jump = gap(on, minute, rule.zone)
        if jump is not None:
            raise invalid(
                name,
                f"{hhmm(minute)} does not exist on {on} in {rule.zone} (clocks go from "
                f"{jump[0]:%H:%M} to {jump[1]:%H:%M})",
            )
    _has_length(rule, day)


def _has_length(rule: ShiftRule, day: dt.date) -> None:
    """Found by review: 02:00-03:00 on the night clocks jump forward has no length at all
    (both ends fall in the gap, moved to 03:00), so it would never appear; refuse it."""
    if _length(rule, day) <= 0:
        raise invalid(
            "start",
            f"on {day} the clocks change in {rule.zone}: {hhmm(rule.start_minute)}-"
            f"{hhmm(rule.end_minute)} has no length that night; choose times outside the change",
        )


def find_shift(session: Session, shift_id: int, scope: Scope = None) -> Shift:
    """The shift; 404 when there is none, or when it is another creator's than a team
    lead's (``scope``): the same answer, so ids outside their creators tell nothing."""
    shift = session.get(Shift, shift_id) if 0 < shift_id <= MAX_ID else None
    if shift is None or (scope is not None and shift.creator_id not in scope):
        raise DomainError(f"no shift {shift_id}", 404)
    return shift


def shift_values(fields: ShiftFields) -> dict[str, Any]:
    return {
        "chatter_id": fields.chatter.id,
        "creator_id": fields.creator.id,
        "zone": fields.zone,
        "weekdays": fields.weekdays,
        "start_minute": fields.start_minute,
        "end_minute": fields.end_minute,
        "first_day": fields.first_day,
        "last_day": fields.last_day,
        "note": fields.note,
    }


def shown_values(fields: ShiftFields) -> dict[str, Any]:
    """A shift's values as the audit trail keeps them."""
    return {
        "chatter": fields.chatter.key,
        "creator": fields.creator.key,
        "zone": fields.zone,
        "weekdays": weekdays_text(fields.weekdays) or "once",
        "start": hhmm(fields.start_minute),
        "end": hhmm(fields.end_minute),
        "first_day": fields.first_day.isoformat(),
        "last_day": None if fields.last_day is None else fields.last_day.isoformat(),
        "note": fields.note,
    }


def add_shift(
    session: Session,
    fields: ShiftFields,
    actor: str,
    now: dt.datetime,
    *,
    audited: bool = True,
    scope: Scope = None,
) -> Shift:
    clashes.check(session, [fields.chatter.id], [fields.rule(0)], scope=scope)
    shift = Shift(**shift_values(fields), created_at=now, updated_at=now)
    session.add(shift)
    session.flush()
    if audited:
        audit.record(session, actor, "add_shift", f"shift {shift.id}", now, **shown_values(fields))
    return shift


def fields_of(session: Session, shift: Shift) -> ShiftFields:
    return ShiftFields(
        chatter=session.get_one(Chatter, shift.chatter_id),
        creator=session.get_one(Creator, shift.creator_id),
        zone=shift.zone,
        weekdays=shift.weekdays,
        start_minute=shift.start_minute,
        end_minute=shift.end_minute,
        first_day=shift.first_day,
        last_day=shift.last_day,
        note=shift.note,
    )


def edit_shift(
    session: Session,
    shift: Shift,
    fields: ShiftFields,
    actor: str,
    now: dt.datetime,
    scope: Scope = None,
) -> dict[str, Any]:
    """Apply an edit; the changes made ({field: [before, after]}, empty: nothing changed)."""
    before = shown_values(fields_of(session, shift))
    after = shown_values(fields)
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if not changes:
        return {}
    exceptions = session.scalars(
        select(ShiftException).where(ShiftException.shift_id == shift.id)
    ).all()
    if any(e.replacement_chatter_id == fields.chatter.id for e in exceptions):
        raise invalid(
            "chatter",
            f"chatter {fields.chatter.key!r} already works a swapped day of this shift: "
            "delete that exception first",
            409,
        )
    # The shift's chatter, and whoever works its swapped days, must stay free of overlaps.
    people = [fields.chatter.id, *(e.replacement_chatter_id for e in exceptions)]
    clashes.check(
        session, [p for p in people if p is not None], [fields.rule(shift.id)], scope=scope
    )
    for name, value in shift_values(fields).items():
        setattr(shift, name, value)
    shift.updated_at = now
    session.flush()
    audit.record(session, actor, "edit_shift", f"shift {shift.id}", now, **changes)
    return changes


def remove_shift(session: Session, shift: Shift, actor: str, now: dt.datetime) -> None:
    shown = shown_values(fields_of(session, shift))
    # Explicitly, not only by the foreign key's cascade: the same on every database.
    session.execute(delete(ShiftException).where(ShiftException.shift_id == shift.id))
    session.delete(shift)
    session.flush()
    audit.record(session, actor, "remove_shift", f"shift {shift.id}", now, **shown)


# Exceptions -----------------------------------------------------------------------------

KINDS = (CANCELLED, SWAPPED)


def _runs(shift: Shift, day: dt.date, field: str = "day") -> None:
    if not runs_on(rule_of(shift), day):
        raise invalid(field, f"shift {shift.id} does not run on {day} (a {day.strftime('%A')})")


def _free_day(session: Session, shift: Shift, day: dt.date) -> None:
    taken = session.scalar(
        select(ShiftException.kind).where(
            ShiftException.shift_id == shift.id, ShiftException.day == day
        )
    )
    if taken is not None:
        raise DomainError(
            f"shift {shift.id} is already {taken} on {day}: delete that exception first", 409
        )


def _hold_days(session: Session, shift_id: int, with_shift: Any) -> None:
    """Lock the days of the shift (and of the one it is swapped with) until the
    transaction ends: of two exceptions for one day at once, the second waits and is told
    the day is taken, as it is when they come one after the other (without the lock both
    saw the day free on PostgreSQL and the second met the unique key: a bare "conflict").
    In id order, so two swaps of the same pair cannot wait for each other."""
    ids = {shift_id}
    if isinstance(with_shift, int | str):
        try:
            ids.add(shift_number(with_shift, "with_shift"))
        except DomainError:
            pass  # said when with_shift is read
    connection = session.connection()
    for held in sorted(i for i in ids if 0 < i <= MAX_ID):
        locks.serialise(connection, locks.SHIFT_DAYS, held)


def add_exception(
    session: Session,
    shift: Shift,
    data: Mapping[str, Any],
    actor: str,
    now: dt.datetime,
    scope: Scope = None,
) -> list[ShiftException]:
    """Cancel the occurrence starting on local ``day`` or hand it to another chatter.

    A swap between two chatters is two exceptions: give ``with_shift`` (the other
    chatter's shift, and ``with_day`` when their day differs) and each works the other's
    occurrence; both are stored or neither."""
    _unknown(data, ("day", "kind", "chatter", "note", "with_shift", "with_day"))
    if "day" not in data:
        raise invalid("day", "is required")
    day = day_of(data["day"], "day")
    kind = data.get("kind", CANCELLED)
    if kind not in KINDS:
        raise invalid("kind", "must be 'cancelled' or 'swapped'")
    note = note_of(data.get("note"))
    _runs(shift, day)
    _hold_days(session, shift.id, data.get("with_shift"))
    _free_day(session, shift, day)
    if kind == CANCELLED:
        if any(data.get(k) not in (None, "") for k in ("chatter", "with_shift", "with_day")):
            raise invalid("kind", "a cancelled day has no chatter or other shift")
        row = ShiftException(shift_id=shift.id, day=day, kind=CANCELLED, note=note, created_at=now)
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor,
            "cancel_shift_day",
            f"shift {shift.id}",
            now,
            day=day.isoformat(),
            note=note,
        )
        return [row]
    chatter = session.get_one(Chatter, shift.chatter_id)
    creator = session.get_one(Creator, shift.creator_id)
    other_shift: Shift | None = None
    if data.get("with_shift") not in (None, ""):
        other_id = shift_number(data["with_shift"], "with_shift")
        try:
            other_shift = find_shift(session, other_id, scope)
        except DomainError as exc:
            raise invalid("with_shift", exc.message) from None
        if other_shift.id == shift.id:
            raise invalid("with_shift", "a shift cannot be swapped with itself")
        replacement = session.get_one(Chatter, other_shift.chatter_id)
        if data.get("chatter") not in (None, "", replacement.key):
            raise invalid(
                "chatter",
                f"a swap with shift {other_shift.id} hands the day to its chatter "
                f"{replacement.key!r}",
            )
    else:
        if data.get("with_day") not in (None, ""):
            raise invalid("with_day", "only with with_shift")
        if data.get("chatter") in (None, ""):
            raise invalid("chatter", "a swapped day needs the chatter who works it")
        replacement = chatter_named(session, data["chatter"])
    if replacement.id == chatter.id:
        raise invalid("chatter", f"{replacement.key!r} already works this shift")
    works_for(session, replacement, creator)
    rows = [
        ShiftException(
            shift_id=shift.id,
            day=day,
            kind=SWAPPED,
            replacement_chatter_id=replacement.id,
            note=note,
            created_at=now,
        )
    ]
    if other_shift is not None:
        other_day = day_of(data["with_day"], "with_day") if data.get("with_day") else day
        _runs(other_shift, other_day, "with_day")
        _free_day(session, other_shift, other_day)
        works_for(session, chatter, session.get_one(Creator, other_shift.creator_id))
        rows.append(
            ShiftException(
                shift_id=other_shift.id,
                day=other_day,
                kind=SWAPPED,
                replacement_chatter_id=chatter.id,
                note=note,
                created_at=now,
            )
        )
    changes = [Change(r.shift_id, r.day, SWAPPED, r.replacement_chatter_id) for r in rows]
    clashes.check(session, [chatter.id, replacement.id], new_changes=changes, scope=scope)
    session.add_all(rows)
    session.flush()
    for row in rows:
        audit.record(
            session,
            actor,
            "swap_shift_day",
            f"shift {row.shift_id}",
            now,
            day=row.day.isoformat(),
            chatter=chatter.key if row.replacement_chatter_id == chatter.id else replacement.key,
            note=note,
        )
    return rows


def remove_exception(
    session: Session,
    shift: Shift,
    day: dt.date,
    actor: str,
    now: dt.datetime,
    scope: Scope = None,
) -> None:
    """Restore the occurrence as planned (its own chatter works it again)."""
    row = session.scalar(
        select(ShiftException).where(ShiftException.shift_id == shift.id, ShiftException.day == day)
    )
    if row is None:
        raise DomainError(f"shift {shift.id} has no exception on {day}", 404)
    # Back to its own chatter: they must be free then (they may have taken another shift).
    clashes.check(session, [shift.chatter_id], removed_changes=[(shift.id, day)], scope=scope)
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor,
        "restore_shift_day",
        f"shift {shift.id}",
        now,
        day=day.isoformat(),
        was=row.kind,
    )


def exceptions_of(session: Session, shift_ids: Collection[int]) -> dict[int, list[ShiftException]]:
    found: dict[int, list[ShiftException]] = {i: [] for i in shift_ids}
    for row in session.scalars(
        select(ShiftException)
        .where(ShiftException.shift_id.in_(list(shift_ids)))
        .order_by(ShiftException.day)
    ):
        found[row.shift_id].append(row)
    return found
