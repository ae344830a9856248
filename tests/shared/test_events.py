"""The event wire schemas: the conversation-commerce events, good and bad, and the envelope."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from shared import events as wire

T = "2026-11-20T10:00:00Z"


def decode(event: dict[str, Any]) -> wire.Event:
    return wire.decode_event(msgspec.json.encode(event))


GOOD: list[dict[str, Any]] = [
    {"type": "widget_impression", "visitor": "v1", "url": "https://shop.test/p?x=1"},
    {"type": "widget_click", "visitor": "v1", "url": "http://shop.test/", "source": "notification"},
    {"type": "auto_message_click", "visitor": "v1", "trigger_id": "welcome", "url": "https://s.t/"},
    {
        "type": "request",
        "request_id": "r1",
        "initiator": "visitor",
        "channel": "video",
        "visitor": "v1",
        "url": "https://shop.test/",
        "trigger_id": "welcome",
    },
    {
        "type": "request",
        "request_id": "r2",
        "initiator": "agent",
        "channel": "text",
        "visitor": "v1",
        "url": "https://shop.test/",
        "agent": "alice",
    },
    {"type": "conversation_message", "request_id": "r1", "side": "agent", "channel": "text"},
    {
        "type": "conversation_message",
        "request_id": "r1",
        "side": "agent",
        "channel": "video",
        "agent": "alice",
    },
    {"type": "call_started", "request_id": "r1", "agent": "alice"},
    {"type": "call_ended", "request_id": "r1"},
    {
        "type": "order",
        "order_id": "A-1",
        "visitor": "v1",
        "subtotal": "50.00",
        "discount": "5.00",
        "shipping": "4.90",
        "tax": "0",
        "currency": "USD",
    },
    {"type": "nps_response", "visitor": "v1", "status": "closed", "request_id": "r1"},
    {
        "type": "nps_response",
        "visitor": "v1",
        "status": "submitted",
        "rating": 5,
        "feedback": "x" * wire.MAX_FEEDBACK_LENGTH,
        "agent": "alice",
    },
]


@pytest.mark.parametrize("event", GOOD, ids=[f"{e['type']}-{i}" for i, e in enumerate(GOOD)])
def test_good_events_decode(event: dict[str, Any]) -> None:
    decoded = decode({"id": "e1", "occurred_at": T, **event})
    assert type(decoded).__struct_config__.tag == event["type"]
    assert not hasattr(decoded, "creator")


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("creator on a site event", {**GOOD[0], "creator": "luna"}, "unknown field `creator`"),
    ("ftp url", {**GOOD[0], "url": "ftp://shop.test/"}, "$.url"),
    ("url with a space", {**GOOD[0], "url": "https://shop.test/a b"}, "$.url"),
    ("url too long", {**GOOD[0], "url": "https://s.t/" + "a" * 2048}, "length <= 2048"),
    ("empty visitor", {**GOOD[0], "visitor": ""}, "$.visitor"),
    ("bad click source", {**GOOD[1], "source": "banner"}, "$.source"),
    ("bad initiator", {**GOOD[3], "initiator": "bot"}, "$.initiator"),
    ("bad channel", {**GOOD[3], "channel": "audio"}, "$.channel"),
    ("agent request without agent", {**GOOD[4], "agent": None}, "must name its agent"),
    ("agent key pattern", {**GOOD[4], "agent": "Alice"}, "$.agent"),
    ("bad side", {**GOOD[5], "side": "bot"}, "$.side"),
    ("visitor message naming an agent", {**GOOD[6], "side": "visitor"}, "cannot name an agent"),
    ("order without tax", {k: v for k, v in GOOD[9].items() if k != "tax"}, "`tax`"),
    ("lower-case currency", {**GOOD[9], "currency": "usd"}, "$.currency"),
    ("rating 0", {**GOOD[10], "rating": 0}, ">= 1"),
    ("rating 6", {**GOOD[10], "rating": 6}, "<= 5"),
    ("rating as text", {**GOOD[10], "rating": "5"}, "$.rating"),
    ("bad status", {**GOOD[10], "status": "ignored"}, "$.status"),
    (
        "feedback too long",
        {**GOOD[11], "feedback": "x" * (wire.MAX_FEEDBACK_LENGTH + 1)},
        "$.feedback",
    ),
    (
        "nps about nothing",
        {k: v for k, v in GOOD[10].items() if k != "request_id"},
        "must name its request_id or its agent",
    ),
    ("unknown field", {**GOOD[8], "duration": 3}, "unknown field `duration`"),
]


@pytest.mark.parametrize(("case", "event", "message"), BAD, ids=[c[0] for c in BAD])
def test_bad_events_are_refused(case: str, event: dict[str, Any], message: str) -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        decode({"id": "e1", "occurred_at": T, **event})
    assert message in str(caught.value), str(caught.value)


def test_envelope_is_required() -> None:
    with pytest.raises(msgspec.ValidationError, match="occurred_at"):
        decode({"id": "e1", **GOOD[0]})
    with pytest.raises(msgspec.ValidationError, match="timezone"):
        decode({"id": "e1", "occurred_at": "2026-11-20T10:00:00", **GOOD[0]})


def test_creator_events_still_need_a_creator() -> None:
    with pytest.raises(msgspec.ValidationError, match="creator"):
        decode({"id": "e1", "occurred_at": T, "type": "fan_message", "fan": "f"})


def test_creator_event_encoding_is_unchanged() -> None:
    """Stored content hashes are of this encoding: it must not move (resends would conflict)."""
    tip = decode(
        {"id": "e5", "type": "tip", "occurred_at": T, "creator": "luna", "fan": "f", "amount": "5"}
    )
    encoded = msgspec.json.encode(tip)
    assert encoded == (
        b'{"type":"tip","fan":"f","amount":"5","chatter":null,"id":"e5",'
        b'"occurred_at":"2026-11-20T10:00:00Z","creator":"luna"}'
    )


def test_type_lists() -> None:
    assert wire.CREATOR_EVENT_TYPES == (
        "fan_message",
        "message_sent",
        "ppv_purchase",
        "tip",
        "refund",
    )
    assert set(wire.CONVERSATION_EVENT_TYPES) == {g["type"] for g in GOOD}
    assert wire.EVENT_TYPES == wire.CREATOR_EVENT_TYPES + wire.CONVERSATION_EVENT_TYPES


def test_nul_is_refused_in_every_text_field() -> None:
    decode_event = wire.decode_event
    tip = {
        "type": "tip",
        "id": "t-1",
        "occurred_at": "2026-01-05T10:00:00Z",
        "creator": "luna",
        "fan": "f",
        "amount": "1.00",
    }
    decode_event(msgspec.json.encode(tip))
    for field in ("id", "fan", "creator"):
        with pytest.raises(msgspec.ValidationError, match=f"`\\$.{field}`"):
            decode_event(msgspec.json.encode({**tip, field: "a\x00"}))
    impression = {
        "type": "widget_impression",
        "id": "w",
        "occurred_at": "2026-01-05T10:00:00Z",
        "visitor": "v",
        "url": "https://shop.test/\x00",
    }
    with pytest.raises(msgspec.ValidationError, match="`\\$.url`"):
        decode_event(msgspec.json.encode(impression))
