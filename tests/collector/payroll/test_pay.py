"""Payroll worked by hand, on both databases: METRICS.md "Payroll"'s examples.

Hourly pay, commission after refunds and the platform's fee, the minimum guarantee, a
rate change mid-period, DST inside a period, and a refund that arrives after approval
becoming an adjustment in the next open period while the locked period stays as paid.
Events and slices arrive through the real ingest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.agency.settings import set_value
from collector.db.models import AuditEntry, Chatter
from collector.errors import DomainError
from collector.http.database import db
from collector.payroll import ledger, rules, sources
from collector.payroll.lines import Line, rounded
from collector.payroll.periods import PayPeriod
from collector.shifts import manage
from shared.protocol import format_time
from tests.collector.conftest import Agent, Collector

# Weekly periods, Monday to Sunday, in Paris: 16-22 and 23-29 November 2026.
WEEK = PayPeriod(dt.date(2026, 11, 16), dt.date(2026, 11, 22))
NEXT = PayPeriod(dt.date(2026, 11, 23), dt.date(2026, 11, 29))
AFTER = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
PARIS = dt.timezone(dt.timedelta(hours=1))  # CET: no DST change in November


@pytest.fixture
def session(agency: Collector) -> Iterator[Session]:
    with agency.app.app_context():
        for name, value in (
            ("agency_timezone", "Europe/Paris"),
            ("pay_period", "weekly"),
            ("retention_slice_days", "366"),
        ):
            set_value(db.session, name, value)
        db.session.commit()
        yield db.session


def _chatter(session: Session, key: str) -> Chatter:
    return session.scalars(select(Chatter).where(Chatter.key == key)).one()


def _rule(session: Session, key: str, day: dt.date, **terms: Any) -> None:
    rules.set_rule(
        session, _chatter(session, key), day, rules.checked(terms), actor="boss", now=AFTER
    )
    session.commit()


def _online(agent: Agent, local: dt.datetime, minutes: int) -> None:
    """``minutes`` one-minute slices from ``local`` (Paris), each 30 s active."""
    reply = agent.send(agent.slices(minutes, start=local.astimezone(dt.UTC)))
    assert reply.status_code == 200, reply.text


def _events(agency: Collector, token: str, *events: dict[str, Any]) -> None:
    reply = agency.post_events(list(events), token)
    assert reply.status_code in (200, 201, 207), reply.text
    assert all(r.get("status") != "rejected" for r in reply.json().get("results", [])), reply.text


def _at(day: int, hour: int, minute: int = 0) -> str:
    return format_time(dt.datetime(2026, 11, day, hour, minute, tzinfo=PARIS))


def _lines(session: Session, period: PayPeriod, key: str) -> dict[tuple[str, str], Line]:
    cal = ledger.calendar(session)
    chatter = _chatter(session, key)
    return {
        (line.kind, line.origin.first.isoformat()): line
        for line in ledger.lines_of(session, cal, period)
        if line.chatter_id == chatter.id
    }


def test_rounding_is_half_away_from_zero() -> None:
    from fractions import Fraction

    assert [rounded(Fraction(n, 2)) for n in (5, -5, 3, -3, 4)] == [3, -3, 2, -2, 2]
    assert rounded(Fraction(2249, 1000)) == 2 and rounded(Fraction(-2251, 1000)) == -2


def test_hourly_pay_on_online_hours_and_the_minimum_guarantee(
    session: Session, agent: Agent
) -> None:
    # Alice: 15.00 an hour online, at least 100.00 a week.  90 minutes online on Tuesday
    # earn 22.50; the guarantee tops that up by 77.50 to 100.00.
    _rule(session, "alice", WEEK.first, hourly_minor=1500, minimum_minor=10_000)
    _online(agent, dt.datetime(2026, 11, 17, 10, 0, tzinfo=PARIS), 90)
    found = _lines(session, WEEK, "alice")
    hours = found[("hours", "2026-11-16")]
    assert (hours.online_seconds, hours.active_seconds, hours.seconds) == (5400, 2700, 5400)
    assert hours.amount_minor == 2250
    assert found[("minimum", "2026-11-16")].amount_minor == 7750
    assert found[("commission", "2026-11-16")].amount_minor == 0
    assert sum(line.amount_minor for line in found.values()) == 10_000


def test_commission_after_refunds_and_the_platform_fee(
    session: Session, agency: Collector, integration: str
) -> None:
    # Bob: 20 % of his net sales after the platform's 20 % fee.  A 50.00 tip naming him and
    # a 30.00 PPV he sent, less 10.00 of the tip refunded: net 70.00, 56.00 after the fee,
    # commission 11.20.  Alice, 20 % before the fee, sold nothing: 0.00.
    _rule(session, "bob", WEEK.first, commission_basis_points=2000, commission_after_fee=True)
    _rule(session, "alice", WEEK.first, commission_basis_points=2000)
    _events(
        agency,
        integration,
        {"id": "t1", "type": "tip", "occurred_at": _at(17, 12), "creator": "luna",
         "fan": "f1", "chatter": "bob", "amount": "50.00"},
        {"id": "m1", "type": "message_sent", "occurred_at": _at(17, 13), "creator": "nova",
         "fan": "f2", "chatter": "bob", "kind": "direct", "ppv": {"id": "p1", "price": "30.00"}},
        {"id": "b1", "type": "ppv_purchase", "occurred_at": _at(17, 14), "creator": "nova",
         "fan": "f2", "ppv_id": "p1", "amount": "30.00"},
        {"id": "r1", "type": "refund", "occurred_at": _at(18, 9), "creator": "luna",
         "refers_to": "t1", "amount": "10.00"},
    )  # fmt: skip
    bob = _lines(session, WEEK, "bob")[("commission", "2026-11-16")]
    assert (bob.ppv_minor, bob.tips_minor, bob.refunds_minor) == (3000, 4000, 1000)
    assert bob.net_minor == 7000 and bob.basis == "after_fee" and bob.amount_minor == 1120
    # Without the fee: 20 % of 70.00.
    set_value(session, "platform_fee_basis_points", "0")
    session.commit()
    assert _lines(session, WEEK, "bob")[("commission", "2026-11-16")].amount_minor == 1400
    assert _lines(session, WEEK, "alice")[("commission", "2026-11-16")].amount_minor == 0


def test_a_rate_change_mid_period_pays_each_part_at_its_rate(
    session: Session, agent: Agent
) -> None:
    # 15.00/h from Monday, 18.00/h from Thursday the 19th: an hour online on Tuesday and
    # one on Friday are 15.00 + 18.00; a bonus of 70.00 a week is paid 3/7 and 4/7.
    _rule(session, "alice", WEEK.first, hourly_minor=1500, bonus_minor=7000)
    _rule(session, "alice", dt.date(2026, 11, 19), hourly_minor=1800, bonus_minor=7000)
    _online(agent, dt.datetime(2026, 11, 17, 10, 0, tzinfo=PARIS), 60)
    _online(agent, dt.datetime(2026, 11, 20, 23, 30, tzinfo=PARIS), 60)  # ends Saturday
    found = _lines(session, WEEK, "alice")
    cal = ledger.calendar(session)
    parts = [
        (line.kind, line.part_first.day, line.part_last.day, line.amount_minor)
        for line in ledger.lines_of(session, cal, WEEK)
        if line.chatter_id == _chatter(session, "alice").id
    ]
    assert parts == [
        ("hours", 16, 18, 1500),
        ("commission", 16, 18, 0),
        ("bonus", 16, 18, 3000),
        ("hours", 19, 22, 1800),  # the slice of 23:30 Friday belongs to Friday
        ("commission", 19, 22, 0),
        ("bonus", 19, 22, 4000),
    ]
    assert found[("hours", "2026-11-16")].rate == 1800  # the key keeps the last part


def test_dst_inside_a_monthly_period(session: Session) -> None:
    # October 2026 in Paris has 745 hours.  Alice is paid 10.00 per scheduled hour from
    # the 17th, with a 310.00 monthly bonus: 15 of 31 days give 150.00.  Her Saturday
    # night shift 22:00-06:00 on the 24th lasts 9 hours (clocks go back): 90.00; the same
    # shift on the 17th is 8 hours: 80.00.
    set_value(session, "pay_period", "monthly")
    session.commit()
    _rule(session, "alice", dt.date(2026, 10, 17), hourly_minor=1000, hours_basis="scheduled",
          bonus_minor=31_000)  # fmt: skip
    for day in ("2026-10-17", "2026-10-24"):
        manage.add_shift(
            session,
            manage.shift_fields(
                session,
                {"chatter": "alice", "creator": "luna", "start": "22:00", "end": "06:00",
                 "zone": "Europe/Paris", "first_day": day},
                default_zone="UTC",
            ),
            "test",
            AFTER,
        )  # fmt: skip
    session.commit()
    october = PayPeriod(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    found = _lines(session, october, "alice")
    hours = found[("hours", "2026-10-01")]
    assert hours.part_first == dt.date(2026, 10, 17) and hours.scheduled_seconds == 17 * 3600
    assert hours.amount_minor == 17_000
    assert found[("bonus", "2026-10-01")].amount_minor == 15_000


def test_a_late_refund_after_approval_is_an_adjustment_in_the_next_period(
    session: Session, agency: Collector, integration: str
) -> None:
    _rule(session, "bob", WEEK.first, commission_basis_points=1000, minimum_minor=500)
    sale = {"id": "t1", "type": "tip", "occurred_at": _at(17, 12), "creator": "luna",
            "fan": "f1", "chatter": "bob", "amount": "80.00"}  # fmt: skip
    _events(agency, integration, sale)
    cal = ledger.calendar(session)
    with pytest.raises(DomainError, match="ended more than a year ago"):
        ledger.approve(session, cal, PayPeriod(dt.date(2006, 11, 13), dt.date(2006, 11, 19)),
                       actor="boss", now=AFTER)  # fmt: skip
    session.rollback()
    with pytest.raises(DomainError, match="not over yet"):
        ledger.approve(
            session, cal, WEEK, actor="boss", now=dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)
        )
    # Approved now: what the collector receives from here on arrived after the approval.
    approved = ledger.approve(session, cal, WEEK, actor="boss", now=dt.datetime.now(dt.UTC))
    session.commit()
    paid = _lines(session, WEEK, "bob")
    assert paid[("commission", "2026-11-16")].amount_minor == 800
    with pytest.raises(
        DomainError, match=r"was approved on 20\d\d-\d\d-\d\d \d\d:\d\d UTC by boss"
    ):
        ledger.approve(session, cal, WEEK, actor="boss", now=AFTER)
    session.rollback()
    # In order from the first approved on: not a week before it, nor one after the next.
    later = dt.datetime(2026, 12, 8, tzinfo=dt.UTC)
    with pytest.raises(DomainError, match="before the first approved period"):
        ledger.approve(session, cal, PayPeriod(dt.date(2026, 11, 9), dt.date(2026, 11, 15)),
                       actor="boss", now=later)  # fmt: skip
    session.rollback()
    with pytest.raises(DomainError, match="approve 2026-11-23..2026-11-29 first"):
        ledger.approve(session, cal, PayPeriod(dt.date(2026, 11, 30), dt.date(2026, 12, 6)),
                       actor="boss", now=later)  # fmt: skip
    session.rollback()

    # The platform reports a refund of 30.00, dated inside the locked week, after approval.
    refund = {"id": "r1", "type": "refund", "occurred_at": _at(20, 9), "creator": "luna",
              "refers_to": "t1", "amount": "30.00"}  # fmt: skip
    _events(agency, integration, refund)
    assert _lines(session, WEEK, "bob") == paid  # locked: as paid
    found = _lines(session, NEXT, "bob")
    adjustment = found[("commission", "2026-11-16")]
    assert adjustment.origin == WEEK
    assert (adjustment.tips_minor, adjustment.refunds_minor) == (-3000, 3000)
    assert adjustment.amount_minor == -300
    # Traceable: the adjustment stands on the refund that arrived after the approval.
    since, until = sources.changed_between(session, None)
    assert (since, until) == (approved.approved_at, None)
    under = sources.sources(session, adjustment, "Europe/Paris", adjustment=True, since=since)
    assert [(s["event_id"], s["type"], s["amount_minor"]) for s in under["sales"]] == [
        ("r1", "refund", 3000)
    ]
    mine = sources.sources(session, adjustment, "Europe/Paris", adjustment=True, since=since,
                           for_chatter=True)  # fmt: skip
    assert all("actor" not in r and "reason" not in r for r in mine["reassignments"])
    paid_for = sources.sources(session, paid[("commission", "2026-11-16")], "Europe/Paris",
                               adjustment=False)  # fmt: skip
    assert [s["event_id"] for s in paid_for["sales"]] == ["t1", "r1"]
    # The next week's own lines: nothing sold, the 5.00 guarantee topped up in full.
    assert found[("minimum", "2026-11-23")].amount_minor == 500

    ledger.approve(
        session, cal, NEXT, actor="boss", now=dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC)
    )
    session.commit()
    # Paid once: the week after carries no adjustment any more.
    third = PayPeriod(dt.date(2026, 11, 30), dt.date(2026, 12, 6))
    assert [k for k in _lines(session, third, "bob") if k[1] != "2026-11-30"] == []
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "approve_pay_period")
    ).all()
    assert [(e.subject, e.detail["adjustments"]) for e in entries] == [
        ("pay_period:2026-11-16..2026-11-22", 0),
        ("pay_period:2026-11-23..2026-11-29", 1),
    ]


def test_erasing_a_chatter_takes_back_none_of_their_locked_pay(
    session: Session, agent: Agent
) -> None:
    from collector.retention import privacy

    _rule(session, "alice", WEEK.first, hourly_minor=1500)
    _online(agent, dt.datetime(2026, 11, 17, 10, 0, tzinfo=PARIS), 60)
    cal = ledger.calendar(session)
    ledger.approve(session, cal, WEEK, actor="boss", now=dt.datetime.now(dt.UTC))
    session.commit()
    alice = _chatter(session, "alice")
    privacy.erase(session, alice, "boss", dt.datetime.now(dt.UTC))
    session.commit()
    paid = [x for x in ledger.lines_of(session, cal, WEEK) if x.chatter_id == alice.id]
    assert [(x.kind, x.amount_minor) for x in paid] == [("hours", 1500), ("commission", 0)]
    # Her slices and time are gone; the next week takes nothing back for the one paid.
    later = [x for x in ledger.lines_of(session, cal, NEXT) if x.chatter_id == alice.id]
    assert [x for x in later if x.origin == WEEK] == []


def test_once_pay_is_stored_its_money_and_calendar_stay(session: Session, agent: Agent) -> None:
    # A pay rule holds minor units of the currency: it can no longer change.
    _rule(session, "alice", WEEK.first, hourly_minor=1500)
    with pytest.raises(DomainError, match="currency cannot change"):
        set_value(session, "currency", "BHD")
    session.rollback()
    # A stale calendar (weekly) approving after the setting changed to monthly is refused.
    stale = ledger.calendar(session)
    set_value(session, "pay_period", "monthly")
    session.commit()
    with pytest.raises(DomainError, match="not a monthly pay period") as refused:
        ledger.approve(session, stale, WEEK, actor="boss", now=dt.datetime.now(dt.UTC))
    assert refused.value.code == "period_not_in_calendar"
    session.rollback()
    set_value(session, "pay_period", "weekly")
    session.commit()
    _online(agent, dt.datetime(2026, 11, 22, 23, 30, tzinfo=PARIS), 60)
    cal = ledger.calendar(session)
    ledger.approve(session, cal, WEEK, actor="boss", now=dt.datetime.now(dt.UTC))
    session.commit()
    # The zone cuts the days into instants: another zone would move Sunday night's hour.
    for name, value in (("agency_timezone", "Asia/Kathmandu"), ("pay_period", "monthly"),
                        ("pay_period_anchor", "2024-01-02")):  # fmt: skip
        with pytest.raises(DomainError, match=f"{name} cannot change once a pay period"):
            set_value(session, name, value)
        session.rollback()
    set_value(session, "agency_timezone", "Europe/Paris")  # the same value is no change
    session.commit()
    assert ledger.adjustments(session, ledger.calendar(session)) == []


@pytest.mark.parametrize(
    "text", ["20261116", "2026-W47-1", "20261116zz", "2026-11-16T00", "٢٠٢٦-١١-١٦"]
)
def test_a_day_is_written_yyyy_mm_dd_only(session: Session, text: str) -> None:
    from collector.payroll.periods import PayPeriodError

    with pytest.raises(PayPeriodError, match="first..last is needed"):
        ledger.calendar(session).schedule.parse(text)
    with pytest.raises(DomainError, match="is not a date"):
        set_value(session, "pay_period_anchor", text)
    session.rollback()


def test_a_rule_from_a_day_no_report_covers_is_refused(session: Session) -> None:
    for day in (dt.date(1, 1, 1), dt.date(9999, 12, 31)):
        with pytest.raises(DomainError, match="valid_from: days from 1900-01-01 to 9000-12-31"):
            _rule(session, "alice", day, hourly_minor=1)
        session.rollback()


def test_a_wrong_rule_is_replaced_and_a_period_before_payroll_is_not_paid(
    session: Session, agent: Agent
) -> None:
    _rule(session, "alice", NEXT.first, hourly_minor=1500)
    _online(agent, dt.datetime(2026, 11, 24, 10, 0, tzinfo=PARIS), 60)
    cal = ledger.calendar(session)
    ledger.approve(session, cal, NEXT, actor="boss", now=dt.datetime.now(dt.UTC))
    session.commit()
    # Typed 15.00 for 18.00: replaced from the same day, the old terms in the audit log,
    # the difference paid as an adjustment (the locked week stays as paid).
    alice = _chatter(session, "alice")
    with pytest.raises(DomainError, match="already has a pay rule from 2026-11-23: to correct"):
        rules.set_rule(session, alice, NEXT.first, rules.checked({"hourly_minor": 1800}),
                       actor="boss", now=AFTER)  # fmt: skip
    session.rollback()
    rules.set_rule(session, alice, NEXT.first, rules.checked({"hourly_minor": 1800}),
                   actor="boss", now=AFTER, replace=True)  # fmt: skip
    session.commit()
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "replace_pay_rule")).one()
    assert (entry.detail["hourly_minor"], entry.detail["before"]["hourly_minor"]) == (1800, 1500)
    third = PayPeriod(dt.date(2026, 11, 30), dt.date(2026, 12, 6))
    moved = [x for x in ledger.lines_of(session, cal, third) if x.origin == NEXT]
    assert [(x.kind, x.amount_minor) for x in moved] == [("hours", 300)]
    # The week before the first approved one is not handled here, and says so.
    refused = ledger.refusal(session, cal, WEEK, dt.datetime.now(dt.UTC))
    assert refused is not None and refused.code == "period_before_lock"
    assert "before the first approved period" in refused.message
    assert ledger.first_locked(session) == NEXT.first


def test_a_shift_that_moves_a_sale_after_approval_is_an_adjustment_with_its_cause(
    session: Session, agency: Collector, integration: str
) -> None:
    from collector.agency import credit

    set_value(session, "tip_credit", "shift")
    _rule(session, "alice", WEEK.first, commission_basis_points=1000)
    _rule(session, "bob", WEEK.first, commission_basis_points=1000)
    tip = {"id": "t1", "type": "tip", "occurred_at": _at(17, 12), "creator": "luna",
           "fan": "f1", "chatter": "alice", "amount": "80.00"}  # fmt: skip
    _events(agency, integration, tip)
    cal = ledger.calendar(session)
    ledger.approve(session, cal, WEEK, actor="boss", now=dt.datetime.now(dt.UTC))
    session.commit()
    # Bob held Luna's shift when the tip came: by shift credit it is his.
    data = {"chatter": "bob", "creator": "luna", "zone": "Europe/Paris", "start": "11:00",
            "end": "13:00", "first_day": "2026-11-17"}  # fmt: skip
    fields = manage.shift_fields(session, data, default_zone="UTC")
    credit.add_shift(session, fields, "boss", dt.datetime.now(dt.UTC))
    session.commit()
    moved = {
        (x.chatter_id, x.kind): x for x in ledger.lines_of(session, cal, NEXT) if x.origin == WEEK
    }
    alice, bob = _chatter(session, "alice").id, _chatter(session, "bob").id
    assert moved[(alice, "commission")].amount_minor == -800
    assert moved[(bob, "commission")].amount_minor == 800
    since, _ = sources.changed_between(session, None)
    why = sources.sources(session, moved[(alice, "commission")], "Europe/Paris", adjustment=True,
                          since=since, for_chatter=True)  # fmt: skip
    assert [(c["action"], "by" in c) for c in why["shifts_changed"]] == [("add shift", False)]
