"""Pay rules: set from a day on, never edited (collector/db/payroll_models.py), and which
rule pays each day of a period (a rate change mid-period splits it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.db import audit
from collector.db.models import Chatter
from collector.db.payroll_models import HOURS_BASES, PayRule
from collector.errors import DomainError
from collector.payroll.periods import PayPeriod
from collector.stats.periods import EARLIEST, LATEST

# The largest amount a rule holds, in minor units: 10^12 (ten billion dollars in cents),
# far within a BIGINT and any sum of a year's periods.
MAX_MINOR = 10**12
FIELDS = (
    "hourly_minor",
    "hours_basis",
    "commission_basis_points",
    "commission_after_fee",
    "bonus_minor",
    "minimum_minor",
)


@dataclass(frozen=True)
class Rule:
    """A pay rule's terms (what PayRule stores besides its chatter, day and author)."""

    hourly_minor: int = 0
    hours_basis: str = "online"
    commission_basis_points: int = 0
    commission_after_fee: bool = False
    bonus_minor: int = 0
    minimum_minor: int = 0

    @classmethod
    def of(cls, row: PayRule) -> Rule:
        return cls(*(getattr(row, f) for f in FIELDS))


def checked(values: Mapping[str, Any]) -> Rule:
    """A rule from untrusted values (API, page, CLI), or DomainError saying what is wrong."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise DomainError(f"unknown field: {', '.join(unknown)[:100]}")
    out: dict[str, Any] = {}
    for name in ("hourly_minor", "bonus_minor", "minimum_minor"):
        out[name] = _whole(values.get(name, 0), name, MAX_MINOR)
    out["commission_basis_points"] = _whole(
        values.get("commission_basis_points", 0), "commission_basis_points", 10_000
    )
    basis = values.get("hours_basis", "online")
    if basis not in HOURS_BASES:
        raise DomainError(f"hours_basis must be one of {', '.join(HOURS_BASES)}")
    out["hours_basis"] = basis
    after_fee = values.get("commission_after_fee", False)
    if not isinstance(after_fee, bool):
        raise DomainError("commission_after_fee must be true or false")
    out["commission_after_fee"] = after_fee
    return Rule(**out)


def _whole(value: Any, name: str, top: int) -> int:
    # bool is an int in Python; true is not an amount.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise DomainError(f"{name} must be a whole number from 0 to {top:,}")
    return value


def set_rule(
    session: Session,
    chatter: Chatter,
    valid_from: dt.date,
    rule: Rule,
    *,
    actor: str,
    now: dt.datetime,
    replace: bool = False,
) -> PayRule:
    """Store ``rule`` for ``chatter`` from ``valid_from``.  A rule already starting that day
    is refused unless ``replace``: then its terms are corrected, the old ones kept in the
    audit trail (pay already approved stays as paid; the difference is an adjustment)."""
    if not EARLIEST <= valid_from <= LATEST:
        raise DomainError(f"valid_from: days from {EARLIEST} to {LATEST} only", 422)
    terms = {f: getattr(rule, f) for f in FIELDS}
    row = session.scalar(
        select(PayRule).where(PayRule.chatter_id == chatter.id, PayRule.valid_from == valid_from)
    )
    if row is not None and not replace:
        raise DomainError(
            f"{chatter.name} already has a pay rule from {valid_from}: to correct it, replace "
            'it (the page\'s "Replace the rule from that day", --replace, or "replace": true)',
            409,
            code="rule_exists",
        )
    if row is not None:
        before = {f: getattr(row, f) for f in FIELDS}
        for name, value in terms.items():
            setattr(row, name, value)
        row.created_at, row.created_by = now, actor
        action, detail = "replace_pay_rule", {**terms, "before": before}
    else:
        row = PayRule(
            chatter_id=chatter.id, valid_from=valid_from, created_at=now, created_by=actor, **terms
        )
        session.add(row)
        action, detail = "set_pay_rule", terms
    audit.record(
        session,
        actor,
        action,
        f"chatter:{chatter.key}",
        now,
        valid_from=valid_from.isoformat(),
        **detail,
    )
    session.flush()
    return row


def in_force(
    session: Session, chatter_ids: Collection[int], period: PayPeriod
) -> dict[int, list[tuple[dt.date, dt.date, Rule]]]:
    """Per chatter, the parts of ``period`` each rule pays: (first day, last day, rule), in
    order; days before a chatter's first rule are paid by none (left out)."""
    rows = session.scalars(
        select(PayRule)
        .where(PayRule.chatter_id.in_(sorted(chatter_ids)), PayRule.valid_from <= period.last)
        .order_by(PayRule.chatter_id, PayRule.valid_from)
    ).all()
    by_chatter: dict[int, list[PayRule]] = {}
    for row in rows:
        by_chatter.setdefault(row.chatter_id, []).append(row)
    out: dict[int, list[tuple[dt.date, dt.date, Rule]]] = {}
    for chatter_id, mine in by_chatter.items():
        parts = []
        for i, row in enumerate(mine):
            until = (
                mine[i + 1].valid_from - dt.timedelta(days=1) if i + 1 < len(mine) else period.last
            )
            first, last = max(row.valid_from, period.first), min(until, period.last)
            if first <= last:
                parts.append((first, last, Rule.of(row)))
        if parts:
            out[chatter_id] = parts
    return out


__all__ = ["FIELDS", "MAX_MINOR", "Rule", "checked", "in_force", "set_rule"]
