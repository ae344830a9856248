"""A period's pay as lines, from what each chatter did under each pay rule.

Both the fast path (collector/payroll/figures.py, from the rollups) and the reference
(collector/payroll/reference.py, from raw rows) hand their figures to ``pay``, so the
rules of METRICS.md "Payroll" are written once, here.  Every amount is exact until a
line is rounded, once, half away from zero to the minor unit; a chatter's total is the
sum of their lines, so the lines of a payslip always add up.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from collector.payroll.periods import PayPeriod
from collector.payroll.rules import Rule

KINDS = ("hours", "commission", "bonus", "minimum")
BASIS_POINTS = 10_000
HOUR = 3600


@dataclass(frozen=True)
class Figures:
    """What one chatter did on the days one pay rule covered: time from the agent's slices,
    scheduled time from the shifts starting on those days, sales credited to them (after
    refunds, on the refund's own day, as the stats count them)."""

    online_seconds: int = 0
    active_seconds: int = 0
    scheduled_seconds: int = 0
    ppv_minor: int = 0
    tips_minor: int = 0
    refunds_minor: int = 0

    @property
    def net_minor(self) -> int:
        return self.ppv_minor + self.tips_minor

    def seconds(self, basis: str) -> int:
        return int(getattr(self, f"{basis}_seconds"))


# The days of a period one rule pays: (first day, last day, rule).
Part = tuple[dt.date, dt.date, Rule]


@dataclass(frozen=True)
class Line:
    """One line of a payslip.  ``origin`` is the period it pays for; a line paid in a
    later period than its origin is an adjustment (ledger.py)."""

    chatter_id: int
    origin: PayPeriod
    kind: str  # one of KINDS
    part_first: dt.date
    part_last: dt.date
    basis: str = ""  # hours: online, active or scheduled; commission: "after_fee" or ""
    rate: int = 0  # hours: minor units per hour; commission: basis points; minimum: the guarantee
    # Hours lines: the time of the part by kind; the basis's is what the rate pays.
    online_seconds: int = 0
    active_seconds: int = 0
    scheduled_seconds: int = 0
    ppv_minor: int = 0
    tips_minor: int = 0
    refunds_minor: int = 0
    amount_minor: int = 0

    @property
    def key(self) -> tuple[int, dt.date, str, dt.date]:
        """What a line of a later recomputation is compared with (adjustments)."""
        return (self.chatter_id, self.origin.first, self.kind, self.part_first)

    @property
    def net_minor(self) -> int:
        return self.ppv_minor + self.tips_minor

    @property
    def seconds(self) -> int:
        """The time the rate pays (hours lines)."""
        return int(getattr(self, f"{self.basis}_seconds")) if self.kind == "hours" else 0

    def minus(self, other: Line) -> Line:
        """This line less ``other`` (the same key): what changed since it was paid."""
        return self._with(other, -1)

    def plus(self, other: Line) -> Line:
        return self._with(other, 1)

    def negated(self) -> Line:
        """The line taken back whole (a line no longer due)."""
        return self._with(self, -2)

    def _with(self, other: Line, sign: int) -> Line:
        return replace(
            self,
            online_seconds=self.online_seconds + sign * other.online_seconds,
            active_seconds=self.active_seconds + sign * other.active_seconds,
            scheduled_seconds=self.scheduled_seconds + sign * other.scheduled_seconds,
            ppv_minor=self.ppv_minor + sign * other.ppv_minor,
            tips_minor=self.tips_minor + sign * other.tips_minor,
            refunds_minor=self.refunds_minor + sign * other.refunds_minor,
            amount_minor=self.amount_minor + sign * other.amount_minor,
        )


def rounded(amount: Fraction) -> int:
    """To the minor unit, half away from zero: 2.5 -> 3, -2.5 -> -3 (a refund undoes its
    sale's commission exactly)."""
    whole, rest = divmod(abs(amount.numerator), amount.denominator)
    if 2 * rest >= amount.denominator:
        whole += 1
    return whole if amount >= 0 else -whole


def pay(
    period: PayPeriod,
    parts: Mapping[int, Sequence[Part]],
    figures: Mapping[tuple[int, dt.date], Figures],
    fee_basis_points: int,
) -> list[Line]:
    """Every line of ``period`` for the chatters in ``parts``; ``figures`` per (chatter,
    first day of the part).  ``fee_basis_points``: the platform's fee, taken off the sales
    of a rule whose commission is paid after it."""
    lines: list[Line] = []
    for chatter_id in sorted(parts):
        mine: list[Line] = []
        guarantee = Fraction(0)
        for first, last, rule in parts[chatter_id]:
            done = figures.get((chatter_id, first), Figures())
            share = Fraction((last - first).days + 1, period.days)
            seconds = done.seconds(rule.hours_basis)
            mine.append(
                Line(
                    chatter_id,
                    period,
                    "hours",
                    first,
                    last,
                    basis=rule.hours_basis,
                    rate=rule.hourly_minor,
                    online_seconds=done.online_seconds,
                    active_seconds=done.active_seconds,
                    scheduled_seconds=done.scheduled_seconds,
                    amount_minor=rounded(Fraction(seconds * rule.hourly_minor, HOUR)),
                )
            )
            base = Fraction(done.net_minor)
            if rule.commission_after_fee:
                base *= Fraction(BASIS_POINTS - fee_basis_points, BASIS_POINTS)
            line = Line(chatter_id, period, "commission", first, last)
            mine.append(
                replace(
                    line,
                    basis="after_fee" if rule.commission_after_fee else "",
                    rate=rule.commission_basis_points,
                    ppv_minor=done.ppv_minor,
                    tips_minor=done.tips_minor,
                    refunds_minor=done.refunds_minor,
                    amount_minor=rounded(
                        base * Fraction(rule.commission_basis_points, BASIS_POINTS)
                    ),
                )
            )
            if rule.bonus_minor:
                mine.append(
                    replace(
                        line,
                        kind="bonus",
                        rate=rule.bonus_minor,
                        amount_minor=rounded(rule.bonus_minor * share),
                    )
                )
            guarantee += rule.minimum_minor * share
        if guarantee:
            floor = rounded(guarantee)
            earned = sum(line.amount_minor for line in mine)
            first, last = parts[chatter_id][0][0], parts[chatter_id][-1][1]
            mine.append(
                Line(
                    chatter_id,
                    period,
                    "minimum",
                    first,
                    last,
                    rate=floor,
                    amount_minor=max(0, floor - earned),
                )
            )
        lines += mine
    return lines


def totals(period: PayPeriod, lines: Iterable[Line]) -> dict[int, dict[str, int]]:
    """Per chatter, what ``period`` pays them: the amount of each kind of line, the
    adjustments (lines for earlier periods) apart, and the total."""
    out: dict[int, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys((*KINDS, "adjustments", "total"), 0)
    )
    for line in lines:
        row = out[line.chatter_id]
        row[line.kind if line.origin == period else "adjustments"] += line.amount_minor
        row["total"] += line.amount_minor
    return dict(out)


__all__ = ["KINDS", "Figures", "Line", "Part", "pay", "rounded", "totals"]
