"""Request signing for agent -> collector calls (protocol v1).

The signed string covers the request line as well as the body, so a signature
captured for one endpoint cannot be replayed against another:

    v1\n{METHOD}\n{PATH}\n{TIMESTAMP}\n{hex SHA-256 of the raw body}

PATH is the request path without the query string; TIMESTAMP is unix seconds.
The signature is the hex HMAC-SHA256 of that string keyed with the UTF-8 bytes
of the device secret.  During key rotation an agent may send several
comma-separated ``v1=`` values; one matching value is enough.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping

SCHEME = "v1"
HEADER_KEY = "X-Agent-Key"
HEADER_TIMESTAMP = "X-Agent-Timestamp"
HEADER_SIGNATURE = "X-Agent-Signature"
TOLERANCE_SECONDS = 300


def string_to_sign(method: str, path: str, timestamp: int, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return f"{SCHEME}\n{method.upper()}\n{path}\n{timestamp}\n{digest}".encode()


def compute_signature(secret: str, method: str, path: str, timestamp: int, body: bytes) -> str:
    message = string_to_sign(method, path, timestamp, body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(
    secrets: Iterable[str], method: str, path: str, timestamp: int, body: bytes
) -> str:
    return ",".join(
        f"{SCHEME}={compute_signature(s, method, path, timestamp, body)}" for s in secrets
    )


def signed_headers(
    key_id: str,
    secrets: Iterable[str],
    method: str,
    path: str,
    timestamp: int,
    body: bytes,
) -> dict[str, str]:
    """All three headers for one request; ``secrets`` usually holds one secret."""
    return {
        HEADER_KEY: key_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature_header(secrets, method, path, timestamp, body),
    }


def parse_signature_header(value: str) -> list[str]:
    """The ``v1`` signatures in a header value; other schemes are ignored."""
    found = []
    for part in value.split(","):
        scheme, sep, sig = part.strip().partition("=")
        if sep and scheme == SCHEME and sig:
            found.append(sig.strip().lower())
    return found


def verify(
    secrets: Iterable[str],
    header_value: str,
    method: str,
    path: str,
    timestamp: int,
    body: bytes,
) -> bool:
    """True when any presented ``v1`` signature matches any of ``secrets``."""
    presented = parse_signature_header(header_value)
    if not presented:
        return False
    ok = False
    for secret in secrets:
        expected = compute_signature(secret, method, path, timestamp, body)
        for candidate in presented:
            # No early exit: every comparison runs in constant time.
            ok |= hmac.compare_digest(expected, candidate)
    return ok


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup for plain dicts."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None
