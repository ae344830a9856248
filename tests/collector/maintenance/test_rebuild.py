"""A rebuild after incremental ingest changes nothing, on both databases.

Hypothesis draws chatter events (messages, PPVs, purchases, tips, refunds), manager
reassignments, heartbeat slices of several devices and conversation-commerce events
(requests, messages, calls, orders, widget traffic, surveys), sends them through the
real HTTP ingest in a random order and random batches, then snapshots every table,
runs ``rebuild_everything`` and compares every row of every table.  It does so twice:
on top of what ingest derived, and from raw rows alone (every derived fact blanked and
every rollup emptied, as a database upgraded from 0001 or the demo's bulk load holds).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine, select, text

from collector.db.base import Base
from collector.db.engine import configure_engine
from collector.maintenance.rebuild import rebuild_everything
from tests.collector.conftest import Agent, Collector
from tests.collector.conversations import test_property as conversations
from tests.collector.stats import test_property as stats

# Written by the rebuild itself (its report), not derived from the raw rows.
NOT_COMPARED = {"audit_log", "attendance_versions"}  # random, new at every change
# Referenced by other rows, so a rebuild must keep them; elsewhere a rollup row's id is
# only a surrogate that a rebuild may renumber.
KEEP_IDS = {"conversation_visitors"}
# What a rebuild recomputes from raw rows (conversation_visitors only gains rows).
DERIVED_TABLES = (
    "sales_quarters",
    "sales_days",
    "fan_days",
    "revenue_quarters",
    "activity_quarters",
    "activity_days",
    "conversation_requests",
    "conversation_orders",
    "conversation_quarters",
    "conversation_quarter_totals",
    "conversation_days",
    "conversation_visitor_quarters",
    "conversation_visitor_days",
    "conversation_visitor_hours",
    "conversation_feedback",
    "conversation_url_quarters",
    "conversation_url_days",
    "attendance_minutes",
    "attendance_hours",
    "attendance_spans",
)
BLANK_FACTS = text(
    "UPDATE events SET credit_chatter_id = NULL, credit_type = NULL, bought = false, "
    "response_seconds = NULL"
)


@dataclass(frozen=True)
class Drawn:
    batches: list[list[dict[str, Any]]]
    slice_batches: list[list[tuple[int, dict[str, Any]]]]
    reassigned: list[tuple[str, str | None]]


@st.composite
def drawn(draw: st.DrawFn) -> Drawn:
    chat = draw(stats.drawn(stats.SLICE_BASE))
    commerce = [{**e, "id": f"c-{e['id']}"} for e in draw(conversations.events())]
    everything = chat.events + commerce
    shuffled = draw(st.permutations(everything))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(everything) - 1)), max_size=5)))
    bounds = [0, *(c for c in cuts if c < len(everything)), len(everything)]
    batches = [shuffled[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    return Drawn(batches, chat.slice_batches, chat.reassigned)


def snapshot(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (sorted; surrogate ids of recomputed rows left out)."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in NOT_COMPARED:
            continue
        columns = [c for c in table.c if c.name != "id" or table.name in KEEP_IDS]
        rows = connection.execute(select(*columns)).all()
        tables[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return tables


def _reset(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in (
            *stats.TABLES,
            *conversations.TABLES,
            "attendance_spans",
            "attendance_hours",
            "attendance_minutes",
        ):
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


def _ingest(agency: Collector, integration: str, token: str, agents: list[Agent], d: Drawn) -> None:
    _reset(agency.database_url)
    arrived: set[str] = set()
    pending = list(d.reassigned)
    for batch in d.batches:
        reply = agency.post_events(batch, integration)
        assert reply.status_code == 200, reply.text
        arrived |= {e["id"] for e in batch}
        while pending and pending[0][0] in arrived:
            stats._reassign(agency, token, *pending.pop(0))
    for sale, chatter in pending:
        stats._reassign(agency, token, sale, chatter)
    for batch in d.slice_batches:
        for device, agent in enumerate(agents):
            mine = [dict(s) for i, s in batch if i == device]
            for s in mine:
                agent.seq += 1
                s["seq"] = agent.seq
            if mine:
                reply = agent.send(mine)
                assert reply.status_code == 200, reply.text


def _check_rebuild_changes_nothing(url: str) -> None:
    engine = create_engine(url)
    configure_engine(engine)
    with engine.connect() as conn:
        before = snapshot(conn)
    for blank in (False, True):
        with engine.begin() as conn:
            if blank:
                conn.execute(BLANK_FACTS)
                for table in DERIVED_TABLES:
                    conn.execute(text(f"DELETE FROM {table}"))
            repaired = rebuild_everything(conn)
        assert repaired.dropped == 0  # ingest never stores overlapping slices
        with engine.connect() as conn:
            after = snapshot(conn)
            entry = conn.execute(
                text("SELECT actor, action FROM audit_log ORDER BY id DESC LIMIT 1")
            ).one()
            assert tuple(entry) == ("system", "rebuild_stats")  # every run is audited
        assert before.keys() == after.keys()
        for name in before:
            assert after[name] == before[name], (name, "from raw rows" if blank else "on top")
    engine.dispose()


@pytest.mark.parametrize("examples", [30])
def test_rebuild_after_ingest_changes_nothing(
    agency: Collector, integration: str, examples: int, database_url: str
) -> None:
    token = agency.token("manager")
    agents = [agency.enroll("alice"), agency.enroll("alice"), agency.enroll("bob")]
    count = examples if database_url.startswith("sqlite") else examples // 2

    @settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(drawn())
    def check(d: Drawn) -> None:
        _ingest(agency, integration, token, agents, d)
        _check_rebuild_changes_nothing(agency.database_url)

    check()


def test_rebuild_keeps_the_reply_waits_of_bought_ppv_messages(
    agency: Collector, integration: str
) -> None:
    """The fixed case of the issue: a fan waits, a PPV reply answers, the fan buys it."""
    at = dt.datetime(2026, 10, 24, 9, 0, tzinfo=dt.UTC)

    def z(minutes: int) -> str:
        return (at + dt.timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")

    reply = agency.post_events(
        [
            {
                "id": "m1",
                "type": "fan_message",
                "occurred_at": z(0),
                "creator": "luna",
                "fan": "f1",
            },
            {
                "id": "m2",
                "type": "message_sent",
                "occurred_at": z(10),
                "creator": "luna",
                "fan": "f1",
                "chatter": "alice",
                "kind": "direct",
                "ppv": {"id": "p1", "price": "9.99"},
            },
            {
                "id": "m3",
                "type": "ppv_purchase",
                "occurred_at": z(20),
                "creator": "luna",
                "fan": "f1",
                "ppv_id": "p1",
                "amount": "9.99",
            },
        ],
        integration,
    )
    assert reply.status_code == 200, reply.text
    engine = create_engine(agency.database_url)
    waits = text("SELECT response_seconds, bought FROM events WHERE event_id = 'm2'")
    with engine.connect() as conn:
        assert tuple(conn.execute(waits).one()) == (600, True)
    engine.dispose()
    _check_rebuild_changes_nothing(agency.database_url)
