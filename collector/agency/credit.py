"""Sales credit that follows the shifts (settings ppv_credit, tip_credit at ``shift``).

A sale made during a shift may be credited to the chatter holding it (METRICS.md
"Money"), so a shift that changes after its sales arrived changes their credit.  The
shifts layer cannot reach the sales facts (the import contract), so every shift change
goes through the functions here: they make the change (collector/shifts/manage.py,
roster.py) and re-credit, in the same transaction, the sales of that creator in the time
the old and the new occurrences can cover; facts, refunds, rollups and fan rows follow.
With both settings at their defaults nothing is re-credited (one settings read).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, select
from sqlalchemy.orm import Session

from collector.db import locks, retention
from collector.db.models import Event
from collector.db.schedule_models import Shift, ShiftException
from collector.db.settings import CreditRules, credit_rules
from collector.shifts import manage, roster
from collector.shifts.occurrences import ShiftRule, occurrences
from collector.shifts.queries import rule_of
from collector.stats import facts, fan_days, rollups

E = cast(Table, Event.__table__)
_CHUNK = 5_000
_TICK = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Span:
    """The sales of a creator from ``start`` (until ``until``; None: every later one) whose
    shift holders may have changed; with ``rules``, only those inside an occurrence of one
    of them (cancelled or not: a superset is safe)."""

    creator_id: int
    start: dt.datetime
    until: dt.datetime | None
    rules: tuple[ShiftRule, ...] = ()

    def covers(self, moment: dt.datetime) -> bool:
        return not self.rules or bool(occurrences(self.rules, (), moment, moment + _TICK))


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def shift_span(shift: Shift) -> Span:
    """Every moment an occurrence of ``shift`` can cover, with room for any zone (UTC
    offsets lie within a day) and an overnight end; open without a last day, but then
    only the sales inside one of its occurrences."""
    until = None if shift.last_day is None else _midnight(shift.last_day + dt.timedelta(days=3))
    start = _midnight(shift.first_day - dt.timedelta(days=1))
    return Span(shift.creator_id, start, until, (rule_of(shift),))


def day_span(shift: Shift, day: dt.date) -> Span:
    """Every moment the occurrence of ``shift`` starting on local ``day`` can cover."""
    return Span(
        shift.creator_id,
        _midnight(day - dt.timedelta(days=1)),
        _midnight(day + dt.timedelta(days=3)),
    )


def recredit(
    connection: Connection, spans: Iterable[Span], rules: CreditRules | None = None
) -> int:
    """Re-credit the sales credited by shift in these spans; how many changed credit."""
    # The lock before the rules: a change of ppv_credit or tip_credit holds it while it
    # re-credits, so this shift change reads the rules it committed, or it reads this
    # shift (PostgreSQL; SQLite's one writer already orders them).
    locks.serialise(connection, locks.EVENTS)
    rules = credit_rules(connection) if rules is None else rules
    return _recredit(connection, list(spans), rules, rules)


def recredit_all(connection: Connection, kinds: CreditRules) -> int:
    """After a change of ppv_credit or tip_credit (``kinds``: the one that changed, moved
    to ``shift`` or off it): the sales of that kind any shift can cover."""
    # The lock before the shifts: a shift change racing this one either committed first
    # (its shift is listed here) or waits and then reads the new rule (``recredit``).
    locks.serialise(connection, locks.EVENTS)
    with Session(bind=connection) as session:
        spans = [shift_span(s) for s in session.scalars(select(Shift).order_by(Shift.id))]
    return _recredit(connection, spans, credit_rules(connection), kinds)


def _recredit(
    connection: Connection, spans: list[Span], rules: CreditRules, kinds: CreditRules
) -> int:
    """Re-credit the sales of ``kinds`` in the spans, with ``rules`` in force."""
    if not kinds.by_shift or not spans:
        return 0
    # The lock first: an ingest holding it may be about to update these very rows.
    locks.serialise(connection, locks.EVENTS)
    closed = retention.watermarks(connection).events
    ids: set[str] = set()
    for span in spans:
        start = span.start if closed is None else max(span.start, closed)
        query = select(E.c.event_id, E.c.occurred_at).where(
            E.c.creator_id == span.creator_id,
            E.c.type.in_(kinds.shift_types()),
            E.c.occurred_at >= start,
        )
        if span.until is not None:
            query = query.where(E.c.occurred_at < span.until)
        ids.update(event_id for event_id, at in connection.execute(query) if span.covers(at))
    changed = 0
    ordered = sorted(ids)
    for i in range(0, len(ordered), _CHUNK):
        touched = facts.derive(connection, ordered[i : i + _CHUNK], rules, fresh=False)
        rollups.refresh_sales(connection, ((r.creator_id, r.occurred_at) for r in touched))
        fan_days.refresh(connection, touched)
        changed += sum(1 for r in touched if r.type in ("ppv_purchase", "tip"))
    return changed


# Shift changes: the one way the api, the pages, the command line and the demo make them.


def _after(session: Session, spans: list[Span]) -> None:
    session.flush()
    recredit(session.connection(), spans)


def add_shift(
    session: Session, fields: manage.ShiftFields, actor: str, now: dt.datetime, **options: Any
) -> Shift:
    shift = manage.add_shift(session, fields, actor, now, **options)
    _after(session, [shift_span(shift)])
    return shift


def edit_shift(
    session: Session,
    shift: Shift,
    fields: manage.ShiftFields,
    actor: str,
    now: dt.datetime,
    scope: manage.Scope = None,
) -> dict[str, Any]:
    before = shift_span(shift)
    changes = manage.edit_shift(session, shift, fields, actor, now, scope)
    if changes:
        _after(session, [before, shift_span(shift)])
    return changes


def remove_shift(session: Session, shift: Shift, actor: str, now: dt.datetime) -> None:
    before = shift_span(shift)
    manage.remove_shift(session, shift, actor, now)
    _after(session, [before])


def add_exception(
    session: Session,
    shift: Shift,
    data: Mapping[str, Any],
    actor: str,
    now: dt.datetime,
    scope: manage.Scope = None,
) -> list[ShiftException]:
    rows = manage.add_exception(session, shift, data, actor, now, scope)
    _after(session, [day_span(session.get_one(Shift, r.shift_id), r.day) for r in rows])
    return rows


def remove_exception(
    session: Session,
    shift: Shift,
    day: dt.date,
    actor: str,
    now: dt.datetime,
    scope: manage.Scope = None,
) -> None:
    manage.remove_exception(session, shift, day, actor, now, scope)
    _after(session, [day_span(shift, day)])


def import_roster(session: Session, data: bytes | str, **options: Any) -> roster.Imported:
    done = roster.import_roster(session, data, **options)
    _after(session, [shift_span(s) for s in done.added])
    return done
