"""``payroll show|approve`` and ``payroll rule set|list`` (METRICS.md "Payroll").

The command line acts as an admin: it sees every chatter's pay.  Approving and setting a
rule are audited (by ``collector.payroll``) under ``cli:USER``, or the name given.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import click
from sqlalchemy import select

from collector.auth.callers import Caller
from collector.cli.context import actor, get_chatter, now, session_scope, shown_time
from collector.db import text
from collector.db.models import Chatter
from collector.db.payroll_models import HOURS_BASES, LockedPeriod, PayRule
from collector.db.settings import currency_exponent
from collector.errors import DomainError
from collector.http.exports import to_csv
from collector.payroll import ledger, report, rules
from collector.payroll.lines import BASIS_POINTS
from collector.stats.tables import Table
from shared.money import AmountError, format_amount, parse_amount

# A percentage with at most two decimals: 12.5 is 1250 basis points exactly.
_PERCENT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,2})?")


@click.group("payroll")
def payroll_group() -> None:
    """Pay periods, their pay, approval, and the chatters' pay rules."""


@payroll_group.command("show")
@click.option("--period", help="A day in the period, or first..last (default: today's).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--view",
    type=click.Choice(report.VIEWS),
    default="chatters",
    show_default=True,
    help="One row per chatter, or one per line (table and csv).",
)
def show(period: str | None, fmt: str, view: str) -> None:
    """A period's pay: per chatter, the time, net sales, each kind of pay, the total."""
    with session_scope(write=False) as session:
        moment = now()
        cal = ledger.calendar(session)
        found = report.parse_period(cal, period, moment)
        payroll = report.build(session, Caller("admin", None, actor()), found, moment)
        if fmt == "json":
            click.echo(json.dumps(report.body(payroll), indent=2, ensure_ascii=False))
            return
        table = report.table(payroll, view)
    if fmt == "csv":
        click.echo(to_csv(table).decode("utf-8-sig"), nl=False)
        return
    for label, value in table.meta:
        click.echo(f"{label}: {value}")
    click.echo(f"Currency: {table.currency}")
    click.echo(_plain(table))
    if payroll.without_rule:
        names = ", ".join(p.key for p in payroll.without_rule)
        click.echo(f"Without a pay rule (paid nothing): {names}")


def _plain(table: Table) -> str:
    """A table as aligned text: durations as H:MM:SS, amounts right-aligned."""
    head = [c.title for c in table.columns]
    body = [[_cell(c.kind, row.get(c.key)) for c in table.columns] for row in table.rows]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    right = [c.kind in ("money", "duration", "integer") for c in table.columns]
    lines = []
    for row in [head, *body]:
        cells = [
            v.rjust(w) if r else v.ljust(w) for v, w, r in zip(row, widths, right, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    if not body:
        lines.append("(nobody is paid in this period)")
    return "\n".join(lines)


def _cell(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "duration":
        seconds = int(value)
        sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
        return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return str(value)


@payroll_group.command("approve")
@click.option("--period", required=True, help="A day in the period, or first..last.")
@click.option("--by", "by", help="Who approves, for the audit trail (default: cli:USER).")
def approve(period: str, by: str | None) -> None:
    """Lock a period that is over with the lines it pays now (periods go in order)."""
    with session_scope() as session:
        moment = now()
        if by is not None and not by.strip():
            raise click.ClickException("--by: give a name, or leave --by out")
        who = text.check_label(by.strip(), "--by", LockedPeriod.approved_by) if by else actor()
        cal = ledger.calendar(session)
        found = report.parse_period(cal, period, moment)
        ledger.approve(session, cal, found, actor=who, now=moment)
        payroll = report.build(session, Caller("admin", None, who), found, moment)
        total = report.body(payroll)["totals"]["total"]
        count = len({line.chatter_id for line in payroll.lines})
    click.echo(
        f"{found.label()} approved by {who} and locked: "
        f"{text.count_of(count, 'chatter')}, {total} {payroll.currency} in all"
    )


@payroll_group.group("rule")
def rule_group() -> None:
    """Pay rules: set from a day on, never edited (a later day's rule replaces it)."""


def _amount(value: str | None, option: str, exponent: int) -> int:
    if value is None:
        return 0
    try:
        return parse_amount(value.strip(), exponent)
    except AmountError as exc:
        raise click.ClickException(f"{option}: {exc}") from None


def basis_points(value: str | None, option: str = "--commission") -> int:
    """A percentage as basis points, exactly: 12.5 -> 1250; more than 2 decimals refused."""
    if value is None:
        return 0
    raw = value.strip()
    if not _PERCENT.fullmatch(raw):
        raise click.ClickException(
            f"{option}: {value[:20]!r} is not a percentage with at most 2 decimals, such as 12.5"
        )
    points = int(Decimal(raw) * 100)
    if points > BASIS_POINTS:
        raise click.ClickException(f"{option}: {raw} is more than 100 %")
    return points


@rule_group.command("set")
@click.argument("chatter")
@click.option("--from", "valid_from", required=True, help="The first day it pays (YYYY-MM-DD).")
@click.option("--hourly", help="Pay per hour, in the agency currency (15.00).")
@click.option(
    "--basis",
    type=click.Choice(HOURS_BASES),
    default="online",
    show_default=True,
    help="Which time the hourly rate pays.",
)
@click.option("--commission", help="Percent of net sales (12.5), at most 2 decimals.")
@click.option("--after-fee", is_flag=True, help="Commission on sales after the platform's fee.")
@click.option("--bonus", help="A fixed bonus per period (100.00), pro rata by days.")
@click.option("--minimum", help="A minimum guarantee per period (400.00), pro rata by days.")
@click.option("--replace", is_flag=True, help="Correct the rule already starting that day.")
def set_rule(
    chatter: str,
    valid_from: str,
    hourly: str | None,
    basis: str,
    commission: str | None,
    after_fee: bool,
    bonus: str | None,
    minimum: str | None,
    replace: bool,
) -> None:
    """Pay CHATTER by this rule from --from on (audited)."""
    day = text.iso_day(valid_from.strip())
    if day is None:
        raise click.ClickException(f"--from: {valid_from[:20]!r} is not a day (YYYY-MM-DD)")
    with session_scope() as session:
        person = get_chatter(session, chatter)
        currency, exponent = currency_exponent(session)
        try:
            rule = rules.checked(
                {
                    "hourly_minor": _amount(hourly, "--hourly", exponent),
                    "hours_basis": basis,
                    "commission_basis_points": basis_points(commission),
                    "commission_after_fee": after_fee,
                    "bonus_minor": _amount(bonus, "--bonus", exponent),
                    "minimum_minor": _amount(minimum, "--minimum", exponent),
                }
            )
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        try:
            rules.set_rule(session, person, day, rule, actor=actor(), now=now(), replace=replace)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"{person.key} from {day}: {_terms(rule, currency, exponent)}")


def _terms(rule: rules.Rule | PayRule, currency: str, exponent: int) -> str:
    def money(minor: int) -> str:
        return f"{format_amount(minor, exponent)} {currency}"

    commission = f"{Decimal(rule.commission_basis_points) / 100:.2f} %"
    if rule.commission_after_fee:
        commission += " after the platform fee"
    return (
        f"{money(rule.hourly_minor)}/h {rule.hours_basis}, commission {commission}, "
        f"bonus {money(rule.bonus_minor)}, minimum {money(rule.minimum_minor)}"
    )


@rule_group.command("list")
@click.argument("chatter", required=False)
def list_rules(chatter: str | None) -> None:
    """Every pay rule (or CHATTER's), by chatter and first day."""
    with session_scope(write=False) as session:
        query = (
            select(Chatter.key, PayRule)
            .join(PayRule, PayRule.chatter_id == Chatter.id)
            .order_by(Chatter.key, PayRule.valid_from)
        )
        if chatter:
            query = query.where(Chatter.id == get_chatter(session, chatter).id)
        currency, exponent = currency_exponent(session)
        found = session.execute(query).all()
        for key, row in found:
            click.echo(
                f"{key}  from {row.valid_from}  {_terms(row, currency, exponent)}  "
                f"(set {shown_time(row.created_at)} by {row.created_by})"
            )
        if not found:
            click.echo("no pay rules")


COMMANDS = [payroll_group]
