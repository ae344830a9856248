"""Protocol v1 business events pushed by integrations (messages and sales).

Every event carries a client-chosen ``id``: sending the same id twice stores
it once.  Amounts are decimal strings in the agency's currency.  New event
types (conversation commerce) are added as new tagged structs; the collector
stores every type in one table with typed columns for the common fields.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

KEY_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
Key = Annotated[str, msgspec.Meta(pattern=KEY_PATTERN)]
EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Ref = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# Accepts numbers on decode only to refuse them with a clear message later.
Amount = str | int | float
MAX_EVENTS_PER_REQUEST = 10_000
MAX_EVENTS_BODY = 16 << 20  # 16 MiB


class EventBase(msgspec.Struct, kw_only=True, tag_field="type", forbid_unknown_fields=True):
    id: EventId
    occurred_at: Annotated[dt.datetime, msgspec.Meta(tz=True)]
    creator: Key


class Ppv(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Ref
    price: Amount


class FanMessage(EventBase, tag="fan_message"):
    fan: Ref


class MessageSent(EventBase, tag="message_sent"):
    chatter: Key
    fan: Ref
    kind: Literal["direct", "mass", "automated"]
    ppv: Ppv | None = None


class PpvPurchase(EventBase, tag="ppv_purchase"):
    fan: Ref
    ppv_id: Ref
    amount: Amount


class Tip(EventBase, tag="tip"):
    fan: Ref
    amount: Amount
    chatter: Key | None = None


class Refund(EventBase, tag="refund"):
    refers_to: Ref
    amount: Amount


Event = FanMessage | MessageSent | PpvPurchase | Tip | Refund
EVENT_TYPES: tuple[str, ...] = tuple(
    str(cls.__struct_config__.tag) for cls in (FanMessage, MessageSent, PpvPurchase, Tip, Refund)
)


class EventHead(msgspec.Struct):
    """The part of an event that error messages quote, read leniently."""

    id: object = None
    type: object = None


_event_decoder: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)
_head_decoder = msgspec.json.Decoder(EventHead)


def decode_event(raw: bytes) -> Event:
    return _event_decoder.decode(raw)


def decode_head(raw: bytes) -> EventHead:
    try:
        return _head_decoder.decode(raw)
    except msgspec.DecodeError:
        return EventHead()
