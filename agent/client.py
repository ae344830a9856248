"""Talking to the collector over HTTPS with httpx: enroll, send batches, rotate the key."""

from __future__ import annotations

import functools
import ssl
import time

import httpx
import msgspec

from agent import __version__
from agent.config import DeviceKey
from shared import signing
from shared.protocol import EnrollRequest, EnrollResponse, RotateKeyResponse

TIMEOUT = httpx.Timeout(20.0, connect=5.0)
HEARTBEATS = "/api/v1/heartbeats"
ROTATE = "/api/v1/agents/rotate-key"
ENROLL = "/api/v1/agents/enroll"
RETIRE = "/api/v1/agents/retire"


class EnrollError(RuntimeError):
    """Enrollment failed; ``final`` when the collector itself refused the token (asking
    again cannot help), else worth retrying (unreachable, busy, a proxy's page)."""

    def __init__(self, message: str, *, final: bool) -> None:
        super().__init__(message)
        self.final = final


class CollectorClient:
    def __init__(
        self,
        server: str,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = TIMEOUT,
    ) -> None:
        self.server = server.rstrip("/")
        self._http = httpx.Client(
            base_url=self.server,
            timeout=timeout,
            transport=transport,
            verify=_tls_context(self.server),
            headers={"User-Agent": f"chatter-agent/{__version__}"},
        )
        # The collector's path prefix (if it sits under one) is part of what is signed.
        self._prefix = httpx.URL(self.server).path.rstrip("/")

    def close(self) -> None:
        self._http.close()

    def enroll(
        self, token: str, hostname: str, platform: str, request_id: str | None = None
    ) -> EnrollResponse:
        body = msgspec.json.encode(
            EnrollRequest(
                token=token,
                hostname=hostname,
                platform=platform,
                agent_version=__version__,
                request_id=request_id,
            )
        )
        try:
            reply = self._http.post(
                ENROLL, content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise EnrollError(f"cannot reach {self.server}: {exc}", final=False) from None
        if reply.status_code != 201:
            refused = 400 <= reply.status_code < 500 and reply.status_code != 429
            raise EnrollError(_describe(reply), final=refused and _is_collector_error(reply))
        return msgspec.json.decode(reply.content, type=EnrollResponse)

    def signed_post(
        self, path: str, body: bytes, key: DeviceKey, clock_offset: float
    ) -> httpx.Response:
        timestamp = int(time.time() + clock_offset)
        headers = signing.signed_headers(
            key.key_id, [key.secret], "POST", self._prefix + path, timestamp, body
        )
        headers["Content-Type"] = "application/json"
        return self._http.post(path, content=body, headers=headers)

    def rotate_key(self, key: DeviceKey, clock_offset: float) -> RotateKeyResponse:
        reply = self.signed_post(ROTATE, b"", key, clock_offset)
        if reply.status_code != 200:
            raise RuntimeError(_describe(reply))
        return msgspec.json.decode(reply.content, type=RotateKeyResponse)


def _tls_context(server: str) -> ssl.SSLContext:
    """What the client checks the collector's certificate with.

    https: httpx's own default (certifi's CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR), so
    verification is exactly httpx's, made once and shared by the agent's clients: each load
    of the CA bundle holds ~1.2 MB.  http: a verifying context with no CA loaded, as such a
    collector is never reached over TLS; a request that somehow went to an https URL would
    fail verification rather than skip it."""
    if httpx.URL(server).scheme == "https":
        return _https_context()
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


@functools.cache
def _https_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def _is_collector_error(reply: httpx.Response) -> bool:
    try:
        body = reply.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("error"), str)


def _describe(reply: httpx.Response) -> str:
    try:
        body = reply.json()
        return f"{reply.status_code} {body.get('error')}: {body.get('message')}"
    except ValueError:
        return f"{reply.status_code}: {reply.text[:200]}"
