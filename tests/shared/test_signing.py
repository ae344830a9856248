"""The signing contract, checked against a value computed independently."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from shared import signing

BODY = b'{"batch_id":"b1","sent_at":"2026-11-24T10:00:00Z","heartbeats":[]}'


def test_string_to_sign_layout() -> None:
    expected = (
        "v1\nPOST\n/api/v1/heartbeats\n1795000000\n" + hashlib.sha256(BODY).hexdigest()
    ).encode()
    assert signing.string_to_sign("post", "/api/v1/heartbeats", 1795000000, BODY) == expected


def test_signature_is_hmac_sha256_hex_of_that_string() -> None:
    message = (
        b"v1\nPOST\n/api/v1/heartbeats\n1795000000\n" + hashlib.sha256(BODY).hexdigest().encode()
    )
    expected = hmac.new(b"s3cret", message, hashlib.sha256).hexdigest()
    assert (
        signing.compute_signature("s3cret", "POST", "/api/v1/heartbeats", 1795000000, BODY)
        == expected
    )
    headers = signing.signed_headers(
        "key_1", ["s3cret"], "POST", "/api/v1/heartbeats", 1795000000, BODY
    )
    assert headers == {
        "X-Agent-Key": "key_1",
        "X-Agent-Timestamp": "1795000000",
        "X-Agent-Signature": f"v1={expected}",
    }


def test_several_signatures_and_other_schemes() -> None:
    good = signing.compute_signature("new", "POST", "/p", 5, b"x")
    header = f"v0=abc, v1=deadbeef, v1={good.upper()}"
    assert signing.verify(["new"], header, "POST", "/p", 5, b"x")
    assert not signing.verify(["old"], header, "POST", "/p", 5, b"x")
    assert not signing.verify(["new"], "v0=" + good, "POST", "/p", 5, b"x")
    assert not signing.verify(["new"], "", "POST", "/p", 5, b"x")


@given(body=st.binary(max_size=200), flip=st.integers(0, 199))
def test_any_changed_byte_breaks_the_signature(body: bytes, flip: int) -> None:
    header = signing.signature_header(["k"], "POST", "/p", 7, body)
    assert signing.verify(["k"], header, "POST", "/p", 7, body)
    if body:
        i = flip % len(body)
        changed = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
        assert not signing.verify(["k"], header, "POST", "/p", 7, changed)
    assert not signing.verify(["k"], header, "POST", "/q", 7, body)
    assert not signing.verify(["k"], header, "POST", "/p", 8, body)
    assert not signing.verify(["k"], header, "PUT", "/p", 7, body)
