"""The presence sender in one process: its state rule, its body, and how it meets a
collector that fails (MockTransport: the wire is tested with real processes in
test_presence.py)."""

from __future__ import annotations

import json
import threading

import httpx
import msgspec

from agent.client import CollectorClient
from agent.config import AgentConfig, DeviceKey
from agent.presence import BACKOFF_CAP, PATH, PresenceSender, Snapshot, body, state_of
from agent.state import SharedState
from shared import signing
from shared.protocol import Presence

SECRET = "s3cret-device-key-value"
NOW = 1_800_000_000.0


def test_state_follows_the_timeline_rule() -> None:
    assert state_of(Snapshot(False, NOW - 3, 180), NOW) == ("active", 0)
    assert state_of(Snapshot(False, NOW - 180, 180), NOW) == ("active", 180)
    assert state_of(Snapshot(False, NOW - 181, 180), NOW) == ("idle", 180)
    assert state_of(Snapshot(False, NOW - 246, 180), NOW) == ("idle", 250)
    assert state_of(Snapshot(True, NOW - 999, 180), NOW) == ("paused", 0)
    assert state_of(Snapshot(False, None, 180), NOW) == ("idle", 0)
    assert state_of(Snapshot(False, NOW + 5, 180), NOW) == ("active", 0)  # a future anchor


def test_the_body_is_a_presence_message_and_nothing_more() -> None:
    raw = body(Snapshot(False, NOW - 42, 180), NOW)
    assert set(json.loads(raw)) == {"state", "idle_seconds", "sent_at"}
    message = msgspec.json.decode(raw, type=Presence)
    assert (message.state, message.idle_seconds) == ("active", 40)
    assert message.sent_at.timestamp() == NOW


def sender(
    handler: httpx.MockTransport, snapshot: Snapshot | None = None
) -> tuple[PresenceSender, SharedState]:
    config = AgentConfig(server="http://collector.test", device_id="d1")
    state = SharedState(config=config, key=DeviceKey(key_id="key_1", secret=SECRET))
    client = CollectorClient("http://collector.test", transport=handler)
    made = PresenceSender(
        state,
        lambda: snapshot or Snapshot(False, None, 180),
        threading.Event(),
        interval=30,
        client=client,
    )
    return made, state


def test_a_message_is_signed_like_a_heartbeat_batch() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"stored": True, "server_time": "2026-11-30T12:00:00Z"})

    made, _ = sender(httpx.MockTransport(answer))
    assert made.send_once() is None and made.sent == 1
    (request,) = seen
    assert request.url.path == PATH
    assert request.headers[signing.HEADER_KEY] == "key_1"
    assert signing.verify(
        [SECRET],
        request.headers[signing.HEADER_SIGNATURE],
        "POST",
        PATH,
        int(request.headers[signing.HEADER_TIMESTAMP]),
        request.content,
    )
    # The secret signs; it never travels.
    assert SECRET.encode() not in request.content
    assert all(SECRET not in value for value in request.headers.values())


def test_busy_or_failing_collector_means_back_off_and_drop() -> None:
    statuses = iter([503, 500, 429, 503, 200, 404])
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        calls.append(status)
        if status == 200:
            return httpx.Response(200, json={"stored": True, "server_time": "2026-11-30T12:00:00Z"})
        headers = {"Retry-After": "120"} if status == 429 else {}
        return httpx.Response(status, json={"error": "busy", "message": "m"}, headers=headers)

    made, _ = sender(httpx.MockTransport(answer))
    waits = [made.send_once() for _ in range(6)]
    # Growing waits from the interval, Retry-After honoured, capped; none after a 200; a
    # 404 (an older collector) is dropped without a longer wait.
    assert waits == [60.0, 120.0, 240.0, BACKOFF_CAP, None, None]
    assert made.sent == 1 and made.last_problem == "collector answered 404"


def test_an_unreachable_collector_costs_one_message_not_a_queue() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    made, _ = sender(httpx.MockTransport(answer))
    assert made.send_once() is None and made.sent == 0
    assert made.last_problem is not None and "unreachable" in made.last_problem


def test_the_thread_ends_when_the_agent_stops() -> None:
    stop = threading.Event()
    sent = threading.Event()

    def answer(request: httpx.Request) -> httpx.Response:
        sent.set()
        return httpx.Response(200, json={"stored": True, "server_time": "2026-11-30T12:00:00Z"})

    config = AgentConfig(server="http://collector.test", device_id="d1")
    state = SharedState(config=config, key=DeviceKey(key_id="key_1", secret=SECRET))
    made = PresenceSender(
        state,
        lambda: Snapshot(False, None, 180),
        stop,
        interval=30,
        client=CollectorClient("http://collector.test", transport=httpx.MockTransport(answer)),
    )
    made.start()
    assert sent.wait(10)  # the first message goes at once
    stop.set()
    made.join(10)
    assert not made.is_alive()
