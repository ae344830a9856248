"""The conversation-analytics endpoints, hand-worked on METRICS.md's scenario (both databases)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.collector.conftest import Collector
from tests.collector.conversations.fixtures import SCENARIO, at, request

BASE = "/api/v1/stats/conversations"
DAY = {"start": "2026-11-20", "end": "2026-11-20", "tz": "UTC"}


@pytest.fixture
def loaded(agency: Collector, integration: str) -> str:
    # One unanswered request the day before: the previous period of the 20th.
    events = [*SCENARIO, request("q0", at(9, day=19), "r0", "visitor", "text", "v7")]
    assert agency.post_events(events, integration).status_code == 200
    return agency.token("manager")


def get(agency: Collector, token: str, path: str = "", **params: str) -> Any:
    reply = agency.http.get(
        BASE + path, params={**DAY, **params}, headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status_code == 200, reply.text
    return reply


def test_summary(agency: Collector, loaded: str) -> None:
    body = get(agency, loaded).json()
    s = body["summary"]
    assert body["range"]["utc_start"] == "2026-11-20T00:00:00Z" and body["currency"] == "USD"
    assert "creator" not in body
    expected = {
        "conversations": 3,
        "text_conversations": 2,
        "video_conversations": 1,
        "avg_duration_seconds": 300.0,
        "conversion_rate": 1 / 3,
        "orders": 2,
        "attributed_gmv": "60.00",
        "aov": "30.00",
        "visitors_with_impression": 4,
        "visitors_with_click": 3,
        "widget_ctr": 0.75,
        "nps_average": 11 / 3,
        "requests_agent_initiated": 2,
        "requests_visitor_initiated": 3,
        "unsuccessful_requests": 2,
        "agent_acceptance_rate": 0.5,
        "visitor_acceptance_rate": 2 / 3,
        "unanswered_visitor_requests": 1,
        "request_rate": 0.5,
        "text_requests": 3,
        "video_requests": 2,
        "auto_message_clicks": 4,
    }
    assert {k: s[k] for k in expected} == expected
    assert body["breakdown"] == [
        {"initiator": "agent", "channel": "text", "requests": 1, "conversations": 1,
         "unsuccessful": 0},
        {"initiator": "agent", "channel": "video", "requests": 1, "conversations": 0,
         "unsuccessful": 1},
        {"initiator": "visitor", "channel": "text", "requests": 2, "conversations": 1,
         "unsuccessful": 1},
        {"initiator": "visitor", "channel": "video", "requests": 1, "conversations": 1,
         "unsuccessful": 0},
    ]  # fmt: skip
    assert body["top_urls"][0] == {"url": "https://shop.test/a", "requests": 3, "conversations": 3}
    assert body["top_auto_messages"] == [
        {"trigger_id": "t1", "clicks": 3, "visitors": 2},
        {"trigger_id": "t2", "clicks": 1, "visitors": 1},
    ]
    # METRICS.md, "Previous period": +4 requests, average duration null before.
    assert body["previous"]["requests"] == 1 and body["previous"]["attributed_gmv"] == "0.00"
    assert body["change"]["requests"] == 4 and body["change"]["avg_duration_seconds"] is None
    assert body["change"]["attributed_gmv"] == "60.00" and body["change"]["aov"] is None
    plain = get(agency, loaded, compare="false", limit="1").json()
    assert "previous" not in plain and "previous_range" not in plain
    assert len(plain["top_urls"]) == 1


def test_agents(agency: Collector, loaded: str) -> None:
    rows = get(agency, loaded, "/agents").json()["agents"]
    assert [r["key"] for r in rows] == ["alice", "bob"]
    alice, bob = rows
    assert (alice["requests"], alice["agent_initiated_requests"], alice["acceptance_rate"]) == (
        2,
        0,
        None,
    )
    assert (alice["conversations"], alice["attributed_orders"], alice["attributed_sales"]) == (
        2,
        2,
        "60.00",
    )
    assert alice["avg_rating"] == 5.0 and bob["avg_rating"] == 3.0
    assert (bob["requests"], bob["agent_initiated_requests"], bob["acceptance_rate"]) == (2, 2, 0.5)
    assert bob["conversations"] == 1 and bob["attributed_sales"] == "0.00"
    assert alice["previous"]["requests"] == 0 and alice["change"]["attributed_sales"] == "60.00"
    week = get(agency, loaded, "/agents", start="2026-11-19").json()["agents"]
    assert [d["date"] for d in week[0]["trend"]] == ["2026-11-19", "2026-11-20"]
    assert [d["attributed_sales"] for d in week[0]["trend"]] == ["0.00", "60.00"]


def test_trends(agency: Collector, loaded: str) -> None:
    body = get(agency, loaded, "/trends", start="2026-11-19").json()
    assert [p["date"] for p in body["series"]] == ["2026-11-19", "2026-11-20"]
    first, second = body["series"]
    assert (first["requests"], first["widget_ctr"], first["visitor_acceptance_rate"]) == (
        1,
        None,
        0.0,
    )
    assert (second["widget_ctr"], second["request_rate"], second["nps_average"]) == (
        0.75,
        0.5,
        11 / 3,
    )
    hours = {h["hour"]: h for h in body["hours_of_day"]}
    assert hours[13] == {"hour": 13, "text_requests": 0, "video_requests": 1}
    assert hours[9]["text_requests"] == 1 and len(body["previous_series"]) == 2
    hourly = get(agency, loaded, "/trends", interval="hour", tz="Europe/Berlin").json()
    assert len(hourly["series"]) == 24
    assert hourly["series"][11]["start"] == "2026-11-20T11:00:00+01:00"
    assert hourly["series"][11]["requests"] == 1  # r1 at 10:00Z


def test_nps(agency: Collector, loaded: str) -> None:
    body = get(agency, loaded, "/nps").json()
    assert (body["responses"], body["rated"], body["average"]) == (4, 3, 11 / 3)
    assert body["distribution"] == [
        {"rating": 1, "responses": 0},
        {"rating": 2, "responses": 1},
        {"rating": 3, "responses": 0},
        {"rating": 4, "responses": 1},
        {"rating": 5, "responses": 1},
        {"rating": None, "responses": 1},
    ]
    page = body["feedback"]
    assert (page["total"], page["pages"], page["page"]) == (2, 1, 1)
    assert [(f["event_id"], f["agent"], f["rating"], f["feedback"]) for f in page["items"]] == [
        ("n4", "bob", 2, "Too pushy"),
        ("n1", "alice", 5, "Great help"),
    ]
    second = get(agency, loaded, "/nps", page="2", per_page="1").json()["feedback"]
    assert (second["pages"], [f["event_id"] for f in second["items"]]) == (2, ["n1"])
    assert body["change"] == {"responses": 4, "rated": 3, "average": None}


def test_exports(agency: Collector, loaded: str) -> None:
    summary = get(agency, loaded, format="csv")
    assert summary.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(summary.content.decode("utf-8-sig"))))
    assert [r["Period"] for r in rows] == ["2026-11-20 to 2026-11-20", "2026-11-19 to 2026-11-19",
                                          "Change"]  # fmt: skip
    assert rows[0]["Attributed GMV"] == "60.00" and rows[0]["Conversations"] == "3"
    # Durations in seconds and rates as fractions, as the header says: the JSON's numbers.
    shown = get(agency, loaded).json()["summary"]
    for title, name in [
        ("Avg duration (seconds)", "avg_duration_seconds"),
        ("Agent acceptance rate (1 = 100%)", "agent_acceptance_rate"),
        ("Widget CTR (1 = 100%)", "widget_ctr"),
    ]:
        assert rows[0][title] == ("" if shown[name] is None else str(shown[name])), title
    agents = get(agency, loaded, "/agents", format="xlsx")
    sheet = load_workbook(io.BytesIO(agents.content)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(i for i, row in enumerate(values) if row[0] == "Agent")
    assert values[header + 1][0] == "Alice" and values[header + 1][10] == Decimal("60.00")
    # Conversations belong to no creator: the title block names range and zone, no creator.
    block = [row[0] for row in values[:header]]
    assert "Range" in block and "Time zone" in block and "Creator" not in block
    trends = get(agency, loaded, "/trends", format="csv", interval="hour")
    assert len(trends.content.decode("utf-8-sig").strip().splitlines()) == 25
    feedback = get(agency, loaded, "/nps", format="csv").content.decode("utf-8-sig")
    assert "Too pushy" in feedback and "Great help" in feedback


def test_roles_and_bad_parameters(agency: Collector, loaded: str) -> None:
    chatter = agency.token("chatter", "alice")
    for path in ("", "/agents", "/trends", "/nps"):
        reply = agency.http.get(
            BASE + path, params=DAY, headers={"Authorization": f"Bearer {chatter}"}
        )
        assert reply.status_code == 403 and reply.json()["error"] == "forbidden"
        assert agency.http.get(BASE + path, params=DAY).status_code == 401
    admin = agency.token("admin")
    assert get(agency, admin).json()["summary"]["requests"] == 5
    bad = [
        {"start": "2026-11-20"},
        {**DAY, "tz": "Mars/Olympus"},
        {**DAY, "start": "2026-11-21"},
        {**DAY, "start": "2025-01-01"},
        {**DAY, "end": "20-11-2026"},
        {**DAY, "format": "pdf"},
        {**DAY, "compare": "maybe"},
        {**DAY, "creator": "luna"},
        {**DAY, "limit": "0"},
    ]
    auth = {"Authorization": f"Bearer {loaded}"}
    for params in bad:
        reply = agency.http.get(BASE, params=params, headers=auth)
        assert reply.status_code == 400, (params, reply.text)
        assert set(reply.json()) == {"error", "message", "details"}
    for path, params in (
        ("/trends", {"interval": "week"}),
        ("/nps", {"page": "0"}),
        ("/nps", {"per_page": "501"}),
        ("/nps", {"page": "x"}),
    ):
        reply = agency.http.get(BASE + path, params={**DAY, **params}, headers=auth)
        assert reply.status_code == 400, (path, params, reply.text)


def test_window_setting_recomputes(agency: Collector, loaded: str) -> None:
    assert get(agency, loaded).json()["summary"]["orders"] == 2
    # o1 and o2 are 5 and 6 hours after r1 connected: both in a one-day window too.
    agency.cli("settings", "set", "attribution_window_days", "1")
    assert get(agency, loaded).json()["summary"]["orders"] == 2
    later = [
        {**e, "id": "late-" + e["id"], "order_id": "L-" + e["order_id"],
         "occurred_at": "2026-11-22T15:00:00Z"}
        for e in SCENARIO if e["id"] == "o1"
    ]  # fmt: skip
    token = agency.token("integration")
    assert agency.post_events(later, token).status_code == 200
    two_days = {"start": "2026-11-22", "end": "2026-11-22"}
    assert get(agency, loaded, **two_days).json()["summary"]["orders"] == 0
    agency.cli("settings", "set", "attribution_window_days", "3")
    assert get(agency, loaded, **two_days).json()["summary"]["orders"] == 1


def test_stats_rebuild_gives_the_same_numbers_and_skips_empty_years(
    agency: Collector, loaded: str, integration: str
) -> None:
    # One request years earlier: a rebuild visits the days with events, not every day between.
    old = request(
        "q-old", dt.datetime(2001, 3, 4, 10, tzinfo=dt.UTC), "r-old", "visitor", "text", "v8"
    )
    assert agency.post_events([old], integration).status_code == 200
    before = [
        get(agency, loaded).json(),
        get(agency, loaded, start="2001-03-04", end="2001-03-04").json(),
    ]
    agency.cli("stats", "rebuild")
    after = [
        get(agency, loaded).json(),
        get(agency, loaded, start="2001-03-04", end="2001-03-04").json(),
    ]
    assert after == before
    assert after[1]["summary"]["requests_visitor_initiated"] == 1
