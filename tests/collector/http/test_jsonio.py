"""The nesting bound of JSON bodies: measured without recursion, strings not counted."""

from __future__ import annotations

import pytest

from collector.http.jsonio import MAX_DEPTH, nesting_depth


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"[]", 1),
        (b'{"a": [1, {"b": []}]}', 3),
        (b"[" * 1000 + b"]" * 1000, 1000),
        (b"[]" * 10_000, 1),
        # Brackets inside strings are text, escaped quotes included.
        (b'["' + b"[" * 100 + b'"]', 1),
        (b'["a\\"[[[[", ' + b"{}," * 40 + b"1]", 2),
        (b'["a\\\\", ' + b"[" * 40 + b"]" * 40 + b"]", 41),
        # NDJSON: a stray closer or an open quote on one line hides nothing on the next.
        (b"]" * 100 + b"\n" + b"[" * 50 + b"]" * 50, 50),
        # (an upper bound: the first line's object never closed)
        (b'{"a": "open\n' + b"[" * 50 + b'"', 51),
    ],
)
def test_nesting_depth(body: bytes, depth: int) -> None:
    found = nesting_depth(body)
    # Below the limit a cheap count may stand in for the depth: an upper bound still.
    assert found == depth if body.count(b"[") + body.count(b"{") > MAX_DEPTH else found >= depth
