"""Changing agency settings: validated, the currency locked once amounts exist, and a new
attribution window applied to every order at once.

The caller owns the transaction and writes the audit entry in it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.agency.credit import recredit_all
from collector.conversations.rebuild import reattribute
from collector.db import locks, text
from collector.db.models import Chatter, Event, Setting
from collector.db.payroll_models import LockedPeriod, PayRule
from collector.db.settings import CREDIT_SETTINGS, CreditRules, definition, get_value, scope_for
from collector.errors import DomainError


def set_value(session: Session, name: str, raw: str, chatter: Chatter | None = None) -> object:
    spec = definition(name)
    if chatter is not None and not spec.per_chatter:
        raise DomainError(f"{name} is agency-wide and cannot be set per chatter")
    value = spec.parse(text.check(raw, name, Setting.value))
    if name == "currency" and value != get_value(session, "currency") and currency_locked(session):
        raise DomainError("the currency cannot change once amounts have been stored")
    _check_pay_calendar(session, name, value)
    # The agency's value before: setting it again changes nothing, so re-crediting (which
    # blocks ingest while it runs) is skipped.
    before = get_value(session, name) if chatter is None else None
    scope = scope_for(chatter)
    row = session.scalar(select(Setting).where(Setting.name == name, Setting.scope == scope))
    now = dt.datetime.now(dt.UTC)
    if row is None:
        session.add(Setting(name=name, scope=scope, value=str(value), updated_at=now))
    else:
        row.value, row.updated_at = str(value), now
    if chatter is not None or value != before:
        _after_change(session, name)
    return value


def _after_change(session: Session, name: str) -> None:
    """Orders are attributed with the window in force: a new window re-attributes them all;
    sales are credited with ppv_credit and tip_credit in force: a change re-credits them."""
    if name == "attribution_window_days":
        session.flush()
        reattribute(session.connection())
    elif name in CREDIT_SETTINGS:
        # Sales are credited with the rules in force: a new rule re-credits every sale a
        # shift can cover (facts, refunds, rollups).
        session.flush()
        kinds = CreditRules(name == "ppv_credit", name == "tip_credit")
        recredit_all(session.connection(), kinds)


def unset_value(session: Session, name: str, chatter: Chatter | None = None) -> bool:
    spec = definition(name)
    row = session.scalar(
        select(Setting).where(Setting.name == name, Setting.scope == scope_for(chatter))
    )
    if row is None:
        return False
    _check_pay_calendar(session, name, spec.default)
    session.delete(row)
    _after_change(session, name)
    return True


# The settings that say which days make a pay period (collector/payroll/periods.py).
# What cuts pay periods into instants: local days of the agency zone, by the calendar.
PAY_CALENDAR = ("pay_period", "pay_period_anchor", "agency_timezone")


def _check_pay_calendar(session: Session, name: str, value: object) -> None:
    """Approved periods are locked as they were cut: the calendar that cut them stays."""
    if name not in PAY_CALENDAR:
        return
    # An approval running now holds this lock: the check sees what it stores (PostgreSQL;
    # SQLite's one writer already waits).
    locks.serialise(session.connection(), locks.PAYROLL)
    if value != get_value(session, name) and pay_periods_locked(session):
        raise DomainError(
            f"{name} cannot change once a pay period has been approved: approved periods "
            "are locked, and a new calendar or zone would cut the days differently (the "
            "next period would overlap or leave a gap)"
        )


def pay_periods_locked(session: Session) -> bool:
    """A pay period is approved: the pay calendar can no longer change."""
    return session.scalar(select(LockedPeriod.id).limit(1)) is not None


def currency_locked(session: Session) -> bool:
    """Amounts are stored (sales, pay rules, approved pay): the currency can no longer
    change, or the same minor units would read as another money."""
    found = session.scalar(select(Event.id).where(Event.amount_minor.is_not(None)).limit(1))
    return found is not None or session.scalar(select(PayRule.id).limit(1)) is not None
