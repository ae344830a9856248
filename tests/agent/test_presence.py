"""Live presence end to end: a real agent under Xvfb, a real collector process, the board
read over HTTP; presence never holding up slices; presence bodies carry no key."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.agent.conftest import (
    AgentProcess,
    CollectorProcess,
    running_collector,
    wait_for,
    xdotool,
)
from tests.agent.proxy import RecordingProxy

PRESENCE = "/api/v1/agents/presence"
FAST = {"CHATTER_AGENT_PRESENCE_INTERVAL": "0.5"}  # the default is 30 s


@pytest.fixture
def collector_process(tmp_path: Path) -> Iterator[CollectorProcess]:
    """The collector takes a device's presence at most every 0.2 s here (15 s by default,
    for agents sending every 30 s): the agents of these tests send every 0.5 s."""
    with running_collector(tmp_path, CHATTER_PRESENCE_MIN_INTERVAL="0.2") as collector:
        yield collector


def alice(collector: CollectorProcess, token: str) -> dict[str, Any]:
    reply = httpx.get(
        collector.url + "/api/v1/presence", headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status_code == 200, reply.text
    (found,) = [p for p in reply.json()["chatters"] if p["chatter"] == "alice"]
    return dict(found)


def test_presence_follows_the_agent_from_active_to_offline(
    display: str, collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    token = collector_process.cli("api-token", "boss", "--role", "manager")
    with RecordingProxy(collector_process.url) as proxy:
        agent = make_agent(server=proxy.url, **FAST)
        assert alice(collector_process, token)["state"] == "offline"
        agent.start()

        def state() -> str:
            return str(alice(collector_process, token)["state"])

        # Started: active from the session's start, idle 3 s (the idle threshold) later.
        wait_for(lambda: state() == "idle", 30, "alice idle without input")
        secret = "hunter2presence"
        for _ in range(3):
            xdotool(display, "type", "--delay", "80", secret)
            if state() == "active":
                break
        wait_for(lambda: state() == "active", 15, "alice active after typing")
        wait_for(lambda: state() == "idle", 30, "alice idle again after the typing")
        wait_for(
            lambda: (alice(collector_process, token)["idle_seconds"] or 0) >= 10, 30, "10 s idle"
        )

        agent.cli("pause")
        wait_for(lambda: state() == "paused", 15, "alice paused")
        agent.cli("resume")
        wait_for(lambda: state() != "paused", 15, "alice back from the pause")

        agent.stop()
        # Silence is offline: no message is needed, only 90 s without one.
        last_seen = alice(collector_process, token)["last_seen"]
        wait_for(lambda: state() == "offline", 150, "alice offline after the agent stopped", 2)
        gone = alice(collector_process, token)
        assert gone["last_seen"] == last_seen and gone["idle_seconds"] is None

    # What went over the wire: presence messages of three fields, nothing typed, no key.
    messages = [json.loads(b) for b in proxy.bodies if b.startswith(b'{"state"')]
    assert len(messages) >= 10
    assert {tuple(sorted(m)) for m in messages} == {("idle_seconds", "sent_at", "state")}
    assert {m["state"] for m in messages} == {"active", "idle", "paused"}
    assert all(m["idle_seconds"] % 10 == 0 for m in messages)
    key = json.loads((agent.home / "config" / "device-key.json").read_text())["secret"]
    for raw in proxy.bodies:
        assert key.encode() not in raw
        assert secret.encode() not in raw and b"hunter2" not in raw


class SlowPresence:
    """In front of the collector: heartbeats pass; presence requests hang (3 s, longer than
    the agent waits for them) or get 503, in turns."""

    def __init__(self, upstream: str) -> None:
        self.heartbeats_while_presence_hung = 0
        self.presence_requests = 0
        self.heartbeats = 0
        self._open = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == PRESENCE:
                    with proxy._lock:
                        proxy.presence_requests += 1
                        turn = proxy.presence_requests
                    if turn % 2:
                        with proxy._lock:
                            proxy._open += 1
                        proxy._closing.wait(3)
                        with proxy._lock:
                            proxy._open -= 1
                        self.close_connection = True
                        return
                    self._answer(503, b'{"error":"busy","message":"busy","details":[]}')
                    return
                conn = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                    conn.request("POST", self.path, body=body, headers=headers)
                    reply = conn.getresponse()
                    data = reply.read()
                finally:
                    conn.close()
                with proxy._lock:
                    proxy.heartbeats += 1
                    proxy.heartbeats_while_presence_hung += proxy._open > 0
                self._answer(reply.status, data)

            def _answer(self, status: int, data: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    @contextmanager
    def serving(self) -> Iterator[SlowPresence]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._closing.set()
            self._server.shutdown()
            self._server.server_close()


def test_presence_never_holds_up_slices(
    display: str, collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    with SlowPresence(collector_process.url).serving() as proxy:
        agent = make_agent(server=proxy.url, **FAST)
        agent.start()

        def slices() -> int:
            return int(collector_process.rows("SELECT COUNT(*) FROM slices")[0][0])  # type: ignore[call-overload]

        # Slices of 2 s are final 3 s after their end: a steady stream while presence hangs.
        wait_for(lambda: slices() >= 8, 60, "slices at the collector while presence hangs")
        wait_for(lambda: proxy.heartbeats_while_presence_hung >= 3, 60, "batches during a hang")
        agent.stop()
    assert proxy.presence_requests >= 2
    # No presence got through, and none was queued to arrive later.
    assert collector_process.rows("SELECT COUNT(*) FROM presence") == [(0,)]


def test_a_reinstalled_agent_shows_online_with_its_first_presence(
    display: str, collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    """Found by review: after a reinstall (the same device, its data kept) the chatter
    showed offline until the agent's first batch reached the collector, its presence
    refused (409 device_retired) until then.  Here every batch after the reinstall is held
    on the way (503): presence alone, signed after the uninstall, shows alice online and
    the device in use again."""
    token = collector_process.cli("api-token", "boss", "--role", "manager")
    with RecordingProxy(collector_process.url) as proxy:
        agent = make_agent(server=proxy.url, **FAST)

        def state() -> str:
            return str(alice(collector_process, token)["state"])

        def device() -> dict[str, Any]:
            (found,) = json.loads(collector_process.cli("devices", "--json"))
            return dict(found)

        agent.start()
        wait_for(lambda: state() != "offline", 30, "alice online")
        wait_for(lambda: device()["last_seen_at"] is not None, 30, "a first batch")
        agent.stop()
        assert "this computer is uninstalled" in agent.cli("retire").stdout
        assert state() == "offline" and device()["state"] == "uninstalled"
        last_batch = device()["last_seen_at"]

        proxy.held.add("/api/v1/heartbeats")
        agent.start()  # reinstalled, its data kept
        wait_for(lambda: state() != "offline", 15, "alice online from presence alone")
        assert device()["state"] == "active" and device()["retired_at"] is None
        assert proxy.count("held") >= 1  # its batches (the time check first) held back
        assert device()["last_seen_at"] == last_batch  # no batch came through
        agent.stop()
