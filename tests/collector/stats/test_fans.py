"""A chatter's fan interactions and revenue breakdown, against the hand-worked numbers.

The scenario is METRICS.md's sales example (tests/collector/stats/test_api.py), over
2026-11-20..21 in UTC: the worked example of "Fan interactions" in METRICS.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import openpyxl

from collector.stats.metrics import fan_interactions
from collector.stats.periods import period
from tests.collector.conftest import Collector
from tests.collector.ingest.test_events import ev
from tests.collector.stats.test_api import SCENARIO, at, when
from tests.collector.stats.test_property import reference_events

RANGE = {"start": "2026-11-20", "end": "2026-11-21", "tz": "UTC"}
# The worked example's mass message: to many fans at once, so no fan's row.
MASS = when(ev("m1", "message_sent", chatter="alice", fan="all-fans", kind="mass"), at(20, 15))


def get(collector: Collector, token: str, path: str, **params: str) -> Any:
    return collector.http.get(
        f"/api/v1/stats/chatters/{path}",
        params={**RANGE, **params},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_fans_worked_example(agency: Collector, integration: str) -> None:
    assert agency.post_events([*SCENARIO, MASS], integration).status_code == 200
    manager = agency.token("manager")
    body = get(agency, manager, "alice/fans").json()
    assert (body["sort"], body["order"], body["total"], body["pages"]) == (
        "net_revenue",
        "desc",
        2,
        1,
    )
    f1, f3 = body["fans"]  # top spenders first
    assert f1 == {
        "fan": "f1",
        "creator": "luna",
        "creator_name": "Luna",
        "messages_sent": 1,
        "fan_messages": 0,
        "ppv_sent": 1,
        "ppv_bought": 1,
        "ppv_revenue": "10.00",
        "tip_revenue": "3.00",  # t2: Alice was the converter
        "refunds": "10.00",  # b1 refunded on the 21st
        "net_revenue": "3.00",
        "median_wait_seconds": None,
        "replies": 0,
        "last_contact": "2026-11-21T09:00:00+00:00",  # the refund
    }
    assert (f3["fan"], f3["messages_sent"], f3["fan_messages"]) == ("f3", 1, 1)
    assert (f3["median_wait_seconds"], f3["replies"], f3["net_revenue"]) == (600.0, 1, "0.00")
    assert f3["last_contact"] == "2026-11-20T14:10:00+00:00"
    assert all(r["fan"] != "all-fans" for r in body["fans"])  # the mass message made no row

    bob = {r["fan"]: r for r in get(agency, manager, "bob/fans").json()["fans"]}
    assert (bob["f1"]["tip_revenue"], bob["f1"]["messages_sent"]) == ("5.00", 0)
    assert (bob["f2"]["ppv_sent"], bob["f2"]["ppv_bought"], bob["f2"]["net_revenue"]) == (
        1,
        0,
        "0.00",
    )
    # Shown in the requested zone; the same instant.
    paris = get(agency, manager, "alice/fans", tz="Europe/Paris").json()["fans"]
    assert paris[0]["last_contact"] == "2026-11-21T10:00:00+01:00"


def test_breakdown_is_the_chatter_row(agency: Collector, integration: str) -> None:
    agency.post_events(SCENARIO, integration)
    manager = agency.token("manager")
    body = get(agency, manager, "alice/breakdown").json()
    assert body["creators"] == [
        {
            "creator": "luna",
            "name": "Luna",
            "ppv_revenue": "10.00",
            "tip_revenue": "3.00",
            "refunds": "10.00",
            "net_revenue": "3.00",
        }
    ]
    assert body["totals"]["net_revenue"] == "3.00"
    table = agency.http.get(
        "/api/v1/stats/chatters", params=RANGE, headers={"Authorization": f"Bearer {manager}"}
    ).json()
    for key in ("alice", "bob"):
        row = next(r for r in table["chatters"] if r["key"] == key)
        totals = get(agency, manager, f"{key}/breakdown").json()["totals"]
        assert (totals["net_revenue"], totals["refunds"]) == (row["total_sales"], row["refunds"])
    nova = get(agency, manager, "bob/breakdown", creator="nova").json()
    assert nova["creators"] == [] and nova["totals"]["net_revenue"] == "0.00"


def test_fan_search_sort_and_pages(agency: Collector, integration: str) -> None:
    extra = [
        when(
            ev(f"x{i}", "message_sent", chatter="alice", fan=f"fan-{i:02d}", kind="direct"),
            at(20, 15, i),
        )
        for i in range(5)
    ]
    other = ev("n1", "message_sent", chatter="alice", fan="a-nova", kind="direct", creator="nova")
    # fan-01 waits 61 min for alice's x1 at 15:01 (f3 waits 10 min in the scenario).
    waiting = when(ev("w1", "fan_message", fan="fan-01"), at(20, 14))
    agency.post_events([*SCENARIO, *extra, when(other, at(20, 16)), waiting], integration)
    manager = agency.token("manager")

    def fans(**params: str) -> list[str]:
        return [r["fan"] for r in get(agency, manager, "alice/fans", **params).json()["fans"]]

    assert fans(sort="fan", order="asc") == [
        "a-nova",
        "f1",
        "f3",
        "fan-00",
        "fan-01",
        "fan-02",
        "fan-03",
        "fan-04",
    ]
    assert fans(sort="last_contact", order="desc")[:3] == ["f1", "a-nova", "fan-04"]
    assert fans(sort="fan_messages")[:2] == ["f3", "fan-01"]
    # By the median wait: fans without a reply last either way, then by fan.
    unanswered = ["a-nova", "f1", "fan-00", "fan-02", "fan-03", "fan-04"]
    assert fans(sort="median_wait_seconds") == ["fan-01", "f3", *unanswered]
    assert fans(sort="median_wait_seconds", order="asc") == ["f3", "fan-01", *unanswered]
    assert fans(sort="median_wait_seconds", per_page="1", page="2") == ["f3"]
    assert fans(sort="median_wait_seconds", q="fan-0") == [
        "fan-01",
        "fan-00",
        "fan-02",
        "fan-03",
        "fan-04",
    ]
    assert fans(q="FAN-0", sort="fan", order="desc") == [
        "fan-04",
        "fan-03",
        "fan-02",
        "fan-01",
        "fan-00",
    ]
    assert fans(q="%") == [] and fans(q="_") == []  # no wildcards
    # By creator name, as the page shows it: Nova, then Luna by fan.
    assert fans(sort="creator", order="desc")[:2] == ["a-nova", "f1"]
    assert fans(sort="creator", order="asc")[-1] == "a-nova"
    page = get(agency, manager, "alice/fans", sort="fan", order="asc", per_page="3", page="3")
    assert [r["fan"] for r in page.json()["fans"]] == ["fan-03", "fan-04"]
    assert (page.json()["total"], page.json()["pages"]) == (8, 3)
    beyond = get(agency, manager, "alice/fans", per_page="3", page="9").json()
    assert beyond["fans"] == [] and beyond["total"] == 8
    nova = get(agency, manager, "alice/fans", creator="nova").json()
    assert [r["fan"] for r in nova["fans"]] == ["a-nova"] and nova["total"] == 1
    assert [r["fan"] for r in get(agency, manager, "bob/fans", creator="nova").json()["fans"]] == []
    # Any case, every letter, on both databases (SQLite's own lower() is ASCII-only).
    accented = when(
        ev("e1", "message_sent", chatter="alice", fan="Élodie-Ω", kind="direct"), at(20, 17)
    )
    agency.post_events([accented], integration)
    assert fans(q="élodie-ω") == fans(q="ÉLODIE") == ["Élodie-Ω"]
    # A quote and a backslash in a reference: the page's fans are written into the SQL.
    odd = "O'Hara\\x"
    sent = when(ev("q1", "message_sent", chatter="alice", fan=odd, kind="direct"), at(20, 18))
    wrote = when(ev("q2", "fan_message", fan=odd), at(20, 17, 50))
    agency.post_events([wrote, sent], integration)
    row = get(agency, manager, "alice/fans", q="o'hara").json()["fans"]
    assert [(r["fan"], r["fan_messages"], r["replies"]) for r in row] == [(odd, 1, 1)]


def test_fan_exports_read_back(agency: Collector, integration: str) -> None:
    agency.post_events(SCENARIO, integration)
    manager = agency.token("manager")
    rows = get(agency, manager, "alice/fans", per_page="1").json()["fans"]
    reply = get(agency, manager, "alice/fans", format="csv", per_page="1")
    assert (
        reply.status_code == 200
        and "fans_alice_2026-11-20_2026-11-21.csv" in (reply.headers["content-disposition"])
    )
    table = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
    # An export holds every fan, not the page.
    assert [(r["Fan"], r["Net spend"], r["Last contact"]) for r in table] == [
        ("f1", "3.00", "2026-11-21T09:00:00+00:00"),
        ("f3", "0.00", "2026-11-20T14:10:00+00:00"),
    ]
    assert [r["Median wait for a reply (seconds)"] for r in table] == [
        "" if f["median_wait_seconds"] is None else str(f["median_wait_seconds"])
        for f in get(agency, manager, "alice/fans").json()["fans"]
    ]
    assert rows[0]["fan"] == "f1"
    xlsx = get(agency, manager, "alice/fans", format="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    try:
        sheet = book.active
        assert sheet is not None
        values = [[c.value for c in row] for row in sheet.iter_rows()]
        header = next(i for i, row in enumerate(values) if row[0] == "Fan")
        data = [dict(zip(values[header], row, strict=True)) for row in values[header + 1 :]]
        assert [(d["Fan"], Decimal(str(d["Refunds"]))) for d in data] == [
            ("f1", Decimal("10.00")),
            ("f3", Decimal("0")),
        ]
        assert data[1]["Median wait for a reply (h:mm:ss)"] == dt.timedelta(seconds=600)
        assert data[0]["Last contact"] == dt.datetime(2026, 11, 21, 9, 0)
    finally:
        book.close()
    breakdown = get(agency, manager, "alice/breakdown", format="csv")
    lines = list(csv.DictReader(io.StringIO(breakdown.content.decode("utf-8-sig"))))
    assert [(r["Creator"], r["Refunds (deducted)"], r["Net (= total sales)"]) for r in lines] == [
        ("luna", "10.00", "3.00")
    ]


def test_a_chatter_sees_only_their_own_fans(agency: Collector, integration: str) -> None:
    agency.post_events(SCENARIO, integration)
    bob = agency.token("chatter", "bob")
    assert get(agency, bob, "bob/fans").status_code == 200
    for path in ("alice/fans", "alice/breakdown", "ghost/fans"):
        reply = get(agency, bob, path)
        assert reply.status_code == 403 and reply.json()["error"] == "forbidden", path
    assert get(agency, integration, "alice/fans").status_code == 403


def test_bad_fan_parameters(agency: Collector) -> None:
    manager = agency.token("manager")
    for params in (
        {"sort": "charm"},
        {"order": "up"},
        {"page": "0"},
        {"per_page": "501"},
        {"per_page": "ten"},
        {"format": "pdf"},
        {"columns": "fan,ghost", "format": "csv"},
        {"q": "a" * 201},  # SQLite answered 503 to a 50,000-character pattern
        {"q": "a" * 50_000},
    ):
        reply = get(agency, manager, "alice/fans", **params)
        assert reply.status_code == 400, (params, reply.text)
        assert reply.json()["error"] == "bad_parameter"
    assert get(agency, manager, "ghost/fans").status_code == 404


def test_reference_worked_example() -> None:
    """The reference computation on the same example (no database)."""
    rows = reference_events([*SCENARIO, MASS], [])
    fans = fan_interactions(
        rows, period(dt.date(2026, 11, 20), dt.date(2026, 11, 21), "UTC"), "alice"
    )
    f1, f3 = fans[("luna", "f1")], fans[("luna", "f3")]
    assert (f1.ppv_revenue, f1.tip_revenue, f1.refunds, f1.net_revenue) == (1000, 300, 1000, 300)
    assert (f3.fan_messages, f3.median_wait_seconds) == (1, 600.0)
    assert set(fans) == {("luna", "f1"), ("luna", "f3")}
