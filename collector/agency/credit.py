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
from typing import Any, cast

from sqlalchemy import Connection, Table, select
from sqlalchemy.orm import Session

from collector.db import locks, retention
from collector.db.models import Event
from collector.db.schedule_models import Shift, ShiftException
from collector.db.settings import CreditRules, credit_rules
from collector.shifts import manage, roster
from collector.stats import facts, fan_days, rollups

E = cast(Table, Event.__table__)
# (creator_id, from, until): until None reaches every later sale.
Span = tuple[int, dt.datetime, dt.datetime | None]
_CHUNK = 5_000


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def shift_span(shift: Shift) -> Span:
    """Every moment an occurrence of ``shift`` can cover, with room for any zone (UTC
    offsets lie within a day) and an overnight end; open without a last day."""
    until = None if shift.last_day is None else _midnight(shift.last_day + dt.timedelta(days=3))
    return shift.creator_id, _midnight(shift.first_day - dt.timedelta(days=1)), until


def day_span(shift: Shift, day: dt.date) -> Span:
    """Every moment the occurrence of ``shift`` starting on local ``day`` can cover."""
    return (
        shift.creator_id,
        _midnight(day - dt.timedelta(days=1)),
        _midnight(day + dt.timedelta(days=3)),
    )


def recredit(
    connection: Connection, spans: Iterable[Span], rules: CreditRules | None = None
) -> int:
    """Re-credit the sales credited by shift in these spans; how many changed credit."""
    rules = credit_rules(connection) if rules is None else rules
    return _recredit_types(connection, list(spans), rules, rules)


def recredit_all(connection: Connection, rules: CreditRules | None = None) -> int:
    """After a change of ppv_credit or tip_credit: every sale that a shift can cover."""
    firsts = connection.execute(
        select(Shift.creator_id, Shift.first_day).order_by(Shift.creator_id, Shift.first_day)
    ).all()
    earliest: dict[int, dt.date] = {}
    for creator_id, first_day in firsts:
        earliest.setdefault(creator_id, first_day)
    # Both kinds: a kind just moved off ``shift`` must lose its shift credits too.
    everything = CreditRules(ppv_by_shift=True, tip_by_shift=True)
    rules = credit_rules(connection) if rules is None else rules
    spans: list[Span] = [
        (c, _midnight(d - dt.timedelta(days=1)), None) for c, d in earliest.items()
    ]
    return _recredit_types(connection, spans, rules, everything)


def _recredit_types(
    connection: Connection, spans: list[Span], rules: CreditRules, kinds: CreditRules
) -> int:
    """Re-credit the sales of ``kinds`` in the spans, with ``rules`` in force."""
    # The lock first: an ingest holding it may be about to update these very rows.
    if not kinds.by_shift or not spans:
        return 0
    locks.serialise(connection, locks.EVENTS)
    closed = retention.watermarks(connection).events
    ids: set[str] = set()
    for creator_id, start, until in spans:
        if closed is not None and start < closed:
            start = closed
        query = select(E.c.event_id).where(
            E.c.creator_id == creator_id,
            E.c.type.in_(kinds.shift_types()),
            E.c.occurred_at >= start,
        )
        if until is not None:
            query = query.where(E.c.occurred_at < until)
        ids.update(connection.execute(query).scalars())
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
