"""Payroll's tables (issue 16): each chatter's pay rules, valid from a day on (history kept).

Money is in minor units of the agency currency (``settings.currency_exponent``), integers:
no float ever holds an amount.  A commission is in basis points (1,250 = 12.50 %).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from collector.db.base import Base

# What an hourly rate pays for: online, active or scheduled hours (METRICS.md, "Pay rules").
HOURS_BASES = ("online", "active", "scheduled")


class PayRule(Base):
    """A chatter's pay from ``valid_from`` (a local day of the agency zone) until the day
    before their next rule's ``valid_from``.  A rule is never edited once stored: a new one
    from a later day replaces it, so what a period was paid by stays known."""

    __tablename__ = "pay_rules"
    __table_args__ = (
        UniqueConstraint("chatter_id", "valid_from"),
        CheckConstraint("hourly_minor >= 0", name="hourly_minor"),
        CheckConstraint(
            "commission_basis_points >= 0 AND commission_basis_points <= 10000",
            name="commission_basis_points",
        ),
        CheckConstraint("bonus_minor >= 0", name="bonus_minor"),
        CheckConstraint("minimum_minor >= 0", name="minimum_minor"),
        CheckConstraint("hours_basis IN ('online', 'active', 'scheduled')", name="hours_basis"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chatter_id: Mapped[int] = mapped_column(ForeignKey("chatters.id", ondelete="CASCADE"))
    valid_from: Mapped[dt.date]
    hourly_minor: Mapped[int] = mapped_column(BigInteger)  # per hour
    hours_basis: Mapped[str] = mapped_column(String(16))
    commission_basis_points: Mapped[int] = mapped_column(Integer)
    commission_after_fee: Mapped[bool] = mapped_column(Boolean)  # net of the platform's fee
    bonus_minor: Mapped[int] = mapped_column(BigInteger)  # fixed, per pay period
    minimum_minor: Mapped[int] = mapped_column(BigInteger)  # guaranteed, per pay period
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class LockedPeriod(Base):
    """A pay period an admin approved: locked, its lines stored (``PayLine``) and never
    changed again.  What arrives later for it is paid as adjustments in the next open
    period (collector/payroll/ledger.py)."""

    __tablename__ = "pay_periods"
    __table_args__ = (
        UniqueConstraint("first_day"),
        CheckConstraint("last_day >= first_day", name="days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_day: Mapped[dt.date]
    last_day: Mapped[dt.date]
    kind: Mapped[str] = mapped_column(String(16))  # the pay_period setting when approved
    # The platform_fee_basis_points setting when approved: a later change of the setting
    # does not reopen the commissions of locked periods.
    fee_basis_points: Mapped[int] = mapped_column(Integer)
    # The exclude_regular_input setting when approved, likewise for active time.
    regular_excluded: Mapped[bool] = mapped_column(Boolean)
    approved_at: Mapped[dt.datetime]
    approved_by: Mapped[str] = mapped_column(String(200))


class PayLine(Base):
    """One line of a locked period's pay: what it paid a chatter, and for what.

    ``origin_first``..``origin_last`` is the period the line pays for: the locked period
    itself, or an earlier one for an adjustment.  ``kind`` is hours, commission, bonus or
    minimum; ``part_first``..``part_last`` the days its pay rule covered.  The quantities
    are the line's basis: time by kind (hours), sales after refunds (commission)."""

    __tablename__ = "pay_lines"
    __table_args__ = (
        Index("ix_pay_lines_period", "period_id"),
        Index("ix_pay_lines_origin", "origin_first"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("pay_periods.id", ondelete="CASCADE"))
    chatter_id: Mapped[int] = mapped_column(ForeignKey("chatters.id", ondelete="CASCADE"))
    origin_first: Mapped[dt.date]
    origin_last: Mapped[dt.date]
    kind: Mapped[str] = mapped_column(String(16))
    part_first: Mapped[dt.date]
    part_last: Mapped[dt.date]
    basis: Mapped[str] = mapped_column(String(16))  # hours basis, or "" for other kinds
    rate: Mapped[int] = mapped_column(BigInteger)  # minor units per hour, or basis points
    online_seconds: Mapped[int] = mapped_column(BigInteger)
    active_seconds: Mapped[int] = mapped_column(BigInteger)
    scheduled_seconds: Mapped[int] = mapped_column(BigInteger)
    ppv_minor: Mapped[int] = mapped_column(BigInteger)  # after refunds
    tips_minor: Mapped[int] = mapped_column(BigInteger)  # after refunds
    refunds_minor: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
