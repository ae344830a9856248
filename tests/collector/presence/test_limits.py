"""What the collector refuses of presence, on both databases: an uninstalled device's
messages (and its presence no longer counts), and a device's messages sooner than the
least interval after the last one taken, also when they race through two processes; and
how the real agent's presence sender meets that refusal."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from agent.client import CollectorClient
from agent.config import AgentConfig, DeviceKey
from agent.presence import BACKOFF_CAP, PresenceSender, Snapshot
from agent.state import SharedState
from collector import create_app
from collector.api import presence as api_presence
from collector.db.schedule_models import Presence
from collector.presence.state import MIN_INTERVAL
from tests.collector.auth.test_accounts import PASSWORD, login
from tests.collector.conftest import Agent, Collector
from tests.collector.presence.helpers import PATH, board, body, person, send, stored, unlimited

RETIRE = "/api/v1/agents/retire"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def clock(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    """The collector's time (the agents sign with the real one: well inside 300 s)."""
    monkeypatch.setattr(api_presence, "utc_now", lambda: moment)


def test_an_uninstalled_devices_presence_no_longer_counts_and_is_refused(
    agency: Collector, agent: Agent
) -> None:
    """Found by review: an agent uninstalled a moment after its last message showed online
    on the Now page and in GET /api/v1/presence for up to 90 s, and its messages (one on
    its way, or a replayed one) were taken after the uninstall."""
    unlimited(agency)  # messages in a row; the rate is the next tests'
    agency.app.config["SESSION_COOKIE_SECURE"] = False
    agency.cli("add-user", "boss@agency.test", "--role", "manager", input=PASSWORD + "\n")
    token = agency.token("manager")
    assert send(agent, "active").status_code == 200
    assert person(board(agency, token), "alice")["devices_online"] == 1

    assert agent.signed_post(RETIRE, b'{"unsent_slices": 0}').status_code == 200
    alice = person(board(agency, token), "alice")
    assert (alice["state"], alice["online"], alice["devices_online"]) == ("offline", False, 0)
    assert alice["idle_seconds"] is None
    assert login(agency.http, "boss@agency.test", PASSWORD).status_code == 302
    assert 'data-chatter="alice" data-state="offline"' in agency.http.get("/now").text

    # A message signed before the uninstall (on its way, or sent again): refused.
    before = stored(agency)
    signed = int(time.time()) - 5
    late = body("active", sent_at=now() + dt.timedelta(seconds=1))
    refused = agent.signed_post(PATH, late, timestamp=signed)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "device_retired"
    assert "uninstalled" in refused.json()["message"]
    assert stored(agency) == before
    assert person(board(agency, token), "alice")["state"] == "offline"

    # Reinstalled: its first message, signed after the uninstall, counts (no batch needed).
    again = send(agent, "idle", 20, sent_at=now() + dt.timedelta(seconds=2))
    assert again.status_code == 200 and again.json()["stored"] is True
    assert person(board(agency, token), "alice")["state"] == "idle"


def test_a_message_sooner_than_the_least_interval_is_refused_with_retry_after(
    agency: Collector, agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = now()
    seconds = int(MIN_INTERVAL.total_seconds())
    assert seconds == 15
    clock(monkeypatch, t)
    assert send(agent, "active", sent_at=t).json()["stored"] is True

    clock(monkeypatch, t + dt.timedelta(seconds=5))
    for message in (body("idle", 10, sent_at=t + dt.timedelta(seconds=5)), body(sent_at=t)):
        soon = agent.signed_post(PATH, message)  # a newer message, then a replay
        assert soon.status_code == 429, soon.text
        assert soon.headers["Retry-After"] == str(seconds - 5)
        assert soon.json()["error"] == "presence_too_soon"
        assert f"every {seconds} s" in soon.json()["message"]
    assert stored(agency) == [("active", 0, t)]

    # Counted from the last message taken: the refused ones do not push it further.
    later = t + MIN_INTERVAL
    clock(monkeypatch, later)
    assert send(agent, "paused", sent_at=later).json()["stored"] is True
    # Past the interval, an older message is no rate problem: not taken, as before.
    clock(monkeypatch, later + MIN_INTERVAL)
    older = send(agent, "idle", 10, sent_at=t + dt.timedelta(seconds=1))
    assert older.status_code == 200 and older.json()["stored"] is False
    assert stored(agency) == [("paused", 0, later)]

    # The interval is the operator's (CHATTER_PRESENCE_MIN_INTERVAL).
    agency.app.config["PRESENCE_MIN_INTERVAL_SECONDS"] = 60
    clock(monkeypatch, later + dt.timedelta(seconds=40))
    slow = send(agent, "idle", 10, sent_at=later + dt.timedelta(seconds=40))
    assert slow.status_code == 429 and slow.headers["Retry-After"] == "20"


def test_each_device_has_its_own_interval(agency: Collector, agent: Agent) -> None:
    laptop = agency.enroll("alice")
    assert send(agent, "active").json()["stored"] is True
    assert send(laptop, "idle", 30).json()["stored"] is True
    assert sorted(row[:2] for row in stored(agency)) == [("active", 0), ("idle", 30)]


def _waiting_on_a_lock(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    engine.dispose()
    return int(count or 0)


def test_messages_racing_the_limit_through_two_processes_are_taken_once(
    agency: Collector, agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight newer messages of one device at once, through two collector apps (each its
    own engine, as two processes): one is taken, the others get 429.  On PostgreSQL the
    test holds the device's row locked until all eight wait on it, so every request has
    read the old row (due) before any is written: the limit must be decided on the row as
    locked, not as read before."""
    t = now()
    clock(monkeypatch, t - dt.timedelta(seconds=60))
    assert send(agent, "idle", 600, sent_at=t - dt.timedelta(seconds=60)).json()["stored"]
    clock(monkeypatch, t)
    other = create_app({"DATABASE_URL": agency.database_url, "TESTING": True})
    clients = [
        agency.http,
        httpx.Client(transport=httpx.WSGITransport(app=other), base_url="http://collector.test"),
    ]
    racers = 8
    replies: list[httpx.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(racers)

    def post(index: int) -> None:
        courier = Agent(clients[index % 2], agent.device_id, agent.key_id, agent.secret)
        message = body("active", 0, sent_at=t - dt.timedelta(seconds=index))
        start.wait()
        reply = courier.signed_post(PATH, message)
        with lock:
            replies.append(reply)

    postgres = agency.database_url.startswith("postgresql")
    holder = create_engine(agency.database_url)
    threads = [threading.Thread(target=post, args=(i,)) for i in range(racers)]
    with holder.connect() as held:
        if postgres:
            held.execute(select(Presence).with_for_update())
        for thread in threads:
            thread.start()
        if postgres:
            deadline = time.monotonic() + 60
            while _waiting_on_a_lock(agency.database_url) < racers:
                assert time.monotonic() < deadline, "the racers never all waited on the row"
                time.sleep(0.05)
        held.rollback()
    for thread in threads:
        thread.join()
    holder.dispose()
    clients[1].close()
    with other.app_context():
        from collector.http.database import db

        db.engine.dispose()

    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200] + [429] * (racers - 1), [r.text for r in replies]
    (taken,) = [r for r in replies if r.status_code == 200]
    assert taken.json()["stored"] is True
    assert all(int(r.headers["Retry-After"]) >= 1 for r in replies if r.status_code == 429)
    ((state, idle, sent_at),) = stored(agency)
    assert (state, idle) == ("active", 0) and t - dt.timedelta(seconds=racers) < sent_at <= t


def _sender(
    agency: Collector, agent: Agent, idle_for: float
) -> tuple[PresenceSender, CollectorClient]:
    """The agent's real presence sender, every 30 s, talking to the collector in process;
    its last input ``idle_for`` seconds before each message."""
    config = AgentConfig(server="http://collector.test", device_id=agent.device_id)
    shared = SharedState(config=config, key=DeviceKey(key_id=agent.key_id, secret=agent.secret))
    client = CollectorClient("http://collector.test", transport=httpx.WSGITransport(app=agency.app))
    sender = PresenceSender(
        shared,
        lambda: Snapshot(False, time.time() - idle_for, 180),
        threading.Event(),
        interval=30,
        client=client,
    )
    return sender, client


def test_the_agent_backs_off_on_the_collectors_429(
    agency: Collector, agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real presence sender against the real collector: a second message within the
    interval (an agent restarted at once) gets 429, and the agent waits at least as long as
    Retry-After says (and twice its interval), so its next message is taken."""
    sender, client = _sender(agency, agent, idle_for=42)
    t = now()
    clock(monkeypatch, t)
    assert sender.send_once() is None and sender.sent == 1
    clock(monkeypatch, t + dt.timedelta(seconds=2))
    wait = sender.send_once()
    assert sender.last_problem == "collector answered 429" and sender.sent == 1
    assert wait is not None and wait == 60.0  # twice the interval, more than Retry-After (13)
    assert wait <= BACKOFF_CAP
    clock(monkeypatch, t + dt.timedelta(seconds=2 + wait))
    assert sender.send_once() is None and sender.sent == 2 and sender.last_problem is None
    client.close()
    ((state, idle, _),) = stored(agency)
    assert (state, idle) == ("active", 40)


def test_a_reinstalled_agents_first_presence_shows_the_chatter_online(
    agency: Collector, agent: Agent
) -> None:
    """Found by review: after a reinstall (the same device, its data kept) the chatter
    showed offline on the Now page until the agent's first batch of slices, because the
    device's presence was refused (409 device_retired) until a batch ended the uninstall.
    The real agent's presence sender, no batch at all: its first message, signed after the
    uninstall, makes the device current and the chatter online; a message captured before
    the uninstall, sent again, still revives nothing."""
    unlimited(agency)  # messages in a row; the rate is the other tests'
    agency.app.config["SESSION_COOKIE_SECURE"] = False
    agency.cli("add-user", "boss@agency.test", "--role", "manager", input=PASSWORD + "\n")
    token = agency.token("manager")
    before = int(time.time()) - 20
    captured = body("active", sent_at=now() - dt.timedelta(seconds=20))
    assert agent.signed_post(PATH, captured, timestamp=before).status_code == 200
    assert agent.signed_post(RETIRE, b'{"unsent_slices": 0}').status_code == 200
    assert person(board(agency, token), "alice")["state"] == "offline"

    replay = agent.signed_post(PATH, captured, timestamp=before)
    assert (replay.status_code, replay.json()["error"]) == (409, "device_retired"), replay.text
    listed = json.loads(agency.cli("devices", "--json").output)
    assert [d["state"] for d in listed] == ["uninstalled"]

    sender, client = _sender(agency, agent, idle_for=1)
    try:
        assert sender.send_once() is None
        assert (sender.sent, sender.last_problem) == (1, None)
    finally:
        client.close()
    alice = person(board(agency, token), "alice")
    assert (alice["state"], alice["online"], alice["devices_online"]) == ("active", True, 1)
    assert login(agency.http, "boss@agency.test", PASSWORD).status_code == 302
    assert 'data-chatter="alice" data-state="active"' in agency.http.get("/now").text
    listed = json.loads(agency.cli("devices", "--json").output)
    assert [(d["state"], d["retired_at"], d["last_seen_at"]) for d in listed] == [
        ("active", None, None)  # presence alone: no batch of slices came
    ]
