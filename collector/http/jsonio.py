"""Fast JSON in and out of Flask views with msgspec, and a bound on how deep a body nests."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import msgspec
import numpy as np
from flask import Response, request

from collector.errors import ApiError

# No message of the protocol nests deeper than 4; msgspec recurses as it decodes (even
# over fields it skips), so a body nested a thousand deep raised RecursionError.
MAX_DEPTH = 32
# A JSON string on one line (the slow path, for malformed bodies only).
_STRING = re.compile(rb'"[^"\\\n]*(?:\\.[^"\\\n]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# +1 for an opening bracket, -1 for a closing one.
_STEP = np.zeros(256, dtype=np.int32)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


def _outside_strings(body: bytes) -> bytes:
    """The body without its JSON strings, whose brackets are text, not nesting."""
    # Without escaped backslashes and quotes, every quote left opens or closes a string.
    parts = body.replace(b"\\\\", b"").replace(b'\\"', b"").split(b'"')
    if b"\n" not in b"".join(parts[1::2]):
        return b"".join(parts[::2])
    # A quote left open on one NDJSON line must not hide the brackets of the next.
    return _STRING.sub(b"", body)


def nesting_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON (or NDJSON) body nest, without recursion.

    An upper bound for malformed input: closing brackets never take the depth below zero,
    so stray ones cannot hide a deep line that follows.  Linear and vectorised.
    """
    opening = body.count(b"[") + body.count(b"{")
    if opening <= MAX_DEPTH:
        return opening  # the cheap case: few brackets at all
    brackets = _outside_strings(body).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    walk = np.cumsum(_STEP[np.frombuffer(brackets, dtype=np.uint8)])
    floor = np.minimum(np.minimum.accumulate(walk), 0)
    return int((walk - floor).max())


def check_depth(body: bytes) -> None:
    depth = nesting_depth(body)
    if depth > MAX_DEPTH:
        raise ApiError(
            400,
            "too_deeply_nested",
            f"the JSON body is nested {depth} deep; at most {MAX_DEPTH} levels are accepted",
        )


def read_body(limit: int) -> bytes:
    """The raw request body (at most ``limit`` bytes, else 413), its nesting checked."""
    request.max_content_length = limit
    body = request.get_data(cache=False)
    check_depth(body)
    return body


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


_encoder = msgspec.json.Encoder(enc_hook=_default)


def dumps(obj: Any) -> bytes:
    return _encoder.encode(obj)


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(dumps(obj), status=status, mimetype="application/json")
