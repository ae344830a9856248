"""A loopback HTTP proxy in front of the collector that records bodies and misbehaves.

A fault is None (forward), ``(status, headers)`` (answer with the collector-style JSON
error without forwarding), or a ``Misbehave``: the ways a real network, proxy or captive
portal answers something that is not the collector's reply, most of them after the
collector has stored the batch (so a resend must store nothing twice).
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_HEADERS = {"connection", "transfer-encoding", "content-length", "server", "date"}

CAPTIVE_PORTAL = (
    b"<!DOCTYPE html><html><head><title>Sign in to Hotel WiFi</title></head>"
    b"<body><form method=post><input name=room></form></body></html>"
)


@dataclass(frozen=True)
class Misbehave:
    """kind:
    html            200 with a login page, the collector never sees the request
    cut_body        the collector's reply cut in half, connection closed (Content-Length says more)
    cut_json        half the collector's JSON as a complete HTTP reply
    reset           the collector stores the batch, then the connection is reset (RST)
    hang            the collector stores the batch, then no answer for ``seconds``
    wrong_shape     200 with JSON that is not a heartbeat reply
    wrong_counts    the collector's reply with accepted and duplicates set to 0
    """

    kind: str
    seconds: float = 5.0
    headers: dict[str, str] = field(default_factory=dict)


Fault = tuple[int, dict[str, str]] | Misbehave | None


class RecordingProxy:
    def __init__(self, upstream: str, fault: Callable[[], Fault] | None = None) -> None:
        # Paths answered 503 without reaching the collector (a test may change the set).
        self.held: set[str] = set()
        self.bodies: list[bytes] = []
        self.statuses: list[int] = []
        self.kinds: list[str] = []  # what each request got: "forward", a status, a kind
        self._upstream = urlsplit(upstream)
        self._fault = fault or (lambda: None)
        self._closing = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the agent was killed or gave up mid-request: what the tests do

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy.bodies.append(body)
                if self.path in proxy.held:
                    proxy.kinds.append("held")
                    payload = b'{"error":"held","message":"held by the test","details":[]}'
                    self._answer(503, {"Content-Type": "application/json"}, payload)
                    return
                fault = proxy._fault()
                if isinstance(fault, tuple):
                    status, headers = fault
                    payload = b'{"error":"injected","message":"injected fault","details":[]}'
                    proxy.kinds.append(str(status))
                    self._answer(status, {**headers, "Content-Type": "application/json"}, payload)
                    return
                if isinstance(fault, Misbehave) and fault.kind in ("html", "wrong_shape"):
                    proxy.kinds.append(fault.kind)
                    if fault.kind == "html":
                        self._answer(200, {"Content-Type": "text/html"}, CAPTIVE_PORTAL)
                    else:
                        self._answer(200, {"Content-Type": "application/json"}, b'{"ok": true}')
                    return
                try:
                    status, headers, data = self._forward(body)
                except (BrokenPipeError, ConnectionResetError):
                    return
                if fault is None:
                    proxy.kinds.append("forward")
                    self._answer(status, headers, data)
                    return
                proxy.kinds.append(fault.kind)
                if fault.kind == "cut_body":
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                elif fault.kind == "cut_json":
                    self._answer(status, {"Content-Type": "application/json"}, data[:20])
                elif fault.kind == "reset":
                    # SO_LINGER 0: close() sends RST instead of FIN.
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.close_connection = True
                elif fault.kind == "hang":
                    proxy._closing.wait(fault.seconds)
                    self.close_connection = True
                elif fault.kind == "wrong_counts":
                    reply = json.loads(data)
                    reply["accepted"] = reply["duplicates"] = 0
                    self._answer(status, headers, json.dumps(reply).encode())
                else:
                    raise AssertionError(f"unknown misbehaviour {fault.kind}")

            def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
                conn = http.client.HTTPConnection(
                    proxy._upstream.hostname or "127.0.0.1", proxy._upstream.port, timeout=30
                )
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                    conn.request("POST", self.path, body=body, headers=headers)
                    reply = conn.getresponse()
                    data = reply.read()
                    kept = {k: v for k, v in reply.getheaders() if k.lower() not in _HOP_HEADERS}
                    return reply.status, kept, data
                finally:
                    conn.close()

            def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                proxy.statuses.append(status)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def count(self, kind: str) -> int:
        return self.kinds.count(kind)

    def wait_for(self, kind: str, times: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count(kind) < times:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the agent sent {self.count(kind)} request(s) that got {kind!r}, "
                    f"not {times}, in {timeout} s (got: {self.kinds[-10:]})"
                )
            time.sleep(0.1)

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
