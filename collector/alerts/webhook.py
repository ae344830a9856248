"""Signed webhook POSTs: HMAC-SHA256 over the timestamp and the raw body (README, "Alerts").

The receiver recomputes ``v1=`` + hex(HMAC-SHA256(secret, f"{timestamp}." + body)) over
the bytes it received, compares it in constant time with ``X-ChatterTrack-Signature``,
and refuses a timestamp more than five minutes from its clock, so that a captured
request cannot be replayed later.  Any 2xx answer counts as delivered, whatever its
body (a proxy's HTML page included): the receiver took the request.  Redirects are not
followed: a 3xx is a failure, retried like any other.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

SIGNATURE = "X-ChatterTrack-Signature"
TIMESTAMP = "X-ChatterTrack-Timestamp"
DELIVERY = "X-ChatterTrack-Delivery"
EVENT = "X-ChatterTrack-Event"
TOLERANCE = 300  # seconds a receiver should accept between the timestamp and its clock
_READ_AT_MOST = 64 * 1024
USER_AGENT = "ChatterTrack-Alerts/1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, signature: str, body: bytes, now: float, tolerance: int = TOLERANCE
) -> bool:
    """What a receiver does (and the tests do): the signature and a fresh timestamp."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs(now - moment) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, moment, body), signature)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    context: ssl.SSLContext | None = None,
) -> Outcome:
    """POST ``body`` to ``url`` once; never raises for a network or HTTP failure."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    try:
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or "",
                parts.port,
                timeout=timeout,
                context=context or ssl.create_default_context(),
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=timeout
            )
        try:
            connection.request(
                "POST",
                path,
                body=body,
                headers={
                    **headers,
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                },
            )
            response = connection.getresponse()
            response.read(_READ_AT_MOST)
        finally:
            connection.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status < 300:
        return Outcome(True, response.status)
    return Outcome(False, response.status, f"HTTP {response.status} {response.reason}"[:500])
