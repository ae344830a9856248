"""A manager limited to some creators (a team lead), on both databases: every stats view
and export equals the reference for those creators only, and the rest is refused."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import httpx
import openpyxl
import pytest

from collector.stats import present
from collector.stats.metrics import SliceRow, compute
from collector.stats.periods import period
from tests.collector.auth.test_accounts import PASSWORD, login
from tests.collector.conftest import Collector
from tests.collector.ingest.test_events import ev
from tests.collector.stats.test_property import reference_events

# Yesterday (UTC): slices and events both in the past, whatever the hour the test runs.
DAY = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(
    days=1
)
RANGE = {"start": DAY.date().isoformat(), "end": DAY.date().isoformat(), "tz": "UTC"}
LEAD = "lead@agency.test"
# alice (luna), bob (luna, nova), carol (nova, sol), dave (sol), erin (luna).
ASSIGNED = {
    "alice": {"luna"},
    "bob": {"luna", "nova"},
    "carol": {"nova", "sol"},
    "dave": {"sol"},
    "erin": {"luna"},
}
MINE = {"nova", "sol"}


def at(hour: int, minute: int = 0) -> str:
    return (DAY + dt.timedelta(hours=hour, minutes=minute)).isoformat().replace("+00:00", "Z")


def on(creator: str, event: dict[str, Any], hour: int, minute: int = 0) -> dict[str, Any]:
    return {**event, "creator": creator, "occurred_at": at(hour, minute)}


def ppv(event_id: str, chatter: str, fan: str, ref: str, price: str) -> dict[str, Any]:
    sent = {"id": ref, "price": price}
    return ev(event_id, "message_sent", chatter=chatter, fan=fan, kind="direct", ppv=sent)


EVENTS = [
    # Luna's: not the lead's.
    on("luna", ppv("l1", "alice", "f1", "pl", "10.00"), 9),
    on("luna", ev("l2", "ppv_purchase", fan="f1", ppv_id="pl", amount="10.00"), 9, 5),
    on("luna", ev("l3", "tip", fan="f1", chatter="erin", amount="4.00"), 9, 30),
    on("luna", ev("l4", "tip", fan="f8", amount="3.00"), 10),
    # Nova's: bob sells and answers; alice (not assigned to nova) sells once; a tip
    # no chatter is credited with.
    on("nova", ppv("n1", "bob", "g1", "pn", "7.00"), 11),
    on("nova", ev("n2", "ppv_purchase", fan="g1", ppv_id="pn", amount="7.00"), 11, 10),
    on("nova", ev("n3", "fan_message", fan="g2"), 12),
    on("nova", ev("n4", "message_sent", chatter="bob", fan="g2", kind="direct"), 12, 5),
    on("nova", ppv("n5", "alice", "g5", "pa", "6.00"), 13),
    on("nova", ev("n6", "ppv_purchase", fan="g5", ppv_id="pa", amount="6.00"), 13, 1),
    on("nova", ev("n7", "tip", fan="g9", amount="2.50"), 14),
    # Sol's: carol sells, dave is tipped.
    on("sol", ppv("s1", "carol", "h1", "ps", "4.00"), 15),
    on("sol", ev("s2", "ppv_purchase", fan="h1", ppv_id="ps", amount="4.00"), 15, 20),
    on("sol", ev("s3", "tip", fan="h2", chatter="dave", amount="1.00"), 16),
]
SLICED = ("alice", "bob", "carol", "erin")  # three one-minute slices each, from 08:00


@pytest.fixture
def lead(agency: Collector) -> Collector:
    """The agency with sol, carol, dave and erin; lead@ limited to nova and sol."""
    agency.app.config["SESSION_COOKIE_SECURE"] = False  # the test client speaks plain HTTP
    agency.cli("add-creator", "sol", "--name", "Sol")
    agency.cli("add-chatter", "carol", "--name", "Carol", "--creator", "nova", "--creator", "sol")
    agency.cli("add-chatter", "dave", "--name", "Dave", "--creator", "sol")
    agency.cli("add-chatter", "erin", "--name", "Erin", "--creator", "luna")
    for chatter in SLICED:
        agent = agency.enroll(chatter)
        start = DAY + dt.timedelta(hours=8)
        assert agent.send(agent.slices(3, start=start)).json()["accepted"] == 3
    assert agency.post_events(EVENTS, agency.token("integration")).status_code == 200
    add = ("add-user", LEAD, "--role", "manager", "--creators", "sol,nova")
    agency.cli(*add, input=PASSWORD + "\n")
    assert login(agency.http, LEAD, PASSWORD).status_code == 302
    return agency


def reference(creators: set[str] | None) -> dict[str | None, Any]:
    window = period(DAY.date(), DAY.date(), "UTC")
    slices = [
        SliceRow(c, f"pc-{c}", DAY + dt.timedelta(hours=8, minutes=i), 60, 30, 0, 30, 12)
        for c in SLICED
        for i in range(3)
    ]
    refs = reference_events(EVENTS, [])
    return compute(refs, slices, window, creator=creators, assignments=ASSIGNED)


def as_lead(agency: Collector, path: str, **params: str) -> httpx.Response:
    """The lead's dashboard session asks (no token: a team lead is a login)."""
    return agency.http.get(f"/api/v1/stats/{path}", params={**RANGE, **params})


def as_manager(agency: Collector, token: str, path: str, **params: str) -> Any:
    reply = agency.http.get(
        f"/api/v1/stats/{path}",
        params={**RANGE, **params},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_the_table_is_the_reference_for_their_creators(lead: Collector) -> None:
    body = as_lead(lead, "chatters", compare="false").json()
    got = {r["key"]: r for r in body["chatters"]}
    # Their chatters: assigned to nova or sol, and alice, credited with a nova sale.
    assert set(got) == {"alice", "bob", "carol", "dave", None}
    for key, m in reference(MINE).items():
        row = {k: v for k, v in got.pop(key).items() if k not in ("key", "name")}
        assert row == present.metric_fields(m, 2), key
    assert got == {}
    # Worked by hand: nova 7.00 + 6.00 + 2.50, sol 4.00 + 1.00.
    assert body["totals"]["total_sales"] == "20.50"
    rows = {r["key"]: r for r in body["chatters"]}
    # bob also works for luna: his whole activity shows, marked shared; carol works only
    # for the lead's creators, so hers is not; alice's activity is luna's, not shown.
    assert rows["bob"]["activity_shared"] and rows["bob"]["online_seconds"] == 180
    assert not rows["carol"]["activity_shared"] and rows["carol"]["online_seconds"] == 180
    assert rows["alice"]["online_seconds"] == 0 and rows["alice"]["total_sales"] == "6.00"


def test_sales_are_the_sum_of_their_creators(lead: Collector) -> None:
    manager = lead.token("manager")
    mine = as_lead(lead, "chatters").json()
    per_creator = [as_manager(lead, manager, "chatters", creator=c) for c in sorted(MINE)]
    assert [b["totals"]["total_sales"] for b in per_creator] == ["15.50", "5.00"]  # nova, sol
    for name in ("total_sales", "ppv_sales", "tips", "messages_sent", "ppv_sent", "ppv_bought"):
        summed = sum(Decimal(str(b["totals"][name])) for b in per_creator)
        assert Decimal(str(mine["totals"][name])) == summed, name
    # One creator of theirs: exactly what an unlimited manager sees for it.
    for creator in sorted(MINE):
        one = as_lead(lead, "chatters", creator=creator)
        assert one.json() == as_manager(lead, manager, "chatters", creator=creator)


def test_top_and_revenue_series_hold_only_their_creators(lead: Collector) -> None:
    manager = lead.token("manager")
    top = as_lead(lead, "top", by="revenue").json()
    assert [(i["key"], i["value"]) for i in top["items"]] == [
        ("bob", "7.00"),
        ("alice", "6.00"),
        ("carol", "4.00"),
        ("dave", "1.00"),
    ]
    assert top["total"] == "20.50" and top["unattributed"] == "2.50"
    activity = as_lead(lead, "top", by="activity").json()["items"]
    assert [i["key"] for i in activity] == ["bob", "carol"]  # erin's and alice's are luna's
    for interval in ("day", "hour"):
        mine = as_lead(lead, "revenue", interval=interval).json()
        parts = [as_manager(lead, manager, "revenue", interval=interval, creator=c) for c in MINE]
        for i, point in enumerate(mine["series"]):
            assert Decimal(point["total"]) == sum(Decimal(p["series"][i]["total"]) for p in parts)
        assert mine["totals"]["total"] == "20.50"
    bob = as_lead(lead, "revenue", chatter="bob").json()
    assert bob["totals"] == {"ppv": "7.00", "tips": "0.00", "total": "7.00"}  # not his luna


def test_a_chatter_of_theirs_day_by_day(lead: Collector) -> None:
    expected = reference(MINE)
    for key in ("bob", "carol", "alice"):
        body = as_lead(lead, f"chatters/{key}/daily", compare="false").json()
        totals = present.metric_fields(expected[key], 2)
        for name in ("total_sales", "messages_sent", "online_seconds", "responses"):
            assert body["totals"][name] == totals[name], (key, name)
        assert body["days"][0]["total_revenue"] == totals["total_sales"]


def test_everything_else_is_refused(lead: Collector) -> None:
    for path, params in [
        ("chatters", {"creator": "luna"}),
        ("top", {"creator": "luna"}),
        ("revenue", {"creator": "luna"}),
        ("chatters/erin/daily", {}),
        ("chatters/ghost/daily", {}),  # whether a key exists is not theirs to learn
        ("revenue", {"chatter": "erin"}),
        ("conversations", {}),
        ("conversations/agents", {}),
        ("conversations/trends", {}),
        ("conversations/nps", {}),
    ]:
        reply = as_lead(lead, path, **params)
        assert reply.status_code == 403, (path, params)
        assert reply.json()["error"] == "forbidden"
    # An unknown creator is refused like another one: a lead learns no creator keys.
    unknown, other = (as_lead(lead, "chatters", creator=c) for c in ("ghost", "luna"))
    assert unknown.status_code == other.status_code == 403
    # The token-only endpoints (people, devices, sales) take no dashboard session.
    for path in ("/api/v1/creators", "/api/v1/chatters", "/api/v1/devices", "/api/v1/sales/n2"):
        assert lead.http.get(path).status_code == 401, path


def title_block(content: bytes) -> dict[str, str]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return {str(a): str(b) for a, b, *_ in sheet.iter_rows(max_row=8, values_only=True) if b}


def test_exports_name_their_creators(lead: Collector) -> None:
    for path in ("chatters", "top", "revenue", "chatters/bob/daily"):
        reply = as_lead(lead, path, format="xlsx")
        assert reply.status_code == 200, path
        assert title_block(reply.content)["Creator"] == "Nova, Sol", path
    one = as_lead(lead, "chatters", format="xlsx", creator="sol")
    assert title_block(one.content)["Creator"] == "Sol"
    table = as_lead(lead, "chatters", format="csv", columns="name,total_sales")
    rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig"))))
    assert sorted(r[0] for r in rows[1:]) == ["Alice", "Bob", "Carol", "Dave", "Unattributed"]
    assert sum(Decimal(r[1]) for r in rows[1:]) == Decimal("20.50")


def test_the_limit_applies_at_the_next_request(lead: Collector) -> None:
    lead.cli("set-creators", LEAD, "sol")
    keys = {r["key"] for r in as_lead(lead, "chatters").json()["chatters"]}
    assert keys == {"carol", "dave"}
    assert as_lead(lead, "chatters", creator="nova").status_code == 403
    lead.cli("set-creators", LEAD, "--all")
    keys = {r["key"] for r in as_lead(lead, "chatters").json()["chatters"]}
    assert keys == {"alice", "bob", "carol", "dave", "erin", None}
    assert as_lead(lead, "conversations").status_code == 200
