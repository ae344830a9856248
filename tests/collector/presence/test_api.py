"""Presence through the API on both databases: signed messages in, the board out."""

from __future__ import annotations

import datetime as dt
import random
import threading

import httpx
import pytest

from collector import create_app
from collector.api import presence as api_presence
from shared.protocol import MAX_PRESENCE_BODY
from tests.collector.auth.test_accounts import PASSWORD, login
from tests.collector.conftest import Agent, Collector
from tests.collector.presence.helpers import (
    PATH,
    UNLIMITED,
    add_shift,
    board,
    body,
    creator,
    person,
    send,
    stored,
    unlimited,
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def test_a_signed_message_is_stored_and_shown(agency: Collector, agent: Agent) -> None:
    reply = send(agent, "idle", 240)
    assert reply.status_code == 200, reply.text
    assert reply.json()["stored"] is True and reply.json()["interval_seconds"] == 30
    assert [row[:2] for row in stored(agency)] == [("idle", 240)]
    data = board(agency, agency.token("manager"))
    alice = person(data, "alice")
    assert alice["state"] == "idle" and alice["online"] and alice["idle_seconds"] == 240
    assert alice["last_seen"] is not None and alice["devices_online"] == 1
    bob = person(data, "bob")
    assert (bob["state"], bob["online"], bob["last_seen"]) == ("offline", False, None)
    assert data["offline_after_seconds"] == 90


def test_an_agent_that_sent_slices_but_no_presence_was_seen(agency: Collector) -> None:
    """Found by review: the Now page said "never seen" of a chatter whose agent sent slices
    an hour ago (an older agent, or the demo): the last batch counts as seen."""
    bob = agency.enroll("bob")
    assert bob.send(bob.slices(1)).status_code == 200
    data = board(agency, agency.token("manager"))
    seen = person(data, "bob")
    assert seen["state"] == "offline" and seen["last_seen"] is not None
    # Offline (no presence for 90 s) yet data just now: worded as data, never "seen just
    # now", which would contradict "offline".
    agency.app.config["SESSION_COOKIE_SECURE"] = False
    agency.cli("add-user", "boss@agency.test", "--role", "manager", input=PASSWORD + "\n")
    assert login(agency.http, "boss@agency.test", PASSWORD).status_code == 302
    page = agency.http.get("/now").text
    row = page[page.index('data-chatter="bob"') :]
    row = row[: row.index("</tr>")]
    assert "offline · last data just now" in row and "seen" not in row


def test_an_older_message_never_replaces_a_newer_one(agency: Collector, agent: Agent) -> None:
    unlimited(agency)  # messages in a row (the rate: test_limits.py)
    t = now()
    assert send(agent, "active", 0, sent_at=t).json()["stored"] is True
    older = send(agent, "idle", 600, sent_at=t - dt.timedelta(seconds=30))
    assert older.status_code == 200 and older.json()["stored"] is False
    # The same message again (a replay of the captured request) changes nothing either.
    replay = agent.signed_post(PATH, body("active", 0, sent_at=t))
    assert replay.json()["stored"] is False
    assert stored(agency) == [("active", 0, t)]
    newer = send(agent, "paused", 0, sent_at=t + dt.timedelta(seconds=30))
    assert newer.json()["stored"] is True
    ((state, idle, kept),) = stored(agency)
    # Dated ahead of the server: kept as of the server's time (see the next test).
    assert (state, idle) == ("paused", 0) and t < kept <= t + dt.timedelta(seconds=30)


def test_a_message_dated_ahead_does_not_freeze_the_state(agency: Collector, agent: Agent) -> None:
    """Found by review: a message dated 280 s ahead (inside the signing tolerance) won over
    every real message for the next 280 s, so a running agent showed offline."""
    unlimited(agency)
    assert send(agent, "active", 0, sent_at=now() + dt.timedelta(seconds=280)).json()["stored"]
    later = send(agent, "paused", 0, sent_at=now() + dt.timedelta(seconds=1))
    assert later.json()["stored"] is True
    assert [row[:2] for row in stored(agency)] == [("paused", 0)]


def test_offline_after_90_seconds_of_silence(
    agency: Collector, agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = agency.token("manager")
    received = now()
    monkeypatch.setattr(api_presence, "utc_now", lambda: received)  # the collector's clock
    assert send(agent, "active", sent_at=received).status_code == 200
    for seconds, state in ((0, "active"), (89, "active"), (90, "offline"), (3600, "offline")):
        moment = received + dt.timedelta(seconds=seconds)
        monkeypatch.setattr(api_presence, "utc_now", lambda moment=moment: moment)
        alice = person(board(agency, token), "alice")
        assert alice["state"] == state, seconds
        assert (alice["idle_seconds"] is None) == (state == "offline")
        assert alice["last_seen"] is not None


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"not json", 400, "malformed_json"),
        (
            b'{"state": "active\\u0000", "idle_seconds": 0, "sent_at": "%s"}',
            422,
            "invalid_presence",
        ),
        (b'{"state": "away", "idle_seconds": 0, "sent_at": "%s"}', 422, "invalid_presence"),
        (b'{"state": "offline", "idle_seconds": 0, "sent_at": "%s"}', 422, "invalid_presence"),
        (
            b'{"state": "idle", "idle_seconds": 1' + b"0" * 40 + b', "sent_at": "%s"}',
            422,
            "invalid_presence",
        ),
        (b'{"state": "idle", "idle_seconds": 15, "sent_at": "%s"}', 422, "invalid_presence"),
        (b'{"state": "idle", "idle_seconds": -10, "sent_at": "%s"}', 422, "invalid_presence"),
        (b'{"state": "idle", "idle_seconds": 10}', 422, "invalid_presence"),
        (
            b'{"state": "idle", "idle_seconds": 10, "sent_at": "9999-12-31T23:59:59-23:59"}',
            422,
            "invalid_presence",
        ),
        (
            b'{"state": "idle", "idle_seconds": 10, "sent_at": "2020-01-01T00:00:00Z"}',
            422,
            "invalid_presence",
        ),
        (b"[" * 2000, 400, None),
        (b'{"state": "active", "pad": "' + b"x" * MAX_PRESENCE_BODY + b'"}', 413, None),
    ],
)
def test_bad_messages_get_a_clear_4xx_and_store_nothing(
    agency: Collector, agent: Agent, payload: bytes, status: int, code: str | None
) -> None:
    if b"%s" in payload:
        payload = payload.replace(b"%s", now().isoformat().encode())
    reply = agent.signed_post(PATH, payload)
    assert reply.status_code == status, reply.text
    if code is not None:
        assert reply.json()["error"] == code and reply.json()["message"]
    assert stored(agency) == []


def test_unsigned_wrongly_signed_and_revoked_are_refused(agency: Collector, agent: Agent) -> None:
    unsigned = agency.http.post(PATH, content=body(), headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "missing_signature"
    wrong = agent.signed_post(PATH, body(), secrets=["not-the-secret"])
    assert wrong.status_code == 401 and wrong.json()["error"] == "bad_signature"
    # Signed for another endpoint: the path is part of what is signed.
    other = agent.signed_post(PATH, body(), sign_path="/api/v1/heartbeats")
    assert other.status_code == 401
    stale = agent.signed_post(PATH, body(), timestamp=int(now().timestamp()) - 3600)
    assert stale.status_code == 401 and stale.json()["error"] == "clock_skew"
    agency.cli("revoke-device", agent.device_id)
    revoked = send(agent)
    assert revoked.status_code == 403 and revoked.json()["error"] == "device_revoked"
    assert stored(agency) == []


def test_the_most_present_device_wins(
    agency: Collector, agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    unlimited(agency)
    token = agency.token("manager")
    laptop = agency.enroll("alice")
    t = now()
    assert send(agent, "idle", 300, sent_at=t).status_code == 200
    assert send(laptop, "paused", 0, sent_at=t).status_code == 200
    alice = person(board(agency, token), "alice")
    assert (alice["state"], alice["idle_seconds"], alice["devices_online"]) == ("idle", 300, 2)
    assert send(laptop, "active", 0, sent_at=t + dt.timedelta(seconds=1)).status_code == 200
    assert person(board(agency, token), "alice")["state"] == "active"
    # The active laptop falls silent: the other computer, still heard from, decides.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=100)
    monkeypatch.setattr(api_presence, "utc_now", lambda: later)
    assert send(agent, "idle", 400, sent_at=later.replace(microsecond=0)).status_code == 200
    alice = person(board(agency, token), "alice")
    assert (alice["state"], alice["idle_seconds"], alice["devices_online"]) == ("idle", 400, 1)


def test_a_revoked_devices_presence_no_longer_counts(agency: Collector, agent: Agent) -> None:
    token = agency.token("manager")
    assert send(agent, "active").status_code == 200
    agency.cli("revoke-device", agent.device_id)
    assert person(board(agency, token), "alice")["state"] == "offline"


def test_scheduled_now_against_presence_per_creator(agency: Collector, agent: Agent) -> None:
    token = agency.token("manager")
    start = now().replace(second=0) - dt.timedelta(hours=1)
    add_shift(agency, "alice", "luna", start, zone="Europe/Paris")
    add_shift(agency, "bob", "nova", start)
    # Over: not scheduled now.
    add_shift(agency, "bob", "luna", start - dt.timedelta(hours=12), hours=2)
    assert send(agent, "active").status_code == 200
    data = board(agency, token)
    luna, nova = creator(data, "luna"), creator(data, "nova")
    assert [(s["chatter"], s["state"], s["missing"]) for s in luna["scheduled"]] == [
        ("alice", "active", False)
    ]
    assert luna["scheduled"][0]["starts_at"] == start.isoformat().replace("+00:00", "Z")
    assert [(s["chatter"], s["state"], s["missing"]) for s in nova["scheduled"]] == [
        ("bob", "offline", True)
    ]
    assert (nova["scheduled_count"], nova["scheduled_online"], nova["scheduled_offline"]) == (
        1,
        0,
        1,
    )
    assert luna["unscheduled_online"] == nova["unscheduled_online"] == []
    assert person(data, "alice")["scheduled_for"] == ["luna"]

    # Bob comes online: his shift is covered; alice's shift is cancelled... by a new day.
    bob = agency.enroll("bob")
    assert send(bob, "idle", 200).status_code == 200
    nova = creator(board(agency, token), "nova")
    assert nova["scheduled"][0]["state"] == "idle" and not nova["scheduled"][0]["missing"]


def test_online_without_a_shift_is_listed_under_their_creators(agency: Collector) -> None:
    token = agency.token("manager")
    bob = agency.enroll("bob")
    assert send(bob, "active").status_code == 200
    data = board(agency, token)
    for key in ("luna", "nova"):  # bob works for both, scheduled for neither
        listed = creator(data, key)["unscheduled_online"]
        assert [(p["chatter"], p["state"]) for p in listed] == [("bob", "active")]
        assert creator(data, key)["scheduled"] == []


def test_a_team_lead_sees_only_their_creators(agency: Collector, agent: Agent) -> None:
    agency.app.config["SESSION_COOKIE_SECURE"] = False  # the test client speaks plain HTTP
    agency.cli(
        "add-user",
        "lead@agency.test",
        "--role",
        "manager",
        "--creators",
        "nova",
        input=PASSWORD + "\n",
    )
    assert send(agent, "active").status_code == 200  # alice: luna's only
    bob = agency.enroll("bob")
    assert send(bob, "active").status_code == 200
    add_shift(agency, "alice", "luna", now().replace(second=0))
    assert login(agency.http, "lead@agency.test", PASSWORD).status_code == 302
    data = agency.http.get("/api/v1/presence").json()
    assert [c["creator"] for c in data["creators"]] == ["nova"]
    assert [p["chatter"] for p in data["chatters"]] == ["bob"]
    page = agency.http.get("/now")
    assert page.status_code == 200
    assert "Nova" in page.text and "Luna" not in page.text and "Alice" not in page.text


def test_only_managers_read_the_board(agency: Collector) -> None:
    headers = {"Authorization": f"Bearer {agency.token('chatter', 'alice')}"}
    assert agency.http.get("/api/v1/presence", headers=headers).status_code == 403
    assert agency.http.get("/api/v1/presence").status_code == 401


def test_two_processes_racing_keep_the_newest_message(agency: Collector, agent: Agent) -> None:
    """Two collector apps (each its own engine, as two processes) take messages of one
    device in any order: the stored row is the newest message, whatever came last."""
    unlimited(agency)
    other = create_app(
        {"DATABASE_URL": agency.database_url, "TESTING": True, **UNLIMITED}  # see above
    )
    clients = [
        agency.http,
        httpx.Client(transport=httpx.WSGITransport(app=other), base_url="http://collector.test"),
    ]
    t = now()
    moments = [t - dt.timedelta(seconds=s) for s in range(40)]
    random.Random(15).shuffle(moments)
    problems: list[str] = []

    def post(index: int) -> None:
        for i, moment in enumerate(moments):
            if i % 2 != index:
                continue
            courier = Agent(clients[index], agent.device_id, agent.key_id, agent.secret)
            reply = courier.signed_post(PATH, body("idle", 10 * i, sent_at=moment))
            if reply.status_code != 200:
                problems.append(reply.text)

    threads = [threading.Thread(target=post, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    clients[1].close()
    with other.app_context():
        from collector.http.database import db

        db.engine.dispose()
    assert problems == []
    newest = moments.index(t)
    assert stored(agency) == [("idle", 10 * newest, t)]


def test_the_now_page_and_the_chatters_own_page(agency: Collector, agent: Agent) -> None:
    agency.app.config["SESSION_COOKIE_SECURE"] = False
    agency.cli("add-user", "boss@agency.test", "--role", "manager", input=PASSWORD + "\n")
    add_shift(agency, "bob", "nova", now().replace(second=0) - dt.timedelta(minutes=30))
    assert send(agent, "idle", 250).status_code == 200
    assert login(agency.http, "boss@agency.test", PASSWORD).status_code == 302
    page = agency.http.get("/now")
    assert page.status_code == 200
    html = page.text
    assert 'href="/now" aria-current="page"' in html
    assert 'data-chatter="bob" data-state="offline" class="missing"' in html
    assert ">missing</strong>" in html and "0 of 1 scheduled online" in html
    assert 'data-chatter="alice" data-state="idle"' in html and "idle 4 min" in html
    assert agency.http.get("/now", params={"refresh": "999999"}).status_code == 200
    alice = agency.http.get("/chatters/alice")
    assert 'id="chatter-now"' in alice.text and "idle 4 min" in alice.text


def test_erasing_a_chatter_erases_their_presence(agency: Collector, agent: Agent) -> None:
    assert send(agent, "active").status_code == 200
    agency.cli("chatter-erase", "alice", "--yes")
    assert stored(agency) == []
