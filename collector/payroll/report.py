"""The payroll report behind the API, the pages and the exports: per chatter the time by
kind, the sales credited, each kind of pay, the adjustments and the total, with every line.

A chatter sees only their own pay; a team lead the chatters assigned to their creators
(their whole pay: hours and pay rules belong to a chatter, not to a creator); admins and
other managers everyone.  Amounts are decimal strings in the agency currency, as in every
other report, and typed money cells in Excel.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.auth.callers import Caller
from collector.db.models import Chatter, chatter_creators
from collector.db.settings import currency_exponent
from collector.errors import ApiError
from collector.payroll import ledger
from collector.payroll.lines import Line
from collector.payroll.periods import PayPeriod, PayPeriodError
from collector.stats.tables import Column, Table
from shared.money import format_amount, parse_amount

FORMATS = ("json", "csv", "xlsx")
VIEWS = ("chatters", "lines")

CHATTER_COLUMNS = (
    Column("key", "Chatter key", "text"),
    Column("name", "Chatter", "text"),
    Column("online_seconds", "Online", "duration"),
    Column("active_seconds", "Active", "duration"),
    Column("scheduled_seconds", "Scheduled", "duration"),
    Column("net_sales", "Net sales", "money"),
    Column("hourly_pay", "Hourly pay", "money"),
    Column("commission", "Commission", "money"),
    Column("bonus", "Bonus", "money"),
    Column("minimum_topup", "Minimum top-up", "money"),
    Column("adjustments", "Adjustments", "money"),
    Column("total", "Total", "money"),
)
LINE_COLUMNS = (
    Column("key", "Chatter key", "text"),
    Column("name", "Chatter", "text"),
    Column("line", "Line", "text"),
    Column("for_period", "For period", "text"),
    Column("first_day", "From", "date"),
    Column("last_day", "To", "date"),
    Column("basis", "Basis", "text"),
    Column("rate", "Rate", "text"),
    Column("paid_seconds", "Time paid", "duration"),
    Column("ppv_sales", "PPV sales", "money"),
    Column("tips", "Tips", "money"),
    Column("refunds", "Refunds", "money"),
    Column("net_sales", "Net sales", "money"),
    Column("amount", "Amount", "money"),
)
# How a line's basis reads in files and on pages (the stored values are names).
BASIS_TITLES = {"after_fee": "after the fee", "": "", "online": "online", "active": "active",
                "scheduled": "scheduled"}  # fmt: skip
# What a line is called on a payslip.
LINE_TITLES = {
    "hours": "Hourly pay",
    "commission": "Commission",
    "bonus": "Bonus",
    "minimum": "Minimum guarantee top-up",
}


@dataclass(frozen=True)
class Person:
    id: int
    key: str
    name: str


@dataclass
class Payroll:
    """One period's pay as a caller may see it."""

    period: PayPeriod
    calendar: ledger.Calendar
    locked: Any  # LockedPeriod | None
    carries_adjustments: bool
    over: bool
    # The first day of the first approved period, when this one is before it: its pay is
    # not handled here (ledger.refusal).
    payroll_starts: dt.date | None
    people: dict[int, Person]
    lines: list[Line]
    currency: str
    exponent: int
    without_rule: list[Person]

    def money(self, minor: int) -> str:
        return format_amount(minor, self.exponent)


def visible(session: Session, caller: Caller) -> dict[int, Person]:
    """The chatters whose pay ``caller`` may see."""
    people = {
        cid: Person(cid, key, name)
        for cid, key, name in session.execute(select(Chatter.id, Chatter.key, Chatter.name))
    }
    if caller.role == "chatter":
        return {cid: p for cid, p in people.items() if cid == caller.chatter_id}
    if caller.creators is not None:
        mine = {
            cid
            for cid, creator in session.execute(
                select(chatter_creators.c.chatter_id, chatter_creators.c.creator_id)
            )
            if creator in caller.creators
        }
        return {cid: p for cid, p in people.items() if cid in mine}
    return people


def parse_period(cal: ledger.Calendar, raw: str | None, now: dt.datetime) -> PayPeriod:
    """The period a request names (a day in it, or first..last); by default the one holding
    today, in the agency zone."""
    if not raw:
        return cal.schedule.containing(cal.today(now))
    try:
        return cal.schedule.parse(raw)
    except PayPeriodError as exc:
        raise ApiError(400, "bad_parameter", f"period: {exc}") from None


def build(session: Session, caller: Caller, period: PayPeriod, now: dt.datetime) -> Payroll:
    cal = ledger.calendar(session)
    people = visible(session, caller)
    lock = ledger.lock_of(session, period)
    first = ledger.first_locked(session)
    found = [line for line in ledger.lines_of(session, cal, period) if line.chatter_id in people]
    paid = {line.chatter_id for line in found}
    active = set(session.scalars(select(Chatter.id).where(Chatter.active.is_(True))))
    currency, exponent = currency_exponent(session)
    return Payroll(
        period=period,
        calendar=cal,
        locked=lock,
        carries_adjustments=lock is None and ledger.open_after(session, cal) == period,
        over=period.last < cal.today(now),
        payroll_starts=first
        if lock is None and first is not None and period.first < first
        else None,
        people=people,
        lines=found,
        currency=currency,
        exponent=exponent,
        without_rule=sorted(
            (p for cid, p in people.items() if cid not in paid and cid in active),
            key=lambda p: p.name.lower(),
        ),
    )


def chatter_rows(payroll: Payroll) -> list[dict[str, Any]]:
    """One row per chatter paid in the period, by name."""
    sums: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in payroll.lines:
        row = sums[line.chatter_id]
        own = line.origin == payroll.period
        if line.kind == "hours" and own:
            for kind in ("online", "active", "scheduled"):
                row[f"{kind}_seconds"] += getattr(line, f"{kind}_seconds")
        if line.kind == "commission" and own:
            row["net_sales"] += line.net_minor
        field = (
            "adjustments"
            if not own
            else {
                "hours": "hourly_pay",
                "commission": "commission",
                "bonus": "bonus",
                "minimum": "minimum_topup",
            }[line.kind]
        )
        row[field] += line.amount_minor
        row["total"] += line.amount_minor
    out = []
    for chatter_id, row in sums.items():
        person = payroll.people[chatter_id]
        out.append(
            {
                "key": person.key,
                "name": person.name,
                **{k: row[k] for k in ("online_seconds", "active_seconds", "scheduled_seconds")},
                **{
                    k: payroll.money(row[k])
                    for k in (
                        "net_sales",
                        "hourly_pay",
                        "commission",
                        "bonus",
                        "minimum_topup",
                        "adjustments",
                        "total",
                    )
                },
            }
        )
    return sorted(out, key=lambda r: (str(r["name"]).lower(), r["key"]))


def line_row(payroll: Payroll, line: Line) -> dict[str, Any]:
    """A line as the API and the files show it."""
    person = payroll.people[line.chatter_id]
    adjustment = line.origin != payroll.period
    if line.kind == "commission":
        rate = f"{line.rate / 100:.2f} %" + (
            f" after the {_fee_of(payroll, line) / 100:.2f} % fee" if line.basis else ""
        )
    elif line.kind == "hours":
        rate = f"{payroll.money(line.rate)} {payroll.currency}/h"
    else:
        rate = f"{payroll.money(line.rate)} {payroll.currency}"
    return {
        "key": person.key,
        "name": person.name,
        "line": LINE_TITLES[line.kind] + (" (adjustment)" if adjustment else ""),
        "kind": line.kind,
        "adjustment": adjustment,
        "for_period": line.origin.label(),
        "first_day": line.part_first.isoformat(),
        "last_day": line.part_last.isoformat(),
        "basis": BASIS_TITLES.get(line.basis, line.basis),
        "rate": rate,
        "rate_value": line.rate,
        "paid_seconds": line.seconds,
        "online_seconds": line.online_seconds,
        "active_seconds": line.active_seconds,
        "scheduled_seconds": line.scheduled_seconds,
        "ppv_sales": payroll.money(line.ppv_minor),
        "tips": payroll.money(line.tips_minor),
        "refunds": payroll.money(line.refunds_minor),
        "net_sales": payroll.money(line.net_minor),
        "amount": payroll.money(line.amount_minor),
    }


def _fee_of(payroll: Payroll, line: Line) -> int:
    """The fee a commission line was paid after: the one stored with a locked period."""
    lock = payroll.locked
    return int(lock.fee_basis_points) if lock is not None else payroll.calendar.fee_basis_points


def body(payroll: Payroll) -> dict[str, Any]:
    """The API's JSON body."""
    lock = payroll.locked
    rows = chatter_rows(payroll)
    lines_by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in payroll.lines:
        row = line_row(payroll, line)
        lines_by_key[row["key"]].append(row)
    return {
        "period": {
            "first": payroll.period.first.isoformat(),
            "last": payroll.period.last.isoformat(),
            "label": payroll.period.label(),
            "kind": lock.kind if lock is not None else payroll.calendar.schedule.kind,
            "time_zone": payroll.calendar.tz,
            "status": "locked" if lock is not None else "open",
            "over": payroll.over,
            "approved_at": _utc(lock.approved_at) if lock is not None else None,
            "approved_by": lock.approved_by if lock is not None else None,
            "carries_adjustments": payroll.carries_adjustments,
            # Before the first approved period: not paid through ChatterTrack.
            "before_payroll_start": (
                payroll.payroll_starts.isoformat() if payroll.payroll_starts else None
            ),
        },
        "currency": payroll.currency,
        "platform_fee_basis_points": (
            lock.fee_basis_points if lock is not None else payroll.calendar.fee_basis_points
        ),
        "chatters": [{**row, "lines": lines_by_key[row["key"]]} for row in rows],
        "totals": _totals(payroll, rows),
        "without_pay_rule": [{"key": p.key, "name": p.name} for p in payroll.without_rule],
    }


def _minor(amount: str, exponent: int) -> int:
    """A row's amount back in minor units; adjustments and their totals may be negative."""
    if amount.startswith("-"):
        return -parse_amount(amount[1:], exponent)
    return parse_amount(amount, exponent)


def _totals(payroll: Payroll, rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    rows = list(rows)
    out: dict[str, Any] = {
        k: sum(int(r[k]) for r in rows)
        for k in ("online_seconds", "active_seconds", "scheduled_seconds")
    }
    for k in ("net_sales", "hourly_pay", "commission", "bonus", "minimum_topup", "adjustments"):
        out[k] = payroll.money(sum(_minor(r[k], payroll.exponent) for r in rows))
    out["total"] = payroll.money(sum(line.amount_minor for line in payroll.lines))
    return out


def table(payroll: Payroll, view: str) -> Table:
    """The export: one row per chatter, or one per line."""
    lock = payroll.locked
    meta = [
        ("Pay period", f"{payroll.period.first} to {payroll.period.last}"),
        ("Time zone", payroll.calendar.tz),
        (
            "Status",
            f"locked, approved {lock.approved_at:%Y-%m-%d %H:%M} UTC by {lock.approved_by}"
            if lock is not None
            else "open (not approved: figures may still change)",
        ),
    ]
    stem = f"payroll_{payroll.period.first}_{payroll.period.last}"
    if view == "lines":
        rows = [line_row(payroll, line) for line in payroll.lines]
        rows.sort(key=lambda r: (str(r["name"]).lower(), r["key"]))
        return Table(
            "Payroll lines",
            LINE_COLUMNS,
            rows,
            meta,
            payroll.currency,
            payroll.exponent,
            f"{stem}_lines",
        )
    return Table(
        "Payroll",
        CHATTER_COLUMNS,
        chatter_rows(payroll),
        meta,
        payroll.currency,
        payroll.exponent,
        stem,
    )


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


__all__ = [
    "CHATTER_COLUMNS",
    "FORMATS",
    "LINE_COLUMNS",
    "VIEWS",
    "Payroll",
    "body",
    "build",
    "chatter_rows",
    "line_row",
    "parse_period",
    "table",
    "visible",
]
