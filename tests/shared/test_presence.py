"""The presence message: states, rounded and bounded idle seconds, nothing else."""

from __future__ import annotations

import datetime as dt
import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.protocol import (
    MAX_PRESENCE_IDLE,
    PRESENCE_STATES,
    Presence,
    presence_idle,
    problem_text,
)

NOW = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.UTC)


def decode(body: object) -> Presence:
    return msgspec.json.decode(json.dumps(body).encode(), type=Presence)


@pytest.mark.parametrize("state", PRESENCE_STATES)
def test_each_state_round_trips(state: str) -> None:
    message = Presence(state=state, idle_seconds=40, sent_at=NOW)  # type: ignore[arg-type]
    assert msgspec.json.decode(msgspec.json.encode(message), type=Presence) == message


def test_the_message_carries_only_state_idle_and_time() -> None:
    body = msgspec.json.encode(Presence(state="active", idle_seconds=0, sent_at=NOW))
    assert set(json.loads(body)) == {"state", "idle_seconds", "sent_at"}


@pytest.mark.parametrize(
    "body",
    [
        {"state": "away", "idle_seconds": 0, "sent_at": "2026-11-30T12:00:00Z"},
        {"state": "active\u0000", "idle_seconds": 0, "sent_at": "2026-11-30T12:00:00Z"},
        {"state": "offline", "idle_seconds": 0, "sent_at": "2026-11-30T12:00:00Z"},
        {"state": "idle", "idle_seconds": 15, "sent_at": "2026-11-30T12:00:00Z"},
        {"state": "idle", "idle_seconds": -10, "sent_at": "2026-11-30T12:00:00Z"},
        {"state": "idle", "idle_seconds": 10**30, "sent_at": "2026-11-30T12:00:00Z"},
        {
            "state": "idle",
            "idle_seconds": MAX_PRESENCE_IDLE + 10,
            "sent_at": "2026-11-30T12:00:00Z",
        },
        {"state": "idle", "idle_seconds": 10, "sent_at": "2026-11-30T12:00:00"},
        {"state": "idle", "idle_seconds": 10},
    ],
)
def test_wrong_messages_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        decode(body)
    assert problem_text(caught.value)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_idle_is_rounded_to_ten_seconds_and_bounded(seconds: float) -> None:
    idle = presence_idle(seconds)
    assert idle % 10 == 0 and 0 <= idle <= MAX_PRESENCE_IDLE
    if 0 < seconds < MAX_PRESENCE_IDLE:
        assert abs(idle - seconds) <= 5
    # Whatever the agent measures, the message it makes decodes.
    decode({"state": "idle", "idle_seconds": idle, "sent_at": "2026-11-30T12:00:00Z"})


def test_idle_examples() -> None:
    assert [presence_idle(s) for s in (0, 4.9, 5.1, 14, 16, 59, 10**9)] == [
        0,
        0,
        10,
        10,
        20,
        60,
        MAX_PRESENCE_IDLE,
    ]
