"""A minimal HTTP/1.1 client over a raw socket, cheap enough to share the CPU with the server.

Requests are pre-built bytes (request line, headers and body); a reply is read
up to its Content-Length.  The socket is kept while the server allows it and
reopened otherwise (gunicorn's sync workers close after every response).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping

_RECV = 65536


def build_request(
    method: str, path: str, host: str, headers: Mapping[str, str], body: bytes
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self.connects = 0

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one request and return (status, body); retries once on a stale kept socket."""
        reused = self._sock is not None
        try:
            return self._exchange(request)
        except (ConnectionError, _NoReply):
            self.close()
            if not reused:
                raise
        return self._exchange(request)

    def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self._sock is None:
            sock = socket.create_connection(self.address, timeout=self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
            self.connects += 1
        try:
            self._sock.sendall(request)
            status, body, keep = _read_response(self._sock)
        except BaseException:
            self.close()
            raise
        if not keep:
            self.close()
        return status, body


class _NoReply(ConnectionError):
    """The server closed the connection before sending anything."""


def _read_response(sock: socket.socket) -> tuple[int, bytes, bool]:
    buf = b""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        chunk = sock.recv(_RECV)
        if not chunk:
            if not buf:
                raise _NoReply("connection closed before a reply")
            raise ConnectionError("connection closed inside the reply headers")
        buf += chunk
    head = buf[:end].decode("latin-1").split("\r\n")
    body = buf[end + 4 :]
    version, status, *_ = head[0].split(" ", 2)
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if "chunked" in headers.get("transfer-encoding", ""):
        raise ConnectionError("chunked replies are not supported by this client")
    keep = headers.get("connection") != "close" and version == "HTTP/1.1"
    length = headers.get("content-length")
    if length is None:
        keep = False
        while chunk := sock.recv(_RECV):
            body += chunk
        return int(status), body, keep
    want = int(length)
    while len(body) < want:
        chunk = sock.recv(max(_RECV, want - len(body)))
        if not chunk:
            raise ConnectionError("connection closed inside the reply body")
        body += chunk
    return int(status), body, keep
