"""What a chatter or a team lead learns about people outside what they may see, through
the schedules, alerts and chatter-shifts APIs (both databases).  From the attack review
(tests/collector/review_attack/test_privacy.py on review-attack)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select

from collector.db.models import Chatter, Creator, chatter_creators
from collector.http.database import db
from tests.collector.auth.test_accounts import PASSWORD, login
from tests.collector.conftest import Collector

LEAD = "lead-privacy@agency.test"


def _call(
    c: Collector, method: str, path: str, token: str | None = None, **kw: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return c.http.request(method, path, headers=headers, **kw)


def _day_after_tomorrow() -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).date().isoformat()


def _shift(c: Collector, token: str, chatter: str, creator: str, day: str, **kw: Any) -> int:
    reply = _call(
        c,
        "POST",
        "/api/v1/shifts",
        token,
        json={
            "chatter": chatter,
            "creator": creator,
            "weekdays": "",
            "start": "10:00",
            "end": "12:00",
            "zone": "UTC",
            "first_day": day,
            **kw,
        },
    )
    assert reply.status_code == 201, reply.text
    shift_id: int = reply.json()["id"]
    return shift_id


def _swap(c: Collector, token: str, shift_id: int, day: str, to: str, note: str = "") -> None:
    reply = _call(
        c,
        "POST",
        f"/api/v1/shifts/{shift_id}/exceptions",
        token,
        json={"day": day, "kind": "swapped", "chatter": to, "note": note},
    )
    assert reply.status_code == 201, reply.text


def test_a_chatter_reading_their_own_shifts_never_learns_another_chatters_key(
    agency: Collector,
) -> None:
    """bob's shift for luna, its one day handed to alice: alice's shifts do not name bob;
    a manager's occurrences still do."""
    manager = agency.token("manager")
    day = _day_after_tomorrow()
    shift_id = _shift(agency, manager, "bob", "luna", day, note="bob's note")
    _swap(agency, manager, shift_id, day, "alice", note="bob sick")

    alice = agency.token("chatter", chatter="alice")
    reply = _call(agency, "GET", "/api/v1/stats/chatters/alice/shifts?tz=UTC&days=7", alice)
    assert reply.status_code == 200, reply.text
    rows = reply.json()["shifts"]
    assert len(rows) == 1 and rows[0]["chatter"] == "alice", rows
    assert rows[0]["planned_chatter"] is None and rows[0]["state"] == "swapped"
    # Nor the manager's notes: the day's ("bob sick") or the shift's.
    assert rows[0]["note"] is None and "bob" not in reply.text, rows[0]

    for path in (
        "/api/v1/stats/chatters/alice/shifts?tz=UTC&days=7",
        f"/api/v1/shifts/occurrences?tz=UTC&from={day}&to={day}",
    ):
        reply = _call(agency, "GET", path, manager)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        (row,) = body.get("shifts", body.get("occurrences"))
        assert (row["chatter"], row["planned_chatter"]) == ("alice", "bob")


@pytest.fixture
def lead(agency: Collector) -> Collector:
    """sol and dave (sol only) added; a team lead limited to nova, logged in."""
    agency.app.config["SESSION_COOKIE_SECURE"] = False
    agency.cli("add-creator", "sol", "--name", "Sol")
    agency.cli("add-chatter", "dave", "--name", "Dave", "--creator", "sol")
    agency.cli("add-user", LEAD, "--role", "manager", "--creators", "nova", input=PASSWORD + "\n")
    assert login(agency.http, LEAD, PASSWORD).status_code == 302
    return agency


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/shifts?chatter={chatter}",
        "/api/v1/shifts/occurrences?chatter={chatter}",
        "/api/v1/alerts?chatter={chatter}",
        "/api/v1/shifts?creator={creator}",
        "/api/v1/shifts/occurrences?creator={creator}",
        "/api/v1/coverage-rules?creator={creator}",
        "/api/v1/alerts?creator={creator}",
    ],
)
def test_a_team_lead_cannot_tell_which_keys_exist(lead: Collector, path: str) -> None:
    """dave and sol are not the lead's: asking about them reads exactly like asking about
    a key nobody has; an admin token still tells an unknown key (400) from a known one."""
    existing = lead.http.get(path.format(chatter="dave", creator="sol"))
    missing = lead.http.get(path.format(chatter="nobody-at-all", creator="nobody-at-all"))
    assert existing.status_code in (200, 403), existing.text
    assert (existing.status_code, existing.json().get("error")) == (
        missing.status_code,
        missing.json().get("error"),
    ), (existing.text, missing.text)
    admin = lead.token("admin")
    known = _call(lead, "GET", path.format(chatter="dave", creator="sol"), admin)
    nobody = path.format(chatter="nobody-at-all", creator="nobody-at-all")
    unknown = _call(lead, "GET", nobody, admin)
    assert known.status_code == 200, known.text
    assert (unknown.status_code, unknown.json()["error"]) == (400, "bad_parameter")


def test_a_team_lead_still_filters_by_their_own_keys(lead: Collector) -> None:
    manager = lead.token("manager")
    day = _day_after_tomorrow()
    _shift(lead, manager, "bob", "nova", day)
    for path in (
        "/api/v1/shifts?chatter=bob",
        "/api/v1/shifts?creator=nova",
        f"/api/v1/shifts/occurrences?chatter=bob&from={day}&to={day}&tz=UTC",
        f"/api/v1/shifts/occurrences?creator=nova&from={day}&to={day}&tz=UTC",
    ):
        reply = lead.http.get(path)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert len(body.get("shifts", body.get("occurrences"))) == 1, body


def test_a_team_lead_cannot_tell_which_shift_ids_exist(lead: Collector) -> None:
    manager = lead.token("manager")
    day = _day_after_tomorrow()
    other = _shift(lead, manager, "dave", "sol", day)
    mine = _shift(lead, manager, "bob", "nova", day)
    assert lead.http.get(f"/api/v1/shifts/{mine}").status_code == 200
    seen = lead.http.get(f"/api/v1/shifts/{other}")
    missing = lead.http.get(f"/api/v1/shifts/{other + 1000}")
    assert (seen.status_code, seen.json()["error"]) == (404, "not_found"), seen.text
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert _call(lead, "GET", f"/api/v1/shifts/{other}", manager).status_code == 200


def test_a_team_lead_is_never_told_a_chatter_outside_their_creators(lead: Collector) -> None:
    """dave, once of nova too, handed his nova day to bob and then left nova: the lead's
    occurrences and bob's shifts (as the lead reads them) name neither him nor his key."""
    _, day = _dave_once_of_nova(lead, owner="dave", to="bob")
    for path in (
        f"/api/v1/shifts/occurrences?tz=UTC&from={day}&to={day}",
        "/api/v1/stats/chatters/bob/shifts?tz=UTC&days=7",
    ):
        reply = lead.http.get(path)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        (row,) = body.get("shifts", body.get("occurrences"))
        assert (row["chatter"], row["planned_chatter"]) == ("bob", None), row
        assert "dave" not in reply.text


def _dave_once_of_nova(lead: Collector, owner: str = "bob", to: str = "dave") -> tuple[int, str]:
    """``owner``'s nova shift, its day handed to ``to`` while dave also worked for nova;
    then dave left nova: (the shift's id, its day)."""
    with lead.app.app_context():
        session = db.session
        dave = session.scalar(select(Chatter.id).where(Chatter.key == "dave"))
        nova = session.scalar(select(Creator.id).where(Creator.key == "nova"))
        session.execute(chatter_creators.insert().values(chatter_id=dave, creator_id=nova))
        session.commit()
    manager = lead.token("manager")
    day = _day_after_tomorrow()
    shift_id = _shift(lead, manager, owner, "nova", day)
    _swap(lead, manager, shift_id, day, to)
    with lead.app.app_context():
        db.session.execute(
            delete(chatter_creators).where(
                chatter_creators.c.chatter_id == dave, chatter_creators.c.creator_id == nova
            )
        )
        db.session.commit()
    return shift_id, day


def test_a_team_leads_shift_exceptions_never_name_a_chatter_outside_their_creators(
    lead: Collector,
) -> None:
    """The shifts API as the lead reads it: the day swapped to dave is there, its chatter
    null (the occurrences' rule, listing.shown); an admin token still reads dave."""
    bobs, day = _dave_once_of_nova(lead)
    for path in ("/api/v1/shifts", f"/api/v1/shifts/{bobs}", "/api/v1/shifts?chatter=bob"):
        reply = lead.http.get(path)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        (shift,) = body["shifts"] if "shifts" in body else [body]
        assert shift["chatter"] == "bob"
        assert shift["exceptions"] == [
            {"day": day, "kind": "swapped", "chatter": None, "note": ""}
        ], shift
        assert "dave" not in reply.text.lower(), reply.text
    admin = lead.token("admin")
    for path in ("/api/v1/shifts", f"/api/v1/shifts/{bobs}"):
        body = _call(lead, "GET", path, admin).json()
        (shift,) = body["shifts"] if "shifts" in body else [body]
        assert shift["exceptions"][0]["chatter"] == "dave", shift
