"""GET /api/v1/stats/chatters on both databases, against the hand-worked numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.collector.conftest import Collector
from tests.collector.ingest.test_events import ev


def at(day: int, hour: int, minute: int = 0) -> str:
    return (
        dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
    )


def when(event: dict[str, Any], moment: str) -> dict[str, Any]:
    return {**event, "occurred_at": moment}


SCENARIO = [
    when(
        ev(
            "m1",
            "message_sent",
            chatter="alice",
            fan="f1",
            kind="direct",
            ppv={"id": "p1", "price": "10.00"},
        ),
        at(20, 10),
    ),
    when(ev("b1", "ppv_purchase", fan="f1", ppv_id="p1", amount="10.00"), at(20, 10, 30)),
    when(
        ev(
            "m2",
            "message_sent",
            chatter="bob",
            fan="f2",
            kind="direct",
            ppv={"id": "p2", "price": "5.00"},
        ),
        at(20, 11),
    ),
    when(ev("t1", "tip", fan="f1", chatter="bob", amount="5.00"), at(20, 12)),
    when(ev("t2", "tip", fan="f1", amount="3.00"), at(20, 12, 30)),
    when(ev("t3", "tip", fan="f9", amount="2.00"), at(20, 13)),
    when(ev("f1", "fan_message", fan="f3"), at(20, 14)),
    when(ev("r1", "message_sent", chatter="alice", fan="f3", kind="direct"), at(20, 14, 10)),
    when(ev("rf", "refund", refers_to="b1", amount="10.00"), at(21, 9)),
]


def stats(collector: Collector, token: str, **params: str) -> Any:
    query = {"start": "2026-11-20", "end": "2026-11-20", "tz": "UTC", **params}
    return collector.http.get(
        "/api/v1/stats/chatters", params=query, headers={"Authorization": f"Bearer {token}"}
    )


def test_chatter_table(agency: Collector, integration: str) -> None:
    assert agency.post_events(SCENARIO, integration).status_code == 200
    manager = agency.token("manager")
    body = stats(agency, manager).json()
    rows = {r["key"]: r for r in body["chatters"]}
    assert body["currency"] == "USD" and body["range"]["tz"] == "UTC"
    alice, bob, nobody = rows["alice"], rows["bob"], rows[None]
    assert (alice["ppv_sales"], alice["tips"], alice["total_sales"]) == ("10.00", "3.00", "13.00")
    assert (alice["ppv_sent"], alice["ppv_bought"], alice["ppv_purchase_rate"]) == (1, 1, 1.0)
    assert (alice["messages_sent"], alice["responses"], alice["avg_response_seconds"]) == (
        2,
        1,
        600.0,
    )
    assert (bob["tips"], bob["ppv_purchase_rate"]) == ("5.00", 0.0)
    assert nobody["tips"] == "2.00" and nobody["name"] == "Unattributed"

    next_day = stats(agency, manager, start="2026-11-21", end="2026-11-21").json()
    alice_next = {r["key"]: r for r in next_day["chatters"]}["alice"]
    assert (alice_next["ppv_sales"], alice_next["refunds"]) == ("-10.00", "10.00")

    assert [r["key"] for r in stats(agency, manager, q="BO").json()["chatters"]] == ["bob"]
    nova = stats(agency, manager, creator="nova").json()["chatters"]
    assert [r["key"] for r in nova] == ["bob"] and nova[0]["total_sales"] == "0.00"


def test_activity_from_slices(agency: Collector) -> None:
    agent = agency.enroll("alice")
    start = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert agent.send(agent.slices(3, start=start)).json()["accepted"] == 3
    today = start.date().isoformat()
    row = {
        r["key"]: r
        for r in stats(agency, agency.token("manager"), start=today, end=today).json()["chatters"]
    }["alice"]
    assert (row["online_seconds"], row["active_seconds"], row["inactive_seconds"]) == (180, 90, 90)
    assert row["keystrokes"] == 90


def test_chatter_token_sees_only_itself(agency: Collector, integration: str) -> None:
    agency.post_events(SCENARIO, integration)
    rows = stats(agency, agency.token("chatter", "bob")).json()["chatters"]
    assert [r["key"] for r in rows] == ["bob"]
    assert stats(agency, integration).status_code == 403


def test_bad_parameters(agency: Collector) -> None:
    manager = agency.token("manager")
    cases = [
        ({"tz": "Mars/Olympus"}, "IANA"),
        ({"start": "2026-11-21", "end": "2026-11-20"}, "before start"),
        ({"start": "2025-01-01", "end": "2026-11-20"}, "366 days"),
        ({"creator": "ghost"}, "unknown creator"),
        ({"start": "yesterday"}, "not a date"),
    ]
    for params, message in cases:
        reply = stats(agency, manager, **params)
        assert reply.status_code == 400, params
        assert message in reply.json()["message"] and reply.json()["error"] == "bad_parameter"
