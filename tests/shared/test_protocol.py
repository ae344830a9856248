"""Batch rules as pure functions, and the agent-side weight of the protocol package."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.protocol import (
    ALLOWED_SLICE_SECONDS,
    INT64_MAX,
    EnrollRequest,
    Heartbeat,
    HeartbeatBatch,
    problem_text,
    validate_batch,
)

NOW = dt.datetime(2026, 11, 24, 12, 0, 30, tzinfo=dt.UTC)


def hb(seq: int, minute: int, **kw: int) -> Heartbeat:
    fields = {
        "duration": 60,
        "active_seconds": 30,
        "input_seconds": 10,
        "keystrokes": 5,
        "mouse_events": 3,
    }
    fields.update(kw)
    start = dt.datetime(2026, 11, 24, 11, minute, tzinfo=dt.UTC)
    return Heartbeat(seq=seq, start=start, **fields)


def batch(*beats: Heartbeat, slice_seconds: int | None = None) -> HeartbeatBatch:
    return HeartbeatBatch(
        batch_id="b", sent_at=NOW, heartbeats=list(beats), slice_seconds=slice_seconds
    )


def test_valid_batch_has_no_problems() -> None:
    assert validate_batch(batch(hb(1, 0), hb(2, 1)), slice_seconds=60, now=NOW) == []


def test_rules() -> None:
    problems = validate_batch(
        batch(hb(1, 0, duration=61), hb(1, 0), hb(3, 2, keystrokes=10_000)),
        slice_seconds=60,
        now=NOW,
    )
    messages = [(p.field, p.message) for p in problems]
    assert ("heartbeats[0].duration", "61 s is longer than the 60-second slice") in messages
    assert any(f == "heartbeats[1].start" and "appears twice" in m for f, m in messages)
    assert any(f == "heartbeats[1].seq" for f, _ in messages)
    assert any(f == "heartbeats[2].keystrokes" and "implausible" in m for f, m in messages)


def test_slice_seconds_must_divide_sixty() -> None:
    problems = validate_batch(batch(hb(1, 0), slice_seconds=7), slice_seconds=60, now=NOW)
    assert [p.field for p in problems] == ["slice_seconds"]


def test_protocol_import_is_light() -> None:
    """The agent imports shared: no web, database or input libraries come with it."""
    code = (
        "import sys, json, resource\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "import shared.protocol, shared.events, shared.signing, shared.money\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "heavy = [m for m in ('flask', 'sqlalchemy', 'pynput', 'psutil', 'pydantic')\n"
        "         if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy, 'added_kib': after - before}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    assert result["heavy"] == []


@given(
    st.sampled_from(ALLOWED_SLICE_SECONDS),
    st.lists(st.integers(0, 600), min_size=1, max_size=40),
)
def test_slices_of_a_valid_batch_never_overlap(seconds: int, offsets: list[int]) -> None:
    """One length per batch, starts aligned and distinct: a batch cannot overlap itself."""
    base = dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.UTC)
    beats = [
        Heartbeat(
            seq=i + 1,
            start=base + dt.timedelta(seconds=offset),
            duration=1,
            active_seconds=0,
            input_seconds=0,
            keystrokes=0,
            mouse_events=0,
        )
        for i, offset in enumerate(offsets)
    ]
    problems = validate_batch(batch(*beats, slice_seconds=seconds), slice_seconds=60, now=NOW)
    if problems:
        assert any("aligned" in p.message or "twice" in p.message for p in problems)
        return
    spans = sorted((b.start, b.start + dt.timedelta(seconds=seconds)) for b in beats)
    assert all(end <= after for (_, end), (after, _) in zip(spans, spans[1:], strict=False))


def test_nul_and_integers_beyond_the_columns_are_refused_on_decode() -> None:
    enroll = {"token": "t", "hostname": "pc\x00", "platform": "Linux", "agent_version": "1"}
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(msgspec.json.encode(enroll), type=EnrollRequest)
    assert problem_text(caught.value) == "Expected text without NUL characters - at `$.hostname`"

    beat = {
        "seq": INT64_MAX,
        "start": "2026-11-24T11:00:00Z",
        "duration": 60,
        "active_seconds": 1,
        "input_seconds": 1,
        "keystrokes": 1,
        "mouse_events": 1,
    }
    assert msgspec.convert(beat, Heartbeat).seq == INT64_MAX
    for field, value in (("seq", INT64_MAX + 1), ("keystrokes", 2**31), ("duration", -(2**31) - 1)):
        with pytest.raises(msgspec.ValidationError, match=f"`\\$.{field}`"):
            msgspec.convert({**beat, field: value}, Heartbeat)


def test_starts_at_the_ends_of_time_are_problems_not_errors() -> None:
    edges = ("9999-12-31T23:59:00Z", "9999-12-31T23:59:00-01:00", "0001-01-01T00:59:00+01:00")
    for edge in edges:
        beat = msgspec.convert(
            {
                "seq": 1,
                "start": edge,
                "duration": 60,
                "active_seconds": 0,
                "input_seconds": 0,
                "keystrokes": 0,
                "mouse_events": 0,
            },
            Heartbeat,
        )
        problems = validate_batch(batch(beat), slice_seconds=60, now=NOW)
        assert [p.field for p in problems] == ["heartbeats[0].start"], edge
