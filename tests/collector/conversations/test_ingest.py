"""Conversation-commerce events through the real API and import (both databases)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select

from collector.conversations import metrics as m
from collector.conversations.rows import load_rows
from collector.db.models import Event, SalesDay, SalesQuarter
from collector.stats.periods import period
from tests.collector.conftest import Collector
from tests.collector.conversations.fixtures import (
    DAY,
    SCENARIO,
    at,
    message,
    nps,
    order,
    request,
    to_row,
    widget,
)
from tests.collector.ingest.test_events import SAMPLE


def stored(collector: Collector) -> list[m.Row]:
    engine = create_engine(collector.database_url)
    with engine.connect() as conn:
        rows = load_rows(conn)
    engine.dispose()
    return rows


def columns(collector: Collector, event_id: str) -> dict[str, Any]:
    engine = create_engine(collector.database_url)
    with engine.connect() as conn:
        row = conn.execute(select(Event).where(Event.event_id == event_id)).mappings().one()
    engine.dispose()
    return dict(row)


def count(collector: Collector, model: Any) -> int:
    engine = create_engine(collector.database_url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(model))
    engine.dispose()
    return int(n or 0)


def test_scenario_is_stored_as_the_reference_reads_it(agency: Collector, integration: str) -> None:
    reply = agency.post_events(SCENARIO, integration)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "received": len(SCENARIO),
        "accepted": len(SCENARIO),
        "duplicates": 0,
        "conflicts": [],
    }
    rows = stored(agency)
    assert sorted(rows, key=lambda r: r.event_id) == sorted(
        (to_row(e) for e in SCENARIO), key=lambda r: r.event_id
    )
    o1 = columns(agency, "o1")
    assert o1["amount_minor"] == 4500 and o1["creator_id"] is None and o1["ref"] == "A-1"
    assert o1["attrs"] == {"subtotal": 5000, "discount": 500, "shipping": 490, "tax": 100}
    q3 = columns(agency, "q3")
    assert (q3["kind"], q3["channel"], q3["url"], q3["contact"]) == (
        "agent",
        "video",
        "https://shop.test/b",
        "v3",
    )
    assert q3["chatter_id"] is not None
    n1 = columns(agency, "n1")
    assert (n1["rating"], n1["kind"], n1["attrs"]) == (5, "submitted", {"feedback": "Great help"})
    # Chatter stats are made of creator events only: no rollup row appeared.
    assert count(agency, SalesQuarter) == 0 and count(agency, SalesDay) == 0


def test_mixed_batches_leave_chatter_stats_alone(agency: Collector, integration: str) -> None:
    manager = agency.token("manager")

    def chatters() -> Any:
        return agency.http.get(
            "/api/v1/stats/chatters",
            params={"start": "2026-11-20", "end": "2026-11-20", "tz": "UTC"},
            headers={"Authorization": f"Bearer {manager}"},
        ).json()

    assert agency.post_events(SAMPLE, integration).status_code == 200
    before = chatters()
    # Conversation events in the same batch as a late creator event, and on their own.
    late_tip = {**SAMPLE[4], "id": "e5-late", "amount": "1.00"}
    assert agency.post_events(SCENARIO[:20] + [late_tip], integration).status_code == 200
    assert agency.post_events(SCENARIO[20:], integration).status_code == 200
    after = chatters()
    alice_before = {r["key"]: r for r in before["chatters"]}["alice"]
    alice_after = {r["key"]: r for r in after["chatters"]}["alice"]
    # Only the tip changed anything: Alice converted it (METRICS.md, tips).
    assert alice_after["tips"] == "6.00" and alice_before["tips"] == "5.00"
    moved = {"tips", "total_sales", "change", "revenue_per_active_hour"}
    assert {k: v for k, v in alice_after.items() if k not in moved} == {
        k: v for k, v in alice_before.items() if k not in moved
    }


def test_resending_is_idempotent_and_changes_are_conflicts(
    agency: Collector, integration: str
) -> None:
    assert agency.post_events(SCENARIO[:10], integration, ndjson=True).status_code == 200
    again = agency.post_events(SCENARIO, integration).json()
    assert again == {
        "received": len(SCENARIO),
        "accepted": len(SCENARIO) - 10,
        "duplicates": 10,
        "conflicts": [],
    }
    changed = {**SCENARIO[0], "channel": "video"}
    reply = agency.post_events([changed], integration).json()
    assert reply == {"received": 1, "accepted": 0, "duplicates": 1, "conflicts": ["q1"]}
    assert len(stored(agency)) == len(SCENARIO)


def test_every_problem_is_listed_and_nothing_stored(agency: Collector, integration: str) -> None:
    bad = [
        request("b0", at(10), "r1", "visitor", "text", "v1"),  # good
        request("b1", at(10), "r2", "agent", "text", "v1", agent="ghost"),
        {**request("b2", at(10), "r3", "agent", "text", "v1", agent="bob"), "agent": None},
        {**widget("b3", at(10), "v1"), "url": "javascript:alert(1)"},
        order("b4", at(10), "A-1", "v1", "10.00", discount="12.00"),
        {**order("b5", at(10), "A-2", "v1", "10.00"), "currency": "EUR"},
        {**order("b6", at(10), "A-3", "v1", "10.00"), "subtotal": 10.5, "tax": "0.001"},
        nps("b7", at(10), "v1", "submitted", 6, agent="alice"),
        {**nps("b8", at(10), "v1", "submitted", 3)},
        {**widget("b9", at(10), "v1"), "creator": "luna"},
        {**message("b10", at(10), "r1", "visitor"), "agent": "alice"},
        {
            **request("b11", at(10), "r4", "visitor", "text", "v1"),
            "occurred_at": "2099-01-01T00:00:00Z",
        },
    ]
    reply = agency.post_events(bad, integration)
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["error"] == "invalid_events"
    assert body["message"] == "11 of 12 events rejected; nothing was stored"
    details = {d["id"]: d["message"] for d in body["details"]}
    assert [d["index"] for d in body["details"]] == list(range(1, 12))
    assert "unknown agent 'ghost'" in details["b1"] and "add-chatter" in details["b1"]
    assert "must name its agent" in details["b2"]
    assert "$.url" in details["b3"]
    assert details["b4"] == "discount 12.00 is more than subtotal 10.00"
    assert "currency EUR is not the agency currency USD" in details["b5"]
    assert 'subtotal must be a decimal string such as "12.50"' in details["b6"]
    assert 'tax "0.001" has more than 2 decimal places' in details["b6"]
    assert "<= 5" in details["b7"]
    assert "request_id or its agent" in details["b8"]
    assert "unknown field `creator`" in details["b9"]
    assert "cannot name an agent" in details["b10"]
    assert "in the future" in details["b11"]
    assert stored(agency) == []


def test_import_csv_and_ndjson(agency: Collector, tmp_path: Path) -> None:
    csv_file = tmp_path / "chat.csv"
    csv_file.write_text(
        "id,type,occurred_at,visitor,url,source,request_id,initiator,channel,agent,side,"
        "order_id,subtotal,discount,shipping,tax,currency,status,rating,feedback\n"
        "i1,widget_click,2026-11-20T10:00:00Z,v1,https://shop.test/,notification,,,,,,,,,,,,,,\n"
        "i2,request,2026-11-20T10:01:00Z,v1,https://shop.test/,,r1,visitor,text,,,,,,,,,,,\n"
        "i3,conversation_message,2026-11-20T10:02:00Z,,,,r1,,text,alice,agent,,,,,,,,,\n"
        "i4,order,2026-11-20T11:00:00Z,v1,,,,,,,,A-1,19.99,0,0,0,USD,,,\n"
        'i5,nps_response,2026-11-20T11:05:00Z,v1,,,r1,,,,,,,,,,,submitted,4,"Nice, thanks"\n'
        "i6,nps_response,2026-11-20T11:06:00Z,v1,,,r1,,,,,,,,,,,closed,five,\n"
        "i7,conversation_message,2026-11-20T10:03:00Z,,,,r1,,text,zed,agent,,,,,,,,,\n"
    )
    result = agency.cli("import", str(csv_file), expect=1)
    assert "stored 5, duplicates 0, rejected 2" in result.output
    assert "line 7: i6:" in result.output and "$.rating" in result.output
    assert "line 8: i7: unknown agent 'zed'" in result.output
    rows = {r.event_id: r for r in stored(agency)}
    assert rows["i5"].rating == 4 and rows["i5"].feedback == "Nice, thanks"
    assert rows["i4"].amount == 1999 and rows["i3"].agent == "alice"
    f = m.derive(rows.values())
    s = m.summary(f, period(DAY, DAY, "UTC"))
    assert (s.conversations, s.orders, s.attributed_gmv, s.nps_average) == (1, 1, 1999, 4.0)

    ndjson = tmp_path / "chat.ndjson"
    ndjson.write_text("\n".join(json.dumps(e) for e in SCENARIO) + "\n")
    assert f"stored {len(SCENARIO)}, duplicates 0" in agency.cli("import", str(ndjson)).output
    assert "stored 0, duplicates" in agency.cli("import", str(ndjson)).output


def test_orders_fix_the_currency(agency: Collector, integration: str) -> None:
    assert (
        agency.post_events([order("o1", at(10), "A-1", "v1", "1.00")], integration).status_code
        == 200
    )
    change = agency.cli("settings", "set", "currency", "EUR", expect=1)
    assert "cannot change once amounts have been stored" in change.output


def test_attribution_window_setting(agency: Collector) -> None:
    assert "attribution_window_days = 7" in agency.cli("settings", "list").output
    agency.cli("settings", "set", "attribution_window_days", "14")
    assert "attribution_window_days = 14" in agency.cli("settings", "list").output
    refused = agency.cli("settings", "set", "attribution_window_days", "91", expect=1)
    assert "outside 1..90" in refused.output
    per_chatter = agency.cli(
        "settings", "set", "attribution_window_days", "3", "--chatter", "alice", expect=1
    )
    assert "agency-wide" in per_chatter.output
