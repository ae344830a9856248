"""`db upgrade` recomputes what a new rule changes in stored facts (both databases)."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, update

from collector.db import migrate
from collector.db.conversation_models import (
    ConversationDay,
    ConversationQuarter,
    ConversationRequest,
)
from collector.db.engine import configure_engine
from collector.maintenance.upgrade import CONVERSATION_DURATION, FAN_DAYS
from tests.collector.conftest import Collector
from tests.collector.conversations.fixtures import SCENARIO
from tests.collector.stats import test_fans

DAY = {"start": "2026-11-20", "end": "2026-11-20", "tz": "UTC"}


def _average(agency: Collector) -> float:
    reply = agency.http.get(
        "/api/v1/stats/conversations",
        params=DAY,
        headers={"Authorization": f"Bearer {agency.token('manager')}"},
    )
    assert reply.status_code == 200, reply.text
    average: float = reply.json()["summary"]["avg_duration_seconds"]
    return average


def test_upgrade_recomputes_conversation_durations_from_the_first_call_or_message(
    agency: Collector, integration: str, database_url: str
) -> None:
    assert agency.post_events(SCENARIO, integration).status_code == 200
    assert _average(agency) == 300.0  # 180 + 120 + 600 s over 3 (METRICS.md)
    engine = create_engine(database_url)
    configure_engine(engine)
    with engine.begin() as conn:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
        # What 0008's code stored: durations from the request event (300, 180 and 660 s).
        old = {"r1": 300, "r2": 180, "r4": 660}
        for request_id, seconds in old.items():
            conn.execute(
                update(ConversationRequest)
                .where(ConversationRequest.request_id == request_id)
                .values(duration_seconds=seconds)
            )
        for rollup in (ConversationQuarter, ConversationDay):
            conn.execute(
                update(rollup)
                .where(rollup.duration_total > 0)
                .values(duration_total=rollup.duration_total + 60)
            )
    engine.dispose()
    assert _average(agency) != 300.0  # the old figure is what the page would show
    out = agency.cli("db", "upgrade").output
    assert f"revision {migrate.head()}" in out
    assert _average(agency) == 300.0


def test_upgrade_fills_the_fan_rollup_from_the_events(
    agency: Collector, integration: str, database_url: str
) -> None:
    events = [*test_fans.SCENARIO, test_fans.MASS]
    assert agency.post_events(events, integration).status_code == 200
    manager = agency.token("manager")

    def fans() -> list[object]:
        # In UTC the range is whole days (the rollup alone); in Paris it has edges too.
        return [
            test_fans.get(agency, manager, "alice/fans", tz=tz).json()["fans"]
            for tz in ("UTC", "Europe/Paris")
        ]

    before = fans()
    assert [r["fan"] for r in before[0]] == ["f1", "f3"]  # the worked example
    engine = create_engine(database_url)
    configure_engine(engine)
    with engine.begin() as conn:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")  # the table goes; the events stay
    engine.dispose()
    out = agency.cli("db", "upgrade").output
    assert f"revision {migrate.head()}" in out and FAN_DAYS <= migrate.head()
    assert fans() == before


def test_revision_ids_sort_in_chain_order() -> None:
    # upgrade.py compares revision ids as strings to know what an old database missed.
    chain = [
        r.revision for r in ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions()
    ]
    assert chain[::-1] == sorted(chain) and CONVERSATION_DURATION in chain
