"""The schedules API: shifts, exceptions, coverage rules, roster import, occurrences
(both databases), and a JSON 4xx for every bad input."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from collector.db.models import AuditEntry
from collector.http.database import db
from tests.collector.conftest import Collector

WEEKLY = {
    "chatter": "alice",
    "creator": "luna",
    "weekdays": "mon-fri",
    "start": "22:00",
    "end": "06:00",
    "zone": "Europe/Paris",
    "first_day": "2026-03-23",
}


def _call(
    collector: Collector, method: str, path: str, token: str | None, **kw: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(kw.pop("headers", {}))
    return collector.http.request(method, path, headers=headers, **kw)


def _add(collector: Collector, token: str, **fields: Any) -> dict[str, Any]:
    reply = _call(collector, "POST", "/api/v1/shifts", token, json={**WEEKLY, **fields})
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_shift_round_trip_and_occurrences_across_dst(agency: Collector) -> None:
    token = agency.token("manager")
    shift = _add(agency, token, weekdays="mon-sun")
    assert shift["kind"] == "weekly" and shift["weekdays"] == "mon-sun"
    assert shift["overnight"] is True and shift["exceptions"] == []
    # The night of Saturday 28 March 2026 crosses the spring-forward change in Paris.
    reply = _call(
        agency,
        "GET",
        "/api/v1/shifts/occurrences?from=2026-03-28&to=2026-03-28&tz=America/New_York",
        token,
    )
    assert reply.status_code == 200, reply.text
    # Friday's night still runs into the 28th in New York; Saturday's is the short one.
    friday, occurrence = reply.json()["occurrences"]
    assert friday["day"] == "2026-03-27" and occurrence["day"] == "2026-03-28"
    assert occurrence["starts_at"] == "2026-03-28T21:00:00Z"
    assert occurrence["ends_at"] == "2026-03-29T04:00:00Z"  # 06:00 CEST, 7 hours
    assert occurrence["seconds"] == 7 * 3600
    assert occurrence["local_start"] == "2026-03-28T17:00:00-04:00"
    assert occurrence["chatter"] == "alice" and occurrence["state"] == "scheduled"

    reply = _call(
        agency, "PATCH", f"/api/v1/shifts/{shift['id']}", token, json={"last_day": "2026-04-30"}
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["last_day"] == "2026-04-30" and reply.json()["changed"] == ["last_day"]
    listed = _call(agency, "GET", "/api/v1/shifts?creator=luna", token).json()
    assert listed["total"] == 1 and listed["shifts"][0]["id"] == shift["id"]
    reply = _call(agency, "DELETE", f"/api/v1/shifts/{shift['id']}", token)
    assert reply.status_code == 200
    assert _call(agency, "GET", f"/api/v1/shifts/{shift['id']}", token).status_code == 404
    with agency.app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert [a for a in actions if "shift" in a] == ["add_shift", "edit_shift", "remove_shift"]


def test_overlap_is_refused_naming_the_clash(agency: Collector) -> None:
    token = agency.token("manager")
    first = _add(agency, token)
    # The same chatter for another creator cannot start before the night shift ends.
    reply = _call(
        agency,
        "POST",
        "/api/v1/shifts",
        token,
        json={
            **WEEKLY,
            "chatter": "bob",
            "creator": "nova",
            "weekdays": "",
            "start": "05:00",
            "end": "09:00",
            "first_day": "2026-03-24",
        },
    )
    assert reply.status_code == 201, reply.text  # bob, not alice: no clash
    reply = _call(
        agency,
        "POST",
        "/api/v1/shifts",
        token,
        json={**WEEKLY, "weekdays": "tue", "start": "05:00", "end": "09:00"},
    )
    assert reply.status_code == 409
    body = reply.json()
    assert body["error"] == "overlapping_shifts"
    assert f"shift {first['id']} on 2026-03-23" in body["message"]
    # Touching is fine: 06:00 to 10:00 right after the night.
    reply = _call(
        agency, "POST", "/api/v1/shifts", token, json={**WEEKLY, "start": "06:00", "end": "10:00"}
    )
    assert reply.status_code == 201, reply.text


def test_cancel_and_swap_days(agency: Collector) -> None:
    token = agency.token("manager")
    alice = _add(agency, token, weekdays="mon,tue", start="09:00", end="17:00")
    bob = _add(agency, token, chatter="bob", weekdays="wed", start="09:00", end="17:00")
    path = f"/api/v1/shifts/{alice['id']}/exceptions"
    reply = _call(agency, "POST", path, token, json={"day": "2026-03-23", "kind": "cancelled"})
    assert reply.status_code == 201, reply.text
    again = _call(agency, "POST", path, token, json={"day": "2026-03-23", "kind": "cancelled"})
    assert again.status_code == 409
    wrong_day = _call(agency, "POST", path, token, json={"day": "2026-03-25"})
    assert (
        wrong_day.status_code == 422 and "does not run on 2026-03-25" in wrong_day.json()["message"]
    )
    # A swap of two days: alice's Tuesday to bob, bob's Wednesday to alice.
    reply = _call(
        agency,
        "POST",
        path,
        token,
        json={
            "day": "2026-03-24",
            "kind": "swapped",
            "with_shift": bob["id"],
            "with_day": "2026-03-25",
        },
    )
    assert reply.status_code == 201, reply.text
    week = _call(
        agency,
        "GET",
        "/api/v1/shifts/occurrences?from=2026-03-23&to=2026-03-29&tz=Europe/Paris&cancelled=1",
        token,
    ).json()["occurrences"]
    assert [(o["day"], o["chatter"], o["state"]) for o in week] == [
        ("2026-03-23", "alice", "cancelled"),
        ("2026-03-24", "bob", "swapped"),
        ("2026-03-25", "alice", "swapped"),
    ]
    reply = _call(agency, "DELETE", f"{path}/2026-03-23", token)
    assert reply.status_code == 200 and len(reply.json()["exceptions"]) == 1
    assert _call(agency, "DELETE", f"{path}/2026-03-23", token).status_code == 404
    # Nova is not bob's... but it is: alice does not work for nova, so no swap onto it.
    nova = _add(
        agency, token, chatter="bob", creator="nova", weekdays="sun", start="09:00", end="12:00"
    )
    reply = _call(
        agency,
        "POST",
        f"/api/v1/shifts/{nova['id']}/exceptions",
        token,
        json={"day": "2026-03-29", "kind": "swapped", "chatter": "alice"},
    )
    assert reply.status_code == 422 and "Alice does not work for Nova:" in reply.json()["message"]


def test_coverage_rules_crud(agency: Collector) -> None:
    token = agency.token("admin")
    body = {"creator": "luna", "weekdays": "daily", "start": "00:00", "end": "24:00", "required": 2}
    reply = _call(agency, "POST", "/api/v1/coverage-rules", token, json=body)
    assert reply.status_code == 201, reply.text
    rule = reply.json()
    assert rule["weekdays"] == "mon-sun" and rule["start"] == rule["end"] == "00:00"
    assert _call(agency, "POST", "/api/v1/coverage-rules", token, json=body).status_code == 409
    path = f"/api/v1/coverage-rules/{rule['id']}"
    reply = _call(agency, "PATCH", path, token, json={"required": 3, "weekdays": "sat,sun"})
    assert reply.status_code == 200 and reply.json()["required"] == 3
    assert reply.json()["weekdays"] == "sat,sun"
    huge = _call(agency, "PATCH", path, token, json={"required": 10**30})
    assert huge.status_code in (400, 422)
    assert _call(agency, "PATCH", path, token, json={"required": 1001}).status_code == 422
    listed = _call(agency, "GET", "/api/v1/coverage-rules?creator=luna", token).json()
    assert [r["id"] for r in listed["coverage_rules"]] == [rule["id"]]
    assert _call(agency, "DELETE", path, token).status_code == 200
    assert _call(agency, "GET", path, token).status_code == 404


def test_roster_import_all_or_nothing(agency: Collector) -> None:
    token = agency.token("manager")
    good = (
        "chatter,creator,day,start,end,zone,note\n"
        "alice,luna,2026-12-07,08:00,16:00,Europe/Paris,\n"
        "bob,nova,2026-12-07,22:00,06:00,,overnight\n"
        "alice,luna,2026-12-07,08:00,16:00,Europe/Paris,\n"
    )
    headers = {"Content-Type": "text/csv"}
    bad = good + "alice,nova,2026-12-08,08:00,16:00,,\nbob,luna,2026-12-09,25:00,16:00,,\n"
    reply = _call(agency, "POST", "/api/v1/shifts/import", token, content=bad, headers=headers)
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["error"] == "invalid_roster"
    assert [d["line"] for d in body["details"]] == [5, 6]
    assert "Alice does not work for Nova:" in body["details"][0]["message"]
    assert _call(agency, "GET", "/api/v1/shifts", token).json()["total"] == 0
    reply = _call(agency, "POST", "/api/v1/shifts/import", token, content=good, headers=headers)
    assert reply.status_code == 201, reply.text
    assert reply.json()["added"] == 2
    assert reply.json()["skipped"] == [{"line": 4, "reason": "repeats line 2"}]
    again = _call(agency, "POST", "/api/v1/shifts/import", token, content=good, headers=headers)
    assert again.status_code == 201 and again.json()["added"] == 0
    clash = "chatter,creator,day,start,end\nalice,luna,2026-12-07,14:00,18:00\n"
    reply = _call(agency, "POST", "/api/v1/shifts/import", token, content=clash, headers=headers)
    assert reply.status_code == 422 and reply.json()["details"][0]["line"] == 2
    assert "overlaps shift" in reply.json()["details"][0]["message"]


BAD_SHIFTS = [
    {"chatter": "alice\x00"},
    {"chatter": "a" * 5000},
    {"chatter": "nobody"},
    {"creator": "nova"},
    {"zone": "Mars/Olympus"},
    {"zone": "../../etc/passwd"},
    {"zone": 12},
    {"start": "9am"},
    {"start": "24:30"},
    {"end": "22:00"},
    {"weekdays": "funday"},
    {"weekdays": 10**40},
    {"first_day": "2026-02-30"},
    {"first_day": "99999-01-01"},
    {"last_day": "2026-01-01"},
    {"weekdays": "", "last_day": "2026-04-01"},
    {"weekdays": "sun", "first_day": "2026-03-23", "last_day": "2026-03-24"},
    {"note": "x" * 201},
    {"note": "line\nbreak"},
    {"note": "nul\x00"},
    {"note": "\ud800"},
    {"extra": 1},
]


@pytest.mark.parametrize("change", BAD_SHIFTS, ids=range(len(BAD_SHIFTS)))
def test_bad_shift_input_is_a_json_4xx(agency: Collector, change: dict[str, Any]) -> None:
    token = agency.token("manager")
    body = json.dumps({**WEEKLY, **change})  # \ud800 as an escape: httpx cannot encode it
    reply = _call(agency, "POST", "/api/v1/shifts", token, content=body.encode())
    assert 400 <= reply.status_code < 500, reply.text
    assert reply.json()["error"] and reply.json()["message"]


def test_bad_patches_and_bodies(agency: Collector) -> None:
    token = agency.token("manager")
    shift = _add(agency, token, start="09:00", end="17:00")
    path = f"/api/v1/shifts/{shift['id']}"
    for body in (
        {"start": "17:00"},
        {"end": "09:00"},
        {"weekdays": "sat", "last_day": "2026-03-24"},
    ):
        reply = _call(agency, "PATCH", path, token, json=body)
        assert reply.status_code == 422, (body, reply.text)
    for raw in (b"", b"[1]", b"{", b'{"start": 1' + b"]" * 10, b"\xff\xfe"):
        reply = _call(agency, "PATCH", path, token, content=raw)
        assert reply.status_code == 400, (raw, reply.text)
    huge = _call(agency, "PATCH", path, token, content=b'{"start": 1' + b"0" * 400 + b"}")
    assert huge.status_code in (400, 422)
    for number in (0, 2**31, 2**40, 10**30):
        for method in ("GET", "PATCH", "DELETE"):
            for kind in ("shifts", "coverage-rules"):
                reply = _call(agency, method, f"/api/v1/{kind}/{number}", token, json={})
                assert reply.status_code == 404, (method, kind, number, reply.text)
        reply = _call(agency, "DELETE", f"/api/v1/shifts/{number}/exceptions/2026-03-23", token)
        assert reply.status_code == 404
        exception = {"day": "2026-03-23", "kind": "swapped", "with_shift": number}
        reply = _call(agency, "POST", f"{path}/exceptions", token, json=exception)
        assert reply.status_code == 422, reply.text
    for query in (
        "from=2026-13-01",
        "tz=Nowhere/Zone",
        "from=2026-03-10&to=2026-03-01",
        "from=2026-01-01&to=2026-12-31",
        "creator=ghost",
    ):
        reply = _call(agency, "GET", f"/api/v1/shifts/occurrences?{query}", token)
        assert reply.status_code == 400, (query, reply.text)
    reply = _call(agency, "GET", "/api/v1/shifts?per_page=100000000000000000000", token)
    assert reply.status_code == 400
    reply = _call(
        agency, "POST", "/api/v1/shifts/import", token, content=b"chatter,creator\n\x00,\xff"
    )
    assert reply.status_code == 422 and reply.json()["error"] == "invalid_roster"
    assert _call(agency, "GET", "/api/v1/shifts", token).json()["shifts"][0]["start"] == "09:00"


def test_roles(agency: Collector) -> None:
    assert _call(agency, "GET", "/api/v1/shifts", None).status_code == 401
    chatter = agency.token("chatter", "alice")
    for method, path in (("GET", "/api/v1/shifts"), ("POST", "/api/v1/shifts")):
        reply = _call(agency, method, path, chatter, json=WEEKLY)
        assert reply.status_code == 403, reply.text


@pytest.mark.parametrize("name", ["localtime", "Factory", "posixrules"])
def test_zones_that_name_no_place_are_refused_everywhere(agency: Collector, name: str) -> None:
    """Found by review: "localtime" (the server's own zone), "Factory" and "posixrules"
    were taken as a shift's, a roster row's, a view's and the agency's zone.  One rule
    (``collector.db.text.zones``) refuses them everywhere."""
    token = agency.token("manager")
    said = f"'{name}' is not an IANA time zone such as Europe/Paris"
    reply = _call(agency, "POST", "/api/v1/shifts", token, json={**WEEKLY, "zone": name})
    assert reply.status_code == 422 and reply.json()["message"] == f"zone: {said}"
    csv = f"chatter,creator,day,start,end,zone\nalice,luna,2026-12-07,08:00,16:00,{name}\n"
    reply = _call(
        agency,
        "POST",
        "/api/v1/shifts/import",
        token,
        content=csv,
        headers={"Content-Type": "text/csv"},
    )
    assert reply.status_code == 422
    assert reply.json()["details"] == [{"line": 2, "message": f"zone: {said}"}]
    reply = _call(agency, "GET", "/api/v1/shifts/occurrences", token, params={"tz": name})
    assert reply.status_code == 400 and reply.json()["message"] == f"tz: {said}"
    reply = _call(
        agency,
        "GET",
        "/api/v1/stats/chatters",
        token,
        params={"start": "2026-11-20", "end": "2026-11-20", "tz": name},
    )
    assert reply.status_code == 400 and said in reply.json()["message"]
    setting = agency.cli("settings", "set", "agency_timezone", name, expect=1)
    assert said in setting.output
    assert _call(agency, "GET", "/api/v1/shifts", token).json()["total"] == 0


def test_24_00_is_an_end_never_a_start(agency: Collector) -> None:
    token = agency.token("manager")
    reply = _call(agency, "POST", "/api/v1/shifts", token, json={**WEEKLY, "start": "24:00"})
    assert reply.status_code == 422
    assert reply.json()["message"].startswith("start: 24:00 is only an end")
    shift = _add(agency, token, start="20:00", end="24:00")
    assert (shift["start"], shift["end"]) == ("20:00", "00:00")


def test_occurrences_take_start_and_end_as_the_stats_endpoints_do(agency: Collector) -> None:
    token = agency.token("manager")
    _add(agency, token, weekdays="mon-sun", start="09:00", end="10:00", first_day="2026-12-01")

    def days(**params: str) -> Any:
        reply = _call(agency, "GET", "/api/v1/shifts/occurrences", token, params=params)
        return reply.status_code, reply.json()

    by_from = days(**{"from": "2026-12-07", "to": "2026-12-08", "tz": "UTC"})
    by_start = days(start="2026-12-07", end="2026-12-08", tz="UTC")
    assert by_from == by_start and by_start[0] == 200
    assert [o["day"] for o in by_start[1]["occurrences"]] == ["2026-12-07", "2026-12-08"]
    assert days(**{"from": "2026-12-07", "start": "2026-12-07", "end": "2026-12-07"})[0] == 200
    status, body = days(**{"from": "2026-12-07", "start": "2026-12-08"})
    assert status == 400 and body["message"] == "from and start are the same parameter: give one"
    status, body = days(start="2026-12-32")
    assert status == 400 and body["message"].startswith("start: '2026-12-32' is not a date")
