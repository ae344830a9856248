"""A loopback HTTP proxy in front of the collector that records bodies and injects faults."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# A fault is (status, headers) to answer instead of forwarding, or None to forward.
_HOP_HEADERS = {"connection", "transfer-encoding", "content-length", "server", "date"}
Fault = tuple[int, dict[str, str]] | None


class RecordingProxy:
    def __init__(self, upstream: str, fault: Callable[[], Fault] | None = None) -> None:
        self.bodies: list[bytes] = []
        self.statuses: list[int] = []
        self._upstream = urlsplit(upstream)
        self._fault = fault or (lambda: None)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the agent was killed mid-request: exactly what the tests do

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy.bodies.append(body)
                fault = proxy._fault()
                if fault is not None:
                    status, headers = fault
                    payload = b'{"error":"injected","message":"injected fault","details":[]}'
                    self.send_response(status)
                    for name, value in {**headers, "Content-Type": "application/json"}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    proxy.statuses.append(status)
                    return
                conn = http.client.HTTPConnection(
                    proxy._upstream.hostname or "127.0.0.1", proxy._upstream.port, timeout=30
                )
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                    conn.request("POST", self.path, body=body, headers=headers)
                    reply = conn.getresponse()
                    data = reply.read()
                    proxy.statuses.append(reply.status)
                    self.send_response(reply.status)
                    for name, value in reply.getheaders():
                        if name.lower() not in _HOP_HEADERS:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the agent was killed mid-request: exactly what the tests do
                finally:
                    conn.close()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
