"""Pay periods open, approved and locked; what arrives late is paid as adjustments.

An open period's pay is computed now (``lines_of``).  An admin approves a period once it is
over: its lines, the adjustments it carries included, are stored (``PayLine``) and never
change again.  Later, events or slices for a locked period, a sale credited to someone
else, a pay rule set from a day inside it: its pay computed again differs from what was
paid for it.  The difference, line by line, is an adjustment in the first open period
after the last locked one, until that period is approved in turn (METRICS.md "Payroll").

Periods are locked in order: the first approval may be any period that is over, every
later one the period right after the last locked.  So "the next open period" is one
period, and what was paid for a period is the sum of its lines in every locked period.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from collector.db import audit, locks
from collector.db.models import ERASED_NAME, ERASED_PREFIX, Chatter
from collector.db.payroll_models import LockedPeriod, PayLine
from collector.db.settings import effective
from collector.errors import DomainError
from collector.payroll import figures, lines, rules
from collector.payroll.lines import Line
from collector.payroll.periods import PayPeriod, PaySchedule
from collector.stats.periods import zone

# How far back the first approval may reach (later ones follow in order from it).
FIRST_APPROVAL_REACH = dt.timedelta(days=366)


@dataclass(frozen=True)
class Calendar:
    """The agency's payroll settings as they are now."""

    schedule: PaySchedule
    tz: str
    fee_basis_points: int
    exclude_regular: bool

    def today(self, now: dt.datetime) -> dt.date:
        return now.astimezone(zone(self.tz)).date()


def calendar(session: Session) -> Calendar:
    values = effective(session)
    anchor = values["pay_period_anchor"]
    assert isinstance(anchor, dt.date)
    return Calendar(
        PaySchedule(str(values["pay_period"]), anchor),
        str(values["agency_timezone"]),
        int(str(values["platform_fee_basis_points"])),
        bool(values["exclude_regular_input"]),
    )


def locked(session: Session) -> list[LockedPeriod]:
    return list(session.scalars(select(LockedPeriod).order_by(LockedPeriod.first_day)))


def period_of(row: LockedPeriod) -> PayPeriod:
    return PayPeriod(row.first_day, row.last_day)


def lock_of(session: Session, period: PayPeriod) -> LockedPeriod | None:
    return session.scalar(select(LockedPeriod).where(LockedPeriod.first_day == period.first))


def computed(
    session: Session, cal: Calendar, period: PayPeriod, lock: LockedPeriod | None = None
) -> list[Line]:
    """``period``'s own lines computed from what is stored now; for a locked period with the
    fee and the regular-input setting it was approved with (a later change of either is
    not a change of what happened)."""
    chatter_ids = session.scalars(select(Chatter.id)).all()
    parts = rules.in_force(session, chatter_ids, period)
    excluded = cal.exclude_regular if lock is None else lock.regular_excluded
    done = figures.measure(session, period, parts, cal.tz, excluded)
    fee = cal.fee_basis_points if lock is None else lock.fee_basis_points
    return lines.pay(period, parts, done, fee)


def stored(rows: Iterable[PayLine]) -> list[Line]:
    return [
        Line(
            r.chatter_id,
            PayPeriod(r.origin_first, r.origin_last),
            r.kind,
            r.part_first,
            r.part_last,
            r.basis,
            r.rate,
            r.online_seconds,
            r.active_seconds,
            r.scheduled_seconds,
            r.ppv_minor,
            r.tips_minor,
            r.refunds_minor,
            r.amount_minor,
        )
        for r in rows
    ]


def adjustments(session: Session, cal: Calendar) -> list[Line]:
    """What every locked period's pay computed now adds to what was paid for it, line by
    line (a line now gone is taken back whole); only changes of an amount."""
    out: list[Line] = []
    periods = locked(session)
    if not periods:
        return out
    paid_rows = session.scalars(select(PayLine).order_by(PayLine.id)).all()
    paid: dict[tuple[int, dt.date, str, dt.date], Line] = {}
    for line in stored(paid_rows):
        before = paid.get(line.key)
        # Lines of one key in several locked periods: the first and its adjustments.
        paid[line.key] = line if before is None else before.plus(line)
    # An erased chatter's time went by law, not by a change: what they were paid stands.
    erased = set(
        session.scalars(
            select(Chatter.id).where(
                Chatter.name == ERASED_NAME,
                Chatter.key.startswith(ERASED_PREFIX),
                Chatter.active.is_(False),
            )
        )
    )
    for row in periods:
        period = period_of(row)
        now = {line.key: line for line in computed(session, cal, period, row)}
        keys = sorted(
            {k for k in paid if k[1] == period.first and k[0] not in erased}
            | {k for k in now if k[0] not in erased},
            key=lambda k: (k[0], lines.KINDS.index(k[2]), k[3]),
        )
        for key in keys:
            was, is_now = paid.get(key), now.get(key)
            if was is None:
                assert is_now is not None
                change = is_now
            elif is_now is None:
                change = was.negated()
            else:
                change = is_now.minus(was)
            # Time or sales that moved without changing the pay (a rate of 0, a rule split
            # moved elsewhere) pay nothing: no line.  They stay unpaid-for in the sums, so
            # should they ever pay, the whole change is in that adjustment.
            if change.amount_minor:
                out.append(change)
    return out


def open_after(session: Session, cal: Calendar) -> PayPeriod | None:
    """The period that carries adjustments: the one right after the last locked."""
    periods = locked(session)
    return cal.schedule.following(period_of(periods[-1])) if periods else None


def lines_of(session: Session, cal: Calendar, period: PayPeriod) -> list[Line]:
    """Every line ``period`` pays: as stored when locked; else computed now, with the
    adjustments when it is the next open period."""
    row = lock_of(session, period)
    if row is not None:
        return stored(
            session.scalars(
                select(PayLine).where(PayLine.period_id == row.id).order_by(PayLine.id)
            ).all()
        )
    found = computed(session, cal, period)
    if open_after(session, cal) == period:
        found += adjustments(session, cal)
    return found


def first_locked(session: Session) -> dt.date | None:
    """The first day the payroll handles: that of the first approved period."""
    return session.scalar(select(func.min(LockedPeriod.first_day)))


def refusal(
    session: Session, cal: Calendar, period: PayPeriod, now: dt.datetime
) -> DomainError | None:
    """Why ``period`` cannot be approved now (None: it can): not over yet, locked already,
    too old to be the first, before the first approved, or not the next in order."""
    if period.last >= cal.today(now):
        return DomainError(
            f"{period.label()} is not over yet: it can be approved from "
            f"{period.last + dt.timedelta(days=1)} on",
            409,
            code="period_not_over",
        )
    already = lock_of(session, period)
    if already is not None:
        return DomainError(
            f"{period.label()} was approved on {already.approved_at:%Y-%m-%d %H:%M} UTC by "
            f"{already.approved_by} and is locked",
            409,
            code="period_locked",
        )
    following = open_after(session, cal)
    if following is None and period.last < cal.today(now) - FIRST_APPROVAL_REACH:
        # The first approval starts the order every later one follows: a mistyped year
        # (2006 for 2026) would otherwise tie the payroll to a period nobody meant.
        return DomainError(
            f"{period.label()} ended more than a year ago: the first period approved must be "
            "a recent one; the periods before it stay open",
            409,
            code="period_too_old",
        )
    if following is not None and following != period:
        if period.first < following.first:
            return DomainError(
                f"{period.label()} is before the first approved period: the pay of periods "
                f"before it is not handled here (pay rules reaching back before "
                f"{first_locked(session)} are not paid for those days)",
                409,
                code="period_before_lock",
            )
        return DomainError(
            f"approve {following.label()} first: periods are approved in order",
            409,
            code="period_out_of_order",
        )
    return None


def approve(
    session: Session, cal: Calendar, period: PayPeriod, *, actor: str, now: dt.datetime
) -> LockedPeriod:
    """Lock ``period`` with the lines it pays now; refused while it is not over, when it is
    locked already, or when it is not the period after the last locked one."""
    locks.serialise(session.connection(), locks.PAYROLL)
    # Read again under the lock: a calendar change that committed meanwhile counts.
    cal = calendar(session)
    if cal.schedule.containing(period.first) != period:
        raise DomainError(
            f"{period.label()} is not a {cal.schedule.kind} pay period (the calendar changed?)",
            409,
            code="period_not_in_calendar",
        )
    wrong = refusal(session, cal, period, now)
    if wrong is not None:
        raise wrong
    paid = lines_of(session, cal, period)
    row = LockedPeriod(
        first_day=period.first,
        last_day=period.last,
        kind=cal.schedule.kind,
        fee_basis_points=cal.fee_basis_points,
        regular_excluded=cal.exclude_regular,
        approved_at=now,
        approved_by=actor,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # another process approved it between the check and here
        raise DomainError(
            f"{period.label()} is already approved", 409, code="period_locked"
        ) from None
    session.add_all(
        PayLine(
            period_id=row.id,
            chatter_id=line.chatter_id,
            origin_first=line.origin.first,
            origin_last=line.origin.last,
            kind=line.kind,
            part_first=line.part_first,
            part_last=line.part_last,
            basis=line.basis,
            rate=line.rate,
            online_seconds=line.online_seconds,
            active_seconds=line.active_seconds,
            scheduled_seconds=line.scheduled_seconds,
            ppv_minor=line.ppv_minor,
            tips_minor=line.tips_minor,
            refunds_minor=line.refunds_minor,
            amount_minor=line.amount_minor,
        )
        for line in paid
    )
    per_chatter: dict[int, int] = defaultdict(int)
    for line in paid:
        per_chatter[line.chatter_id] += line.amount_minor
    audit.record(
        session,
        actor,
        "approve_pay_period",
        f"pay_period:{period.label()}",
        now,
        chatters=len(per_chatter),
        total_minor=sum(per_chatter.values()),
        adjustments=sum(1 for line in paid if line.origin != period),
        fee_basis_points=cal.fee_basis_points,
    )
    session.flush()
    return row


__all__ = [
    "Calendar",
    "adjustments",
    "approve",
    "calendar",
    "computed",
    "lines_of",
    "lock_of",
    "locked",
    "open_after",
    "period_of",
]
