"""The daily, top and revenue views, previous-period deltas, roles and exports (both databases)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import openpyxl

from tests.collector.conftest import Collector
from tests.collector.ingest.test_events import ev
from tests.collector.stats.test_api import SCENARIO, at, when


def get(agency: Collector, token: str, path: str, **params: str) -> Any:
    query = {"start": "2026-11-20", "end": "2026-11-20", "tz": "UTC", **params}
    return agency.http.get(
        f"/api/v1/stats/{path}", params=query, headers={"Authorization": f"Bearer {token}"}
    )


def test_daily_has_every_day_and_matches_the_table(agency: Collector, integration: str) -> None:
    agency.post_events(SCENARIO, integration)
    manager = agency.token("manager")
    body = get(agency, manager, "chatters/alice/daily", start="2026-11-18", end="2026-11-22").json()
    assert [d["date"] for d in body["days"]] == [f"2026-11-{d}" for d in range(18, 23)]
    by_day = {d["date"]: d for d in body["days"]}
    # Worked by hand: the PPV (10.00) and the converted tip (3.00) on the 20th, refund on the 21st.
    assert by_day["2026-11-20"]["total_revenue"] == "13.00"
    assert by_day["2026-11-21"]["total_revenue"] == "-10.00"
    assert by_day["2026-11-20"]["messages_sent"] == 2 and by_day["2026-11-20"]["ppv_sent"] == 1
    assert by_day["2026-11-20"]["avg_response_seconds"] == 600.0
    assert by_day["2026-11-18"]["total_revenue"] == "0.00"
    assert body["totals"]["total_sales"] == "3.00"
    # The previous five days had nothing: the change is the whole amount.
    assert body["previous_range"] == {
        "start": "2026-11-13",
        "end": "2026-11-17",
        "tz": "UTC",
        "utc_start": "2026-11-13T00:00:00Z",
        "utc_end": "2026-11-18T00:00:00Z",
    }
    assert body["change"]["total_sales"] == "3.00" and body["change"]["messages_sent"] == 2


def test_previous_period_deltas(agency: Collector, integration: str) -> None:
    agency.post_events(SCENARIO, integration)
    body = get(agency, agency.token("manager"), "chatters", start="2026-11-21", end="2026-11-21")
    alice = {r["key"]: r for r in body.json()["chatters"]}["alice"]
    # The 21st against the 20th: -10.00 now, 13.00 before.
    assert alice["previous"]["total_sales"] == "13.00"
    assert alice["change"]["total_sales"] == "-23.00"
    assert alice["change"]["messages_sent"] == -2
    assert alice["change"]["ppv_purchase_rate"] is None  # nothing sent on the 21st


def test_top_by_each_measure(agency: Collector, integration: str) -> None:
    fast_reply = [
        when(ev("f9", "fan_message", fan="f4"), at(20, 15)),
        when(ev("r9", "message_sent", chatter="bob", fan="f4", kind="direct"), at(20, 15, 1)),
    ]
    agency.post_events(SCENARIO + fast_reply, integration)
    manager = agency.token("manager")
    revenue = get(agency, manager, "top", by="revenue").json()
    assert [(i["key"], i["value"]) for i in revenue["items"]] == [
        ("alice", "13.00"),
        ("bob", "5.00"),
    ]
    # Shares of everything sold; the unattributed 2.00 is its own slice, not "others".
    assert revenue["total"] == "20.00" and revenue["others"] == "0.00"
    assert revenue["unattributed"] == "2.00" and revenue["unattributed_share"] == 0.1
    assert [i["share"] for i in revenue["items"]] == [0.65, 0.25]
    messages = get(agency, manager, "top", by="messages").json()["items"]
    assert [(i["key"], i["value"]) for i in messages] == [("alice", 2), ("bob", 2)]
    fastest = get(agency, manager, "top", by="response_time").json()
    assert [(i["key"], i["value"]) for i in fastest["items"]] == [("bob", 60.0), ("alice", 600.0)]
    assert fastest["items"][0]["share"] is None and "total" not in fastest
    first_only = get(agency, manager, "top", by="revenue", limit="1").json()
    assert (first_only["others"], first_only["unattributed"]) == ("5.00", "2.00")


def test_top_by_activity(agency: Collector) -> None:
    start = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    alice, bob = agency.enroll("alice"), agency.enroll("bob")
    assert alice.send(alice.slices(2, start=start)).status_code == 200
    assert bob.send(bob.slices(3, start=start)).status_code == 200
    today = start.date().isoformat()
    body = get(agency, agency.token("manager"), "top", by="activity", start=today, end=today)
    items = body.json()["items"]
    assert [(i["key"], i["value"], i["share"]) for i in items] == [
        ("bob", 90, 0.6),
        ("alice", 60, 0.4),
    ]


def test_revenue_by_day_and_by_hour_across_dst(agency: Collector, integration: str) -> None:
    # Europe/Berlin leaves summer time on 2026-10-25: a 25-hour day.
    sales = [
        when(ev("s1", "tip", fan="f1", chatter="alice", amount="4.00"), "2026-10-24T21:30:00Z"),
        when(ev("s2", "tip", fan="f1", chatter="alice", amount="1.50"), "2026-10-25T00:30:00Z"),
        when(ev("s3", "tip", fan="f1", chatter="alice", amount="2.00"), "2026-10-25T01:30:00Z"),
        when(
            ev(
                "m3",
                "message_sent",
                chatter="bob",
                fan="f2",
                kind="mass",
                ppv={"id": "p3", "price": "9.00"},
            ),
            "2026-10-25T08:00:00Z",
        ),
        when(
            ev("b3", "ppv_purchase", fan="f2", ppv_id="p3", amount="9.00"), "2026-10-25T22:59:00Z"
        ),
    ]
    assert agency.post_events(sales, integration).status_code == 200
    manager = agency.token("manager")
    params = {"start": "2026-10-25", "end": "2026-10-25", "tz": "Europe/Berlin"}
    hours = get(agency, manager, "revenue", interval="hour", **params).json()
    starts = [p["start"] for p in hours["series"]]
    assert len(starts) == 25
    assert starts[:4] == [
        "2026-10-25T00:00:00+02:00",
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
    ]
    amounts = {p["start"]: p["total"] for p in hours["series"] if p["total"] != "0.00"}
    assert amounts == {
        "2026-10-25T02:00:00+02:00": "1.50",
        "2026-10-25T02:00:00+01:00": "2.00",
        "2026-10-25T23:00:00+01:00": "9.00",
    }
    days = get(agency, manager, "revenue", **{**params, "start": "2026-10-24"}).json()
    assert [(p["date"], p["ppv"], p["tips"]) for p in days["series"]] == [
        ("2026-10-24", "0.00", "4.00"),
        ("2026-10-25", "9.00", "3.50"),
    ]
    assert days["totals"] == {"ppv": "9.00", "tips": "7.50", "total": "16.50"}
    mine = get(agency, manager, "revenue", chatter="bob", **params).json()
    assert mine["totals"]["total"] == "9.00"
    # A 23-hour day in spring.
    spring = get(
        agency,
        manager,
        "revenue",
        interval="hour",
        start="2026-03-29",
        end="2026-03-29",
        tz="Europe/Berlin",
    )
    assert len(spring.json()["series"]) == 23


def test_quarter_hour_zones(agency: Collector, integration: str) -> None:
    tip = when(ev("k1", "tip", fan="f1", chatter="alice", amount="1.00"), "2026-11-19T18:14:00Z")
    late = when(ev("k2", "tip", fan="f1", chatter="alice", amount="2.00"), "2026-11-19T18:15:00Z")
    agency.post_events([tip, late], integration)
    # Kathmandu (+05:45): local midnight of the 20th is 18:15 UTC on the 19th.
    body = get(agency, agency.token("manager"), "revenue", tz="Asia/Kathmandu").json()
    assert body["totals"]["total"] == "2.00" and body["previous_totals"]["total"] == "1.00"


def test_roles(agency: Collector, integration: str) -> None:
    agency.post_events(SCENARIO, integration)
    bob = agency.token("chatter", "bob")
    assert get(agency, bob, "chatters/bob/daily").status_code == 200
    denied = get(agency, bob, "chatters/alice/daily")
    assert denied.status_code == 403 and denied.json()["error"] == "forbidden"
    assert get(agency, bob, "top").status_code == 403
    assert get(agency, bob, "revenue").status_code == 403
    assert get(agency, bob, "revenue", chatter="bob").status_code == 200
    assert get(agency, bob, "revenue", chatter="alice").status_code == 403
    assert get(agency, integration, "top").status_code == 403


def test_bad_view_parameters(agency: Collector) -> None:
    manager = agency.token("manager")
    cases = [
        ("top", {"by": "charm"}, 400),
        ("top", {"limit": "0"}, 400),
        ("top", {"limit": "ten"}, 400),
        ("revenue", {"interval": "week"}, 400),
        ("chatters", {"format": "pdf"}, 400),
        ("chatters", {"compare": "maybe"}, 400),
        ("chatters/ghost/daily", {}, 404),
        ("revenue", {"chatter": "ghost"}, 404),
    ]
    for path, params, status in cases:
        reply = get(agency, manager, path, **params)
        assert reply.status_code == status, (path, params, reply.text)
        assert reply.json()["message"]


def test_exports_equal_the_json(agency: Collector, integration: str) -> None:
    agency.post_events(SCENARIO, integration)
    manager = agency.token("manager")
    rows = get(agency, manager, "chatters").json()["chatters"]
    reply = get(agency, manager, "chatters", format="csv")
    assert reply.headers["content-type"].startswith("text/csv")
    assert "chatters_2026-11-20_2026-11-20.csv" in reply.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert [(r["Chatter"], r["Total sales"]) for r in table] == [
        (r["name"], r["total_sales"]) for r in rows
    ]
    assert [(r["Sent PPVs"], r["Bought PPVs"]) for r in table] == [
        (str(r["ppv_sent"]), str(r["ppv_bought"])) for r in rows
    ]
    # Durations and rates name their unit: seconds and fractions, the JSON's own numbers.
    assert [
        (r["Online (seconds)"], r["Avg response (seconds)"], r["PPV purchase rate (1 = 100%)"])
        for r in table
    ] == [
        tuple(
            "" if r[k] is None else str(r[k])
            for k in ("online_seconds", "avg_response_seconds", "ppv_purchase_rate")
        )
        for r in rows
    ]
    xlsx = get(agency, manager, "chatters", format="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    try:
        sheet = book.active
        assert sheet is not None
        values = [[c.value for c in row] for row in sheet.iter_rows()]
        header = next(i for i, row in enumerate(values) if row[0] == "Chatter")
        assert any("UTC" in str(v) for row in values[:header] for v in row)
        titles = values[header]
        data = [dict(zip(titles, row, strict=True)) for row in values[header + 1 :]]
        assert [(d["Chatter"], Decimal(str(d["Total sales"]))) for d in data] == [
            (r["name"], Decimal(r["total_sales"])) for r in rows
        ]
        assert [(d["Sent PPVs"], d["Bought PPVs"]) for d in data] == [
            (r["ppv_sent"], r["ppv_bought"]) for r in rows
        ]
        alice = next(d for d in data if d["Chatter"] == "Alice")
        assert alice["Avg response (h:mm:ss)"] == dt.timedelta(seconds=600)
        assert {t for t in titles if "rate" in t} == {"PPV purchase rate (%)"}
        assert sheet.freeze_panes == f"B{header + 2}"
    finally:
        book.close()
    daily = get(agency, manager, "chatters/alice/daily", format="csv", end="2026-11-21")
    days = list(csv.DictReader(io.StringIO(daily.content.decode("utf-8-sig"))))
    assert [(d["Date"], d["Total sales"]) for d in days] == [
        ("2026-11-20", "13.00"),
        ("2026-11-21", "-10.00"),
    ]
    top = get(agency, manager, "top", format="xlsx")
    assert top.status_code == 200 and top.content[:2] == b"PK"
    revenue = get(agency, manager, "revenue", format="csv", interval="hour")
    assert len(revenue.content.decode("utf-8-sig").strip().splitlines()) == 25


def test_hourly_series_where_the_offset_moves_half_an_hour(
    agency: Collector, integration: str
) -> None:
    # Australia/Lord_Howe goes from +10:30 to +11:00 on 2026-10-04 at 02:00 local.
    tip = when(ev("lh", "tip", fan="f1", chatter="alice", amount="1.00"), "2026-10-03T15:45:00Z")
    agency.post_events([tip], integration)
    body = get(
        agency,
        agency.token("manager"),
        "revenue",
        interval="hour",
        start="2026-10-04",
        end="2026-10-04",
        tz="Australia/Lord_Howe",
    ).json()
    starts = [p["start"] for p in body["series"]]
    # 02:00 became 02:30: that hour lasts 30 minutes; the day has 23.5 hours in 24 points.
    assert starts[:4] == [
        "2026-10-04T00:00:00+10:30",
        "2026-10-04T01:00:00+10:30",
        "2026-10-04T02:30:00+11:00",
        "2026-10-04T03:00:00+11:00",
    ]
    assert len(starts) == 24
    assert [p["total"] for p in body["series"]][2] == "1.00"  # 15:45Z is 02:45 local
