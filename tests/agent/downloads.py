"""A server that answers /agent/... from a folder as it is, checksums and all, and forwards
the rest to a real collector.

The collector computes SHA256SUMS from the files it serves, so it can never hand out a
bundle that differs from its sum; this stands in for what can: a broken mirror or a proxy
that changes bytes on the way (tests/agent/test_installers.py's checksum test).
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

_HOP_HEADERS = {"connection", "transfer-encoding", "content-length", "server", "date"}


class DownloadsServer:
    def __init__(self, folder: Path, upstream: str) -> None:
        self.requested: list[str] = []
        target = urlsplit(upstream)
        served = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                served.requested.append(self.path)
                name = self.path.removeprefix("/agent/downloads/")
                if self.path == "/agent/install.sh":
                    name = "install.sh"
                elif name == self.path:
                    self._forward(b"")
                    return
                file = folder / name
                if "/" in name or not file.is_file():
                    self._answer(404, b"not found")
                    return
                self._answer(200, file.read_bytes())

            def do_POST(self) -> None:  # noqa: N802
                self._forward(self.rfile.read(int(self.headers.get("Content-Length", 0))))

            def _forward(self, body: bytes) -> None:
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                reply = conn.getresponse()
                payload = reply.read()
                self.send_response(reply.status)
                for key, value in reply.getheaders():
                    if key.lower() not in _HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                conn.close()

            def _answer(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> DownloadsServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
