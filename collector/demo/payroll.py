"""The demo agency's payroll: weekly pay periods, a mix of pay rules, last week approved
and locked, and a commission rate corrected after the approval, so this week's Payroll
page carries an adjustment for last week (collector/payroll/, METRICS.md "Payroll").

The demo's activity runs from seven days before today to now (agency.py), so last week
(Monday to Sunday) always has some of it: today's weekday a week ago at least.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.agency.settings import set_value
from collector.db.models import Chatter
from collector.payroll import ledger, rules
from collector.stats.periods import zone

ADMIN = "admin@demo.test"
# Per chatter key, the terms of their rule from the first day of last week; fran has
# none (the page lists her "without a pay rule").
RULES: dict[str, dict[str, object]] = {
    "alex": {"hourly_minor": 1500, "hours_basis": "online", "commission_basis_points": 500},
    "bea": {"hourly_minor": 1200, "hours_basis": "scheduled", "minimum_minor": 40_000},
    "chen": {"commission_basis_points": 2000, "commission_after_fee": True},
    "dana": {"hourly_minor": 1400, "hours_basis": "active"},
    "eli": {"hourly_minor": 1300, "hours_basis": "online", "bonus_minor": 5000},
}
# Dana's raise from Thursday of last week: a rate change inside a period.
RAISE: tuple[str, int, dict[str, object]] = (
    "dana",
    3,
    {"hourly_minor": 1600, "hours_basis": "active"},
)
# Chen's commission, corrected after last week was approved, from its Wednesday on.
CORRECTION: tuple[str, int, dict[str, object]] = (
    "chen",
    2,
    {"commission_basis_points": 2200, "commission_after_fee": True},
)


def seed_payroll(session: Session, now: dt.datetime) -> None:
    set_value(session, "pay_period", "weekly")
    session.flush()
    cal = ledger.calendar(session)
    current = cal.schedule.containing(cal.today(now))
    last_week = cal.schedule.containing(current.first - dt.timedelta(days=1))
    chatters = {c.key: c for c in session.scalars(select(Chatter))}
    # The rules were set before the week began, the raise on its day.
    set_at = dt.datetime.combine(last_week.first, dt.time(), zone(cal.tz)) - dt.timedelta(days=1)
    for key, terms in RULES.items():
        rule = rules.checked(terms)
        rules.set_rule(session, chatters[key], last_week.first, rule, actor=ADMIN, now=set_at)
    key, offset, terms = RAISE
    day = last_week.first + dt.timedelta(days=offset)
    rules.set_rule(
        session,
        chatters[key],
        day,
        rules.checked(terms),
        actor=ADMIN,
        now=set_at + dt.timedelta(days=offset),
    )
    # Approved now, after everything above was received; the correction a second later
    # (what changed after an approval is what came in after it: payroll/sources.py).
    ledger.approve(session, cal, last_week, actor=ADMIN, now=now)
    key, offset, terms = CORRECTION
    day = last_week.first + dt.timedelta(days=offset)
    later = now + dt.timedelta(seconds=1)
    rules.set_rule(session, chatters[key], day, rules.checked(terms), actor=ADMIN, now=later)
    session.flush()


__all__ = ["seed_payroll"]
