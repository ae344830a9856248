"""Pay rules on both databases: refused when wrong, never edited, and which rule pays which
days of a period (a rate change mid-period splits it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from collector.db.models import AuditEntry, Chatter
from collector.errors import DomainError
from collector.payroll import rules
from collector.payroll.periods import PaySchedule
from tests.collector.conftest import Collector

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"hourly_minor": -1}, "hourly_minor must be a whole number"),
        ({"hourly_minor": True}, "hourly_minor must be a whole number"),
        ({"hourly_minor": 1.5}, "hourly_minor must be a whole number"),
        ({"bonus_minor": 10**12 + 1}, "bonus_minor must be a whole number"),
        ({"minimum_minor": 10**30}, "minimum_minor must be a whole number"),
        ({"commission_basis_points": 10_001}, "from 0 to 10,000"),
        ({"hours_basis": "clocked"}, "hours_basis must be one of online, active, scheduled"),
        ({"commission_after_fee": "yes"}, "commission_after_fee must be true or false"),
        ({"rate": 5}, "unknown field: rate"),
    ],
)
def test_wrong_terms_are_refused_with_a_message(values: dict[str, Any], message: str) -> None:
    with pytest.raises(DomainError, match=message):
        rules.checked(values)


def test_rules_split_a_period_and_keep_their_history(agency: Collector) -> None:
    engine = create_engine(agency.database_url)
    try:
        with Session(engine) as session:
            alice = session.scalars(select(Chatter).where(Chatter.key == "alice")).one()
            bob = session.scalars(select(Chatter).where(Chatter.key == "bob")).one()
            first = rules.checked({"hourly_minor": 1500, "commission_basis_points": 1000})
            raised = rules.checked(
                {"hourly_minor": 1800, "hours_basis": "active", "minimum_minor": 40_000}
            )
            rules.set_rule(session, alice, dt.date(2026, 11, 1), first, actor="boss", now=NOW)
            rules.set_rule(session, alice, dt.date(2026, 11, 20), raised, actor="boss", now=NOW)
            with pytest.raises(DomainError, match="already has a pay rule from 2026-11-20"):
                rules.set_rule(session, alice, dt.date(2026, 11, 20), first, actor="x", now=NOW)
            session.commit()

            period = PaySchedule("semimonthly").containing(dt.date(2026, 11, 25))
            paid = rules.in_force(session, [alice.id, bob.id], period)
            assert paid == {
                alice.id: [
                    (dt.date(2026, 11, 16), dt.date(2026, 11, 19), first),
                    (dt.date(2026, 11, 20), dt.date(2026, 11, 30), raised),
                ]
            }  # bob has no rule: paid by none
            before = PaySchedule("monthly").containing(dt.date(2026, 10, 5))
            assert rules.in_force(session, [alice.id], before) == {}
            entries = session.scalars(
                select(AuditEntry).where(AuditEntry.action == "set_pay_rule")
            ).all()
            assert [(e.actor, e.subject, e.detail["valid_from"]) for e in entries] == [
                ("boss", "chatter:alice", "2026-11-01"),
                ("boss", "chatter:alice", "2026-11-20"),
            ]
            assert entries[1].detail["hourly_minor"] == 1800
    finally:
        engine.dispose()
