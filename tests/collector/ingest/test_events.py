"""Event ingestion: idempotent by id, exact money, all-or-nothing validation (both databases)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from collector.db.models import Event
from tests.collector.conftest import Collector

T = "2026-11-20T10:00:00Z"


def ev(event_id: str, type_: str, **fields: Any) -> dict[str, Any]:
    return {"id": event_id, "type": type_, "occurred_at": T, "creator": "luna", **fields}


SAMPLE = [
    ev("e1", "fan_message", fan="fan-1"),
    ev(
        "e2",
        "message_sent",
        chatter="alice",
        fan="fan-1",
        kind="direct",
        ppv={"id": "ppv-1", "price": "19.99"},
    ),
    ev("e3", "message_sent", chatter="bob", fan="fan-2", kind="mass"),
    ev("e4", "ppv_purchase", fan="fan-1", ppv_id="ppv-1", amount="19.99"),
    ev("e5", "tip", fan="fan-1", amount="5.00"),
    ev("e6", "tip", fan="fan-2", amount="0.10", chatter="bob"),
    ev("e7", "refund", refers_to="e4", amount="19.99"),
]


def rows(collector: Collector) -> dict[str, tuple[Any, ...]]:
    engine = create_engine(collector.database_url)
    with engine.connect() as conn:
        result = conn.execute(
            select(
                Event.event_id, Event.type, Event.amount_minor, Event.ref, Event.kind, Event.contact
            )
        ).all()
    engine.dispose()
    return {r[0]: tuple(r[1:]) for r in result}


def test_json_array_is_stored_exactly(agency: Collector, integration: str) -> None:
    reply = agency.post_events(SAMPLE, integration)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"received": 7, "accepted": 7, "duplicates": 0, "conflicts": []}
    stored = rows(agency)
    assert stored["e2"] == ("message_sent", 1999, "ppv-1", "direct", "fan-1")
    assert stored["e4"] == ("ppv_purchase", 1999, "ppv-1", None, "fan-1")
    assert stored["e6"][1] == 10 and stored["e7"] == ("refund", 1999, "e4", None, None)
    assert isinstance(stored["e6"][1], int)


def test_ndjson_and_idempotency(agency: Collector, integration: str) -> None:
    assert agency.post_events(SAMPLE[:4], integration, ndjson=True).json()["accepted"] == 4
    again = agency.post_events(SAMPLE, integration, ndjson=True).json()
    assert again == {"received": 7, "accepted": 3, "duplicates": 4, "conflicts": []}
    assert len(rows(agency)) == 7


def test_same_id_twice_in_one_request_and_conflicts(agency: Collector, integration: str) -> None:
    tip = ev("t1", "tip", fan="f", amount="3.00")
    changed = {**tip, "amount": "4.00"}
    reply = agency.post_events([tip, tip, changed], integration).json()
    assert reply == {"received": 3, "accepted": 1, "duplicates": 2, "conflicts": ["t1"]}
    assert rows(agency)["t1"][1] == 300  # first one wins


INVALID = [
    (
        "unknown creator",
        {**ev("x1", "fan_message", fan="f"), "creator": "ghost"},
        "unknown creator 'ghost'",
    ),
    (
        "unknown chatter",
        ev("x2", "message_sent", chatter="ghost", fan="f", kind="direct"),
        "unknown chatter 'ghost'",
    ),
    ("unknown type", ev("x3", "wink", fan="f"), "unknown event type 'wink'"),
    ("float amount", ev("x4", "tip", fan="f", amount=5.5), "decimal string"),
    ("too many decimals", ev("x5", "tip", fan="f", amount="5.001"), "more than 2 decimal places"),
    ("negative amount", ev("x6", "tip", fan="f", amount="-5"), "not a decimal amount"),
    ("zero tip", ev("x7", "tip", fan="f", amount="0"), "greater than zero"),
    ("bad kind", ev("x8", "message_sent", chatter="alice", fan="f", kind="dm"), "kind"),
    (
        "naive time",
        {**ev("x9", "fan_message", fan="f"), "occurred_at": "2026-11-20T10:00:00"},
        "timezone",
    ),
    (
        "future",
        {**ev("x10", "fan_message", fan="f"), "occurred_at": "2099-01-01T00:00:00Z"},
        "in the future",
    ),
    (
        "year typo",
        {**ev("x13", "tip", fan="f", amount="1.00"), "occurred_at": "0026-11-20T10:00:00Z"},
        "before 2000",
    ),
    (
        "before year 1 in UTC",
        {**ev("x14", "tip", fan="f", amount="1.00"), "occurred_at": "0001-01-01T00:30:00+01:00"},
        "before 2000",
    ),
    ("unknown field", ev("x11", "fan_message", fan="f", chatterr="alice"), "unknown field"),
    ("missing field", ev("x12", "ppv_purchase", fan="f", amount="1.00"), "ppv_id"),
]


@pytest.mark.parametrize(("case", "bad", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_event_rejects_request(
    agency: Collector, integration: str, case: str, bad: dict[str, Any], message: str
) -> None:
    reply = agency.post_events([SAMPLE[0], bad, SAMPLE[1]], integration)
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["error"] == "invalid_events"
    assert body["details"] == [
        {"index": 1, "id": bad["id"], "message": body["details"][0]["message"]}
    ]
    assert message in body["details"][0]["message"], body
    assert rows(agency) == {}


def test_each_offending_event_is_listed(agency: Collector, integration: str) -> None:
    bad = [
        ev("a", "tip", fan="f", amount="1.5.0"),
        ev("ok", "fan_message", fan="f"),
        {**ev("b", "fan_message", fan="f"), "creator": "ghost"},
    ]
    details = agency.post_events(bad, integration).json()["details"]
    assert [(d["index"], d["id"]) for d in details] == [(0, "a"), (2, "b")]


def test_limits_and_malformed_bodies(agency: Collector, integration: str) -> None:
    many = [ev(f"m{i}", "fan_message", fan="f") for i in range(10_001)]
    too_many = agency.post_events(many, integration)
    assert too_many.status_code == 413 and too_many.json()["error"] == "too_many_events"
    headers = {"Authorization": f"Bearer {integration}", "Content-Type": "application/json"}
    broken = agency.http.post("/api/v1/events", content=b"[{", headers=headers)
    assert broken.status_code == 400 and broken.json()["error"] == "malformed_json"
    empty = agency.http.post("/api/v1/events", content=b"[]", headers=headers)
    assert empty.status_code == 422 and empty.json()["error"] == "no_events"
    assert agency.post_events(many[:10_000], integration).json()["accepted"] == 10_000


def test_token_roles(agency: Collector) -> None:
    none = agency.http.post("/api/v1/events", json=SAMPLE)
    assert none.status_code == 401 and none.json()["error"] == "unauthorized"
    manager = agency.post_events(SAMPLE, agency.token("manager"))
    assert manager.status_code == 403 and "integration" in manager.json()["message"]
    bogus = agency.post_events(SAMPLE, "ctk_bogus")
    assert bogus.status_code == 401


def test_revoked_token(agency: Collector) -> None:
    token = agency.token("integration")
    token_id = agency.cli("api-tokens").output.strip().splitlines()[-1].split("\t")[0]
    agency.cli("revoke-token", token_id)
    assert agency.post_events(SAMPLE, token).status_code == 401


def test_currency_exponent_follows_the_setting(agency: Collector, integration: str) -> None:
    agency.cli("settings", "set", "currency", "JPY")
    bad = agency.post_events([ev("y1", "tip", fan="f", amount="5.50")], integration)
    assert bad.status_code == 422 and "more than 0 decimal places" in str(bad.json()["details"])
    assert (
        agency.post_events([ev("y2", "tip", fan="f", amount="500")], integration).status_code == 200
    )
    assert rows(agency)["y2"][1] == 500
    change = agency.cli("settings", "set", "currency", "USD", expect=1)
    assert "cannot change once amounts have been stored" in change.output


def test_event_count_in_database(agency: Collector, integration: str) -> None:
    agency.post_events(SAMPLE, integration)
    engine = create_engine(agency.database_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Event)) == 7
    engine.dispose()
