"""``chatter-collector payroll``: rules set from the command line in major units and
percent (exactly), the period shown as a table, CSV and JSON with the hand-worked numbers,
approval (audited, in order), the pay calendar locked once a period is approved, and a
message with a non-zero exit on bad input, nothing written."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import select

from collector.db.models import AuditEntry
from collector.db.payroll_models import PayRule
from collector.http.database import db
from tests.collector.conftest import Agent, Collector
from tests.collector.payroll.test_pay import PARIS, WEEK, _online

DAY = WEEK.first.isoformat()


@pytest.fixture
def weekly(agency: Collector) -> Collector:
    for name, value in (
        ("agency_timezone", "Europe/Paris"),
        ("pay_period", "weekly"),
        ("retention_slice_days", "366"),
    ):
        agency.cli("settings", "set", name, value)
    return agency


def _rules(agency: Collector) -> list[PayRule]:
    with agency.app.app_context():
        found = list(db.session.scalars(select(PayRule).order_by(PayRule.id)))
        db.session.expunge_all()
        return found


def _audited(agency: Collector, action: str) -> list[AuditEntry]:
    with agency.app.app_context():
        found = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        db.session.expunge_all()
        return found


def test_rules_are_set_exactly_and_listed(weekly: Collector) -> None:
    out = weekly.cli(
        "payroll", "rule", "set", "alice", "--from", DAY, "--hourly", "15.00",
        "--minimum", "100", "--commission", "12.5", "--after-fee", "--bonus", "0.10",
        "--basis", "active",
    ).output  # fmt: skip
    assert out == (
        "alice from 2026-11-16: 15.00 USD/h active, commission 12.50 % after the platform "
        "fee, bonus 0.10 USD, minimum 100.00 USD\n"
    )
    (rule,) = _rules(weekly)
    assert (
        rule.hourly_minor,
        rule.hours_basis,
        rule.commission_basis_points,
        rule.commission_after_fee,
        rule.bonus_minor,
        rule.minimum_minor,
    ) == (1500, "active", 1250, True, 10, 10_000)
    assert rule.created_by.startswith("cli")
    weekly.cli("payroll", "rule", "set", "bob", "--from", "2026-11-19", "--commission", "0.01")
    listed = weekly.cli("payroll", "rule", "list").output.splitlines()
    assert [line.split()[:3] for line in listed] == [
        ["alice", "from", "2026-11-16"],
        ["bob", "from", "2026-11-19"],
    ]
    assert "commission 0.01 %" in listed[1]
    only = weekly.cli("payroll", "rule", "list", "bob").output.splitlines()
    assert len(only) == 1 and only[0].startswith("bob")
    subjects = [e.subject for e in _audited(weekly, "set_pay_rule")]
    assert subjects == ["chatter:alice", "chatter:bob"]
    # Another rule from the same day: refused, the first kept.
    again = weekly.cli("payroll", "rule", "set", "alice", "--from", DAY, "--hourly", "1", expect=1)
    assert "already has a pay rule from 2026-11-16" in again.output
    assert len(_rules(weekly)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hourly", "15.001"], "more than 2 decimal places"),
        (["--hourly", "abc"], "not a decimal amount"),
        (["--hourly", "-1.00"], "--hourly"),
        (["--hourly", "1e3"], "not a decimal amount"),
        (["--hourly", "99999999999999999999"], "too large"),
        (["--bonus", "10000000000.01"], "too large"),
        (["--minimum", "1,000"], "--minimum"),
        (["--commission", "12.345"], "at most 2 decimals"),
        (["--commission", "100.01"], "more than 100 %"),
        (["--commission", "-5"], "--commission"),
        (["--commission", "NaN"], "--commission"),
        (["--commission", "1e1"], "--commission"),
        (["--from", "2026-02-30"], "not a day"),
        (["--from", "soon"], "not a day"),
    ],
)
def test_a_bad_rule_is_refused_with_a_message(
    weekly: Collector, args: list[str], message: str
) -> None:
    base = {"--from": DAY}
    options = [*args]
    if "--from" not in options:
        options += ["--from", base["--from"]]
    result = weekly.cli("payroll", "rule", "set", "alice", *options, expect=None)
    assert result.exit_code != 0 and message in result.output, result.output
    assert _rules(weekly) == []


def test_a_rule_for_nobody_or_a_bad_basis_is_refused(weekly: Collector) -> None:
    result = weekly.cli("payroll", "rule", "set", "nobody", "--from", DAY, expect=1)
    assert "no chatter 'nobody'" in result.output
    result = weekly.cli(
        "payroll", "rule", "set", "alice", "--from", DAY, "--basis", "sleeping", expect=2
    )
    assert "sleeping" in result.output
    assert weekly.cli("payroll", "rule", "list", "nobody", expect=1).exit_code == 1
    assert weekly.cli("payroll", "rule", "list").output == "no pay rules\n"


def test_show_and_approve_a_week(weekly: Collector, agent: Agent) -> None:
    # test_pay.py's first case: 90 minutes online at 15.00/h, 100.00 guaranteed.
    weekly.cli("payroll", "rule", "set", "alice", "--from", DAY, "--hourly", "15.00",
               "--minimum", "100.00")  # fmt: skip
    _online(agent, dt.datetime(2026, 11, 17, 10, 0, tzinfo=PARIS), 90)

    body = json.loads(weekly.cli("payroll", "show", "--period", DAY, "--format", "json").output)
    (alice,) = body["chatters"]
    assert (alice["key"], alice["online_seconds"], alice["hourly_pay"]) == ("alice", 5400, "22.50")
    assert (alice["minimum_topup"], alice["total"]) == ("77.50", "100.00")
    assert body["without_pay_rule"] == [{"key": "bob", "name": "Bob"}]

    table = weekly.cli("payroll", "show", "--period", WEEK.label()).output.splitlines()
    assert table[0] == "Pay period: 2026-11-16 to 2026-11-22"
    row = next(line for line in table if line.startswith("alice"))
    assert row.split()[:5] == ["alice", "Alice", "1:30:00", "0:45:00", "0:00:00"]
    assert row.split()[-1] == "100.00"
    assert table[-1] == "Without a pay rule (paid nothing): bob"

    text = weekly.cli("payroll", "show", "--period", DAY, "--format", "csv", "--view", "lines")
    lines = list(csv.DictReader(io.StringIO(text.output)))
    assert [(r["Line"], r["Amount"]) for r in lines] == [
        ("Hourly pay", "22.50"),
        ("Commission", "0.00"),
        ("Minimum guarantee top-up", "77.50"),
    ]

    out = weekly.cli("payroll", "approve", "--period", DAY, "--by", "Jane Boss").output
    assert out == (
        "2026-11-16..2026-11-22 approved by Jane Boss and locked: 1 chatter, 100.00 USD in all\n"
    )
    locked = json.loads(weekly.cli("payroll", "show", "--period", DAY, "--format", "json").output)
    assert locked["period"]["status"] == "locked"
    assert locked["period"]["approved_by"] == "Jane Boss"
    assert locked["chatters"] == body["chatters"]
    (entry,) = _audited(weekly, "approve_pay_period")
    assert (entry.actor, entry.subject, entry.detail["total_minor"]) == (
        "Jane Boss",
        "pay_period:2026-11-16..2026-11-22",
        10_000,
    )

    again = weekly.cli("payroll", "approve", "--period", DAY, expect=1)
    assert "was approved on" in again.output and "by Jane Boss and is locked" in again.output
    before = weekly.cli("payroll", "approve", "--period", "2026-11-09", expect=1)
    assert "before the first approved period" in before.output
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert "not over yet" in weekly.cli("payroll", "approve", "--period", today, expect=1).output
    assert len(_audited(weekly, "approve_pay_period")) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["payroll", "show", "--period", "yesterday"],
        ["payroll", "show", "--period", "2026-11-16..2026-11-20"],
        ["payroll", "show", "--period", "2026-11-16\x00"],
        ["payroll", "show", "--format", "pdf"],
        ["payroll", "approve"],
        ["payroll", "approve", "--period", "2026-13-01"],
        ["payroll", "approve", "--period", "0001-01-01"],
        ["payroll", "show", "--period", "9999-12-31"],
        ["payroll", "approve", "--period", DAY, "--by", ""],
        ["payroll", "approve", "--period", DAY, "--by", "x" * 300],
        ["payroll", "approve", "--period", DAY, "--by", "a\x00b"],
    ],
)
def test_bad_payroll_commands_exit_non_zero(weekly: Collector, args: list[str]) -> None:
    result = weekly.cli(*args, expect=None)
    assert result.exit_code != 0 and result.output.strip(), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert _audited(weekly, "approve_pay_period") == []


def test_the_pay_calendar_is_locked_once_a_period_is_approved(weekly: Collector) -> None:
    # Before any approval the calendar may change (and change back).
    weekly.cli("settings", "set", "pay_period_anchor", "2024-01-08")
    weekly.cli("settings", "set", "pay_period_anchor", "2024-01-01")
    weekly.cli("payroll", "approve", "--period", DAY)
    for name, value in (("pay_period", "monthly"), ("pay_period_anchor", "2024-01-03")):
        result = weekly.cli("settings", "set", name, value, expect=1)
        assert f"{name} cannot change once a pay period has been approved" in result.output
    result = weekly.cli("settings", "unset", "pay_period", expect=1)
    assert "cannot change once a pay period has been approved" in result.output
    # The same value again, and other settings, are still fine.
    weekly.cli("settings", "set", "pay_period", "weekly")
    weekly.cli("settings", "set", "pay_period_anchor", "2024-01-01")
    weekly.cli("settings", "unset", "pay_period_anchor")  # the default is the same day
    weekly.cli("settings", "set", "platform_fee_basis_points", "1500")
    shown = weekly.cli("settings", "list").output
    assert "pay_period = weekly" in shown
