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
