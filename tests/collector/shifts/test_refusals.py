"""What every door (API, command line, Schedules page) refuses the same way, nothing
written (both databases): a roster that ends inside an open quote, notes with control or
bidirectional characters, numbers and times in other scripts' digits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask.testing import FlaskClient

from tests.collector.conftest import Collector
from tests.collector.pages.admin.test_admin import ADMIN, PASSWORD, Site, site  # noqa: F401

HEADER = "chatter,creator,day,start,end,zone,note\n"
GOOD = "alice,luna,2026-12-07,08:00,16:00,,\n"


@pytest.fixture
def token(agency: Collector) -> str:
    return agency.token("manager")


def _api(agency: Collector, token: str, method: str, path: str, **kw: Any) -> httpx.Response:
    return agency.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)


def _import(agency: Collector, token: str, roster: str) -> httpx.Response:
    return _api(agency, token, "POST", "/api/v1/shifts/import", content=roster.encode())


def _count(agency: Collector, table: str = "shifts") -> int:
    with agency.app.app_context():
        from sqlalchemy import text

        from collector.http.database import db

        return int(db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _werkzeug(agency: Collector, email: str | None = None) -> tuple[FlaskClient, str]:
    """Flask's own test client (httpx's WSGI transport cannot send a path that is not
    ASCII), logged in as ``email`` when given; and its CSRF token."""
    client = agency.app.test_client()
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert found
    if email is not None:
        reply = client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": found.group(1)}
        )
        assert reply.status_code == 302
        found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/shifts").text)
        assert found
    return client, found.group(1)


# The roster's quotes ---------------------------------------------------------------------

OPEN_QUOTES = [
    # The last row's note is opened and never closed: it used to import as "overnight".
    (HEADER + GOOD + 'bob,luna,2026-12-08,22:00,06:00,,"overnight\n', 3),
    # No line break at the very end either.
    (HEADER + GOOD + 'bob,luna,2026-12-08,22:00,06:00,,"overnight', 3),
    # A quote opened on line 2 swallows the rest of the file into one value.
    (HEADER + 'alice,"luna,2026-12-07,08:00,16:00,,\nbob,luna,2026-12-08,09:00,12:00,,\n', 2),
    # Windows line ends.
    ((HEADER + GOOD).replace("\n", "\r\n") + 'bob,luna,2026-12-08,22:00,06:00,,"x\r\n', 3),
    # The header itself.
    ('chatter,creator,day,start,end,"zone\n' + GOOD, 1),
]


@pytest.mark.parametrize(("roster", "line"), OPEN_QUOTES, ids=range(len(OPEN_QUOTES)))
def test_a_roster_ending_inside_a_quote_is_refused_by_the_api(
    agency: Collector, token: str, roster: str, line: int
) -> None:
    reply = _import(agency, token, roster)
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["error"] == "invalid_roster"
    assert {"line": line, "message": body["details"][-1]["message"]} in body["details"]
    assert "never closed" in body["details"][-1]["message"]
    assert body["details"][-1]["line"] == line
    assert _count(agency) == 0
    # Dry run says the same.
    dry = _api(agency, token, "POST", "/api/v1/shifts/import?dry_run=true", content=roster.encode())
    assert dry.status_code == 422 and dry.json()["details"] == body["details"]


def test_quotes_used_properly_still_import_and_rows_are_named_by_their_first_line(
    agency: Collector, token: str
) -> None:
    roster = (
        HEADER
        + 'alice,"luna",2026-12-07,08:00,16:00,,"covers ""early"""\n'
        + 'bob,luna,2026-12-08,09:00,12:00,,"two\nlines"\n'  # lines 3-4: one row
        + "bob,luna,2026-12-09,9,12:00,,\n"  # line 5
        + 'bob,luna,2026-12-10,09:00,12:00,,"x"y\n'  # line 6: text after the closing quote
    )
    reply = _import(agency, token, roster)
    assert reply.status_code == 422, reply.text
    details = reply.json()["details"]
    assert [d["line"] for d in details] == [3, 5, 6]
    assert details[0]["message"].startswith("note: must not contain control characters")
    assert details[1]["message"].startswith("start: '9' is not a time")
    assert "text follows a closing quote" in details[2]["message"]
    assert _count(agency) == 0
    reply = _import(agency, token, HEADER + 'alice,"luna",2026-12-07,08:00,16:00,,"a ""b"""\n')
    assert reply.status_code == 201, reply.text
    assert reply.json()["shifts"][0]["note"] == 'a "b"'


def test_header_problems_are_listed_one_a_line(agency: Collector, token: str) -> None:
    reply = _import(agency, token, "who,start,start\nx,09:00,10:00\n")
    assert reply.status_code == 422
    messages = [d["message"] for d in reply.json()["details"] if d["line"] == 1]
    assert len(messages) == 4, messages
    assert messages[0].startswith("1 unknown column 'who'; use chatter, creator,")
    assert messages[1] == "3 columns missing: chatter, creator, end"
    assert messages[3] == "1 column named twice: start"


def test_the_command_line_refuses_an_open_quote(agency: Collector, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(OPEN_QUOTES[0][0])
    result = agency.cli("shifts", "import", str(path), expect=1)
    lines = result.output.splitlines()
    assert lines[0] == (
        "Error: The roster was not imported, nothing was written: 1 problem. "
        "Fix the lines below and upload the whole file again."
    )
    assert lines[1].startswith("  line 3: a quoted value on this line is never closed")
    assert len(lines) == 2
    assert _count(agency) == 0


# Notes -------------------------------------------------------------------------------------

BAD_NOTES = ["invoice\u202egpj.exe", "a\u2067b", "bell\x07", "\x1b[2Jwiped", "one\u2028two"]
SHIFT = {
    "chatter": "alice",
    "creator": "luna",
    "weekdays": "mon",
    "start": "09:00",
    "end": "12:00",
    "first_day": "2026-12-07",
}


@pytest.mark.parametrize("note", BAD_NOTES, ids=range(len(BAD_NOTES)))
def test_the_api_refuses_unreadable_notes(agency: Collector, token: str, note: str) -> None:
    reply = _api(agency, token, "POST", "/api/v1/shifts", json={**SHIFT, "note": note})
    assert reply.status_code == 422, reply.text
    assert reply.json()["details"] == [
        {"field": "note", "message": reply.json()["details"][0]["message"]}
    ]
    assert reply.json()["message"].startswith("note: must")
    shift = _api(agency, token, "POST", "/api/v1/shifts", json={**SHIFT, "note": "ok"}).json()
    for path, body in (
        (f"/api/v1/shifts/{shift['id']}", {"note": note}),
        (f"/api/v1/shifts/{shift['id']}/exceptions", {"day": "2026-12-07", "note": note}),
    ):
        method = "PATCH" if "exceptions" not in path else "POST"
        reply = _api(agency, token, method, path, json=body)
        assert reply.status_code == 422 and reply.json()["details"][0]["field"] == "note"
    roster = HEADER + f"bob,luna,2026-12-08,09:00,12:00,,{note}\n"
    reply = _import(agency, token, roster)
    assert reply.status_code == 422 and reply.json()["details"][0]["line"] == 2
    assert _api(agency, token, "GET", f"/api/v1/shifts/{shift['id']}").json()["note"] == "ok"
    assert _count(agency) == 1 and _count(agency, "shift_exceptions") == 0


def test_the_command_line_refuses_unreadable_notes(agency: Collector) -> None:
    base = ["shifts", "add", "alice", "luna", "--days", "mon", "--start", "09:00", "--end", "12:00"]
    for note in BAD_NOTES:
        result = agency.cli(*base, "--note", note, expect=1)
        assert "note: must" in result.output, result.output
    agency.cli(*base, "--from", "2026-12-07", "--note", "café ☕")
    for command in (
        ["shifts", "edit", "1", "--note", BAD_NOTES[0]],
        ["shifts", "cancel", "1", "2026-12-07", "--note", BAD_NOTES[1]],
    ):
        assert "note: must" in agency.cli(*command, expect=1).output
    assert "'café ☕'" in agency.cli("shifts", "list").output
    assert _count(agency, "shift_exceptions") == 0


def test_the_page_refuses_unreadable_notes(site: Site) -> None:  # noqa: F811
    form = {**SHIFT, "kind": "weekly", "weekdays": ["mon"], "zone": "UTC", "last_day": ""}
    for note in BAD_NOTES:
        reply = site.admin.post("/admin/shifts", **{**form, "note": note})
        assert reply.status_code == 422 and "note: must" in reply.text, reply.text[-2000:]
    assert site.value("SELECT count(*) FROM shifts") == 0


# Digits --------------------------------------------------------------------------------------


def test_the_api_takes_ascii_digits_only(agency: Collector, token: str) -> None:
    for start in ("0９:00", "1٩:00", "09:3٠", "１２:００"):
        reply = _api(agency, token, "POST", "/api/v1/shifts", json={**SHIFT, "start": start})
        assert reply.status_code == 422, (start, reply.text)
        assert reply.json()["details"][0]["field"] == "start"
    reply = _api(
        agency, token, "POST", "/api/v1/shifts", json={**SHIFT, "first_day": "2026-12-0７"}
    )
    assert reply.status_code == 422
    mine = _api(agency, token, "POST", "/api/v1/shifts", json=SHIFT).json()
    theirs = _api(
        agency,
        token,
        "POST",
        "/api/v1/shifts",
        json={**SHIFT, "chatter": "bob", "start": "13:00", "end": "15:00"},
    ).json()
    assert (mine["id"], theirs["id"]) == (1, 2)
    # "２" used to name shift 2 ("²" crashed int() with a 500).
    for other in ("２", "²", "٢"):
        reply = _api(
            agency,
            token,
            "POST",
            "/api/v1/shifts/1/exceptions",
            json={"day": "2026-12-07", "kind": "swapped", "with_shift": other},
        )
        assert reply.status_code == 422, (other, reply.text)
        assert reply.json()["details"][0]["field"] == "with_shift"
    client, _ = _werkzeug(agency)
    bearer = {"Authorization": f"Bearer {token}"}
    for path in ("/shifts/%EF%BC%91", "/shifts/%D9%A1", "/coverage-rules/%EF%BC%91"):
        assert client.get("/api/v1" + path, headers=bearer).status_code == 404, path
        assert client.get(
            "/api/v1" + path.replace("%EF%BC%91", "1"), headers=bearer
        ).status_code in (200, 404)
    assert client.delete("/api/v1/shifts/%EF%BC%91", headers=bearer).status_code == 404
    assert client.get("/api/v1/shifts?page=%EF%BC%91", headers=bearer).status_code == 400
    rule = {"creator": "luna", "weekdays": "daily", "start": "00:00", "end": "00:00"}
    for required in ("５", "1٠"):
        reply = _api(
            agency, token, "POST", "/api/v1/coverage-rules", json={**rule, "required": required}
        )
        assert reply.status_code == 422 and reply.json()["details"][0]["field"] == "required"
    reply = _import(agency, token, HEADER + "bob,luna,2026-12-08,０９:00,12:00,,\n")
    assert reply.status_code == 422 and reply.json()["details"][0]["line"] == 2
    assert _count(agency) == 2 and _count(agency, "shift_exceptions") == 0
    assert _count(agency, "coverage_rules") == 0


def test_the_command_line_takes_ascii_digits_only(agency: Collector) -> None:
    agency.cli(
        "shifts", "add", "alice", "luna", "--on", "2026-12-07", "--start", "09:00", "--end", "12:00"
    )
    for args in (
        ["shifts", "remove", "１"],
        ["shifts", "cancel", "١", "2026-12-07"],
        ["shifts", "swap", "1", "2026-12-07", "--with-shift", "２"],
        ["shifts", "week", "--days", "７"],
        ["coverage", "remove", "１"],
    ):
        result = agency.cli(*args, expect=2)
        assert "is not a whole number (digits 0-9)" in result.output, result.output
    result = agency.cli("shifts", "edit", "1", "--start", "0９:00", expect=1)
    assert "is not a time" in result.output
    result = agency.cli(
        "coverage",
        "add",
        "luna",
        "--days",
        "daily",
        "--start",
        "00:00",
        "--end",
        "00:00",
        "--required",
        "５",
        expect=1,
    )
    assert "whole number" in result.output
    assert agency.cli("shifts", "list").output.startswith("1\talice\tluna\tonce\t09:00-12:00")
    assert agency.cli("shifts", "week", "--from", "2026-12-07", "--days", "7").output


def test_the_pages_take_ascii_digits_only(site: Site) -> None:  # noqa: F811
    form = {**SHIFT, "kind": "once", "zone": "UTC", "note": ""}
    site.admin.follow(site.admin.post("/admin/shifts", **form))
    site.admin.follow(site.admin.post("/admin/shifts", **{**form, "chatter": "bob"}))
    client, csrf = _werkzeug(site.collector, ADMIN)
    for path in (
        "/admin/shifts/%EF%BC%91",
        "/admin/shifts/%D9%A1/delete",
        "/admin/coverage-rules/%EF%BC%91",
    ):
        assert client.get(path).status_code == 404, path
    assert client.get("/admin/shifts/1").status_code == 200
    reply = client.post("/admin/shifts/%EF%BC%91/delete", data={"csrf_token": csrf})
    assert reply.status_code == 404
    reply = site.admin.post(
        "/admin/shifts/1/exceptions", day="2026-12-07", kind="swapped", with_shift="２"
    )
    assert reply.status_code == 422 and "with_shift: must be a shift number" in reply.text
    reply = site.admin.post(
        "/admin/shifts", **{**form, "start": "1٩:00", "first_day": "2026-12-08"}
    )
    assert reply.status_code == 422 and "is not a time" in reply.text
    assert site.value("SELECT count(*) FROM shifts") == 2
    assert site.value("SELECT count(*) FROM shift_exceptions") == 0
