"""What a payroll line stands on: for any line, the sales, refunds and slices under it; for
an adjustment, what changed after its period was paid (METRICS.md "Payroll").

A line of a period's own pay lists its sales and refunds one by one (a commission line)
or its time day by day with the slices' count (an hours line).  An adjustment lists only
what arrived or changed between two approvals: late events and slices (by when the
collector received them), sales reassigned, shifts and pay rules changed in that time.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from collector.db.models import AuditEntry, Event, SaleReassignment, Slice
from collector.db.payroll_models import LockedPeriod, PayRule
from collector.payroll.lines import Line
from collector.stats.periods import period as local_range

# A line's list stops here; the count says how many there are in all.
LIMIT = 500
# What the audit log calls a change of the schedule (collector/shifts/manage.py).
SHIFT_ACTIONS = (
    "add_shift",
    "edit_shift",
    "remove_shift",
    "cancel_shift_day",
    "swap_shift_day",
    "restore_shift_day",
)


def changed_between(
    session: Session, lock: LockedPeriod | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The time in which the adjustments of a period's pay arose: for a locked period, from
    the approval before it to its own; for the open one, since the last approval."""
    if lock is None:
        last = session.scalar(select(func.max(LockedPeriod.approved_at)))
        return last, None
    before = session.scalar(
        select(func.max(LockedPeriod.approved_at)).where(LockedPeriod.first_day < lock.first_day)
    )
    return before, lock.approved_at


def sources(
    session: Session,
    line: Line,
    tz: str,
    *,
    adjustment: bool,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    for_chatter: bool = False,
) -> dict[str, Any]:
    """The items under ``line``; for an adjustment only those received or changed in
    (``since``, ``until``].  ``for_chatter``: without who reassigned a sale and why (a
    manager's login and note are not the chatter's to read)."""
    window = local_range(line.part_first, line.part_last, tz)

    def fresh(column: Any) -> list[Any]:
        if not adjustment:
            return []
        found = []
        if since is not None:
            found.append(column > since)
        if until is not None:
            found.append(column <= until)
        return found

    out: dict[str, Any] = {}
    if line.kind == "commission" or adjustment:
        sales = (
            select(Event.event_id, Event.type, Event.occurred_at, Event.amount_minor,
                   Event.received_at)
            .where(
                Event.credit_chatter_id == line.chatter_id,
                Event.type.in_(("ppv_purchase", "tip", "refund")),
                Event.occurred_at >= window.start,
                Event.occurred_at < window.end,
                *fresh(Event.received_at),
            )
            .order_by(Event.occurred_at, Event.event_id)
        )  # fmt: skip
        rows = session.execute(sales.limit(LIMIT)).all()
        out["sales"] = [
            {
                "event_id": r.event_id,
                "type": r.type,
                "occurred_at": _utc(r.occurred_at),
                "amount_minor": r.amount_minor,
                "received_at": _utc(r.received_at),
            }
            for r in rows
        ]
        out["sales_count"] = _count(session, sales, len(rows))
    if line.kind == "hours" or adjustment:
        days: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0, 0])
        slices = select(Slice.start, Slice.duration, Slice.paused_seconds).where(
            Slice.chatter_id == line.chatter_id,
            Slice.start >= window.start,
            Slice.start < window.end,
            *fresh(Slice.received_at),
        )
        for start, duration, paused in session.execute(slices):
            day = days[start.astimezone(window.tz).date()]
            day[0] += 1
            day[1] += duration - paused
        out["slices_by_day"] = [
            {"day": day.isoformat(), "slices": n, "seconds_online": online}
            for day, (n, online, _) in sorted(days.items())
        ]
    if adjustment:
        moved = select(
            SaleReassignment.at, Event.event_id, SaleReassignment.from_chatter_id,
            SaleReassignment.to_chatter_id, SaleReassignment.actor, SaleReassignment.reason,
        ).join(Event, Event.id == SaleReassignment.event_id).where(
            or_(
                SaleReassignment.from_chatter_id == line.chatter_id,
                SaleReassignment.to_chatter_id == line.chatter_id,
            ),
            Event.occurred_at >= window.start,
            Event.occurred_at < window.end,
            *fresh(SaleReassignment.at),
        )  # fmt: skip
        out["reassignments"] = [
            {"at": _utc(r.at), "event_id": r.event_id}
            | ({} if for_chatter else {"actor": r.actor, "reason": r.reason})
            for r in session.execute(moved.limit(LIMIT))
        ]
        # Any chatter's shift: a shift by shift credit moves sales between chatters, and a
        # cancelled, swapped or deleted day leaves no row to date (the audit log has it).
        changed = session.execute(
            select(AuditEntry.at, AuditEntry.action, AuditEntry.subject, AuditEntry.actor)
            .where(AuditEntry.action.in_(SHIFT_ACTIONS), *fresh(AuditEntry.at))
            .order_by(AuditEntry.at)
            .limit(LIMIT)
        )
        out["shifts_changed"] = [
            {"at": _utc(at), "action": action.replace("_", " "), "shift": subject}
            | ({} if for_chatter else {"by": actor})
            for at, action, subject, actor in changed
        ]
        out["pay_rules_set"] = [
            {"valid_from": day.isoformat(), "created_at": _utc(at)}
            | ({} if for_chatter else {"by": by})
            for day, at, by in session.execute(
                select(PayRule.valid_from, PayRule.created_at, PayRule.created_by).where(
                    PayRule.chatter_id == line.chatter_id,
                    # A rule from a later day of the period shrank this line's part.
                    PayRule.valid_from <= line.origin.last,
                    *fresh(PayRule.created_at),
                )
            )
        ]
    return out


def _count(session: Session, query: Any, shown: int) -> int:
    if shown < LIMIT:
        return shown
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


__all__ = ["LIMIT", "changed_between", "sources"]
