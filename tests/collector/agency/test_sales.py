"""Reassigning a sale by API and CLI: stats follow, refunds follow, the trail is kept."""

from __future__ import annotations

import json
from typing import Any

from tests.collector.conftest import Collector
from tests.collector.ingest.test_events import ev
from tests.collector.stats.test_api import SCENARIO, at, stats, when


def reassign(agency: Collector, token: str, event_id: str, body: Any) -> Any:
    return agency.http.post(
        f"/api/v1/sales/{event_id}/reassign",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


def rows(agency: Collector, token: str, **params: str) -> dict[str | None, Any]:
    return {r["key"]: r for r in stats(agency, token, **params).json()["chatters"]}


def test_reassign_by_api(agency: Collector, integration: str) -> None:
    refund_of_t3 = when(ev("rt3", "refund", refers_to="t3", amount="0.50"), at(20, 16))
    agency.post_events([*SCENARIO, refund_of_t3], integration)
    manager = agency.token("manager")
    before = rows(agency, manager)
    assert before[None]["tips"] == "1.50"  # t3 (2.00) had no converter; its refund follows it

    reply = reassign(agency, manager, "t3", {"chatter": "alice", "reason": "fan named Alice"})
    assert reply.status_code == 200, reply.text
    sale = reply.json()
    assert (sale["credited_to"], sale["reassigned"], sale["amount"]) == ("alice", True, "2.00")
    assert sale["history"][0]["from"] is None and sale["history"][0]["to"] == "alice"
    assert sale["history"][0]["reason"] == "fan named Alice"
    assert sale["history"][0]["actor"].startswith("token:")

    after = rows(agency, manager)
    assert after["alice"]["tips"] == "4.50"  # 3.00 converted + 2.00 - 0.50 refund
    assert after["alice"]["refunds"] == "0.50"
    assert None not in after  # nothing left unattributed

    # A PPV purchase moves too, and its refund (on the 21st) follows it.
    assert reassign(agency, manager, "b1", {"chatter": "bob", "reason": "shift swap"}).is_success
    next_day = rows(agency, manager, start="2026-11-21", end="2026-11-21")
    assert next_day["bob"]["ppv_sales"] == "-10.00"
    assert next_day["alice"]["ppv_sales"] == "0.00"

    # Back to the rules.
    back = reassign(agency, manager, "t3", {"chatter": None, "reason": "mistake"}).json()
    assert back["credited_to"] is None and back["reassigned"] is False
    assert [h["to"] for h in back["history"]] == ["alice", None]
    assert rows(agency, manager)[None]["tips"] == "1.50"

    shown = agency.http.get("/api/v1/sales/t3", headers={"Authorization": f"Bearer {manager}"})
    assert shown.json()["history"] == back["history"]


def test_reassign_errors(agency: Collector, integration: str) -> None:
    agency.post_events(SCENARIO, integration)
    manager = agency.token("manager")
    cases = [
        ("t3", {"chatter": "alice", "reason": "  "}, 400, "reason is required"),
        ("t3", {"chatter": "ghost", "reason": "x"}, 400, "unknown chatter"),
        ("t3", {"chatter": "alice"}, 400, "reason"),
        # The column's length (collector.db.text): 422 naming the field, like every API.
        ("t3", {"chatter": "alice", "reason": "x" * 501}, 422, "reason is longer than 500"),
        ("m1", {"chatter": "alice", "reason": "x"}, 422, "not a sale"),
        ("nope", {"chatter": "alice", "reason": "x"}, 404, "no event"),
    ]
    for event_id, body, status, message in cases:
        reply = reassign(agency, manager, event_id, body)
        assert reply.status_code == status, (event_id, body, reply.text)
        assert message in reply.json()["message"]
    assert reassign(agency, agency.token("chatter", "alice"), "t3", cases[1][1]).status_code == 403
    # Nothing changed.
    assert rows(agency, manager)[None]["tips"] == "2.00"


def test_reassign_by_cli(agency: Collector, integration: str) -> None:
    agency.post_events(SCENARIO, integration)
    done = agency.cli("reassign-sale", "t3", "--to", "bob", "--reason", "ticket 42")
    assert "credited to bob" in done.output
    history = json.loads(agency.cli("sale", "t3").output)["history"]
    assert history[0]["to"] == "bob" and history[0]["actor"].startswith("cli")
    assert rows(agency, agency.token("manager"))["bob"]["tips"] == "7.00"
    assert "exactly one" in agency.cli("reassign-sale", "t3", "--reason", "x", expect=2).output
    assert (
        "not a sale"
        in agency.cli("reassign-sale", "m1", "--to", "bob", "--reason", "x", expect=1).output
    )
    agency.cli("reassign-sale", "t3", "--automatic", "--reason", "undo")
    assert None in rows(agency, agency.token("manager"))


def test_stats_rebuild_matches_incremental(agency: Collector, integration: str) -> None:
    agency.post_events(SCENARIO, integration)
    reassign(agency, agency.token("manager"), "t3", {"chatter": "bob", "reason": "x"})
    manager = agency.token("manager")
    before = stats(agency, manager, end="2026-11-21").json()["chatters"]
    assert "rebuilt" in agency.cli("stats", "rebuild").output
    assert stats(agency, manager, end="2026-11-21").json()["chatters"] == before
