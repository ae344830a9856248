"""Protocol v1 business events pushed by integrations.

Every event shares one envelope: a client-chosen ``id`` (sending the same id
twice stores it once), its ``type`` and the moment it ``occurred_at`` (with an
offset).  Two families follow:

- *Creator events* (``fan_message``, ``message_sent``, ``ppv_purchase``,
  ``tip``, ``refund``) happen in a creator's fan chat and name the ``creator``.
- *Conversation-commerce events* (the website chat widget: ``widget_impression``,
  ``widget_click``, ``auto_message_click``, ``request``, ``conversation_message``,
  ``call_started``, ``call_ended``, ``order``, ``nps_response``) happen on the
  agency's shop or site, not for a creator: they carry no ``creator`` (sending
  one is refused as an unknown field).  Their people are the site's ``visitor``
  (the site's own visitor id) and the ``agent``, a chatter's key: agents and
  chatters are the same people.

Amounts are decimal strings in the agency's currency.  The collector stores
every type in one table with typed columns for the common fields.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from shared.protocol import NO_NUL

KEY_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
Key = Annotated[str, msgspec.Meta(pattern=KEY_PATTERN)]
EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Ref = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
# Accepts numbers on decode only to refuse them with a clear message later.
Amount = str | int | float
MAX_URL_LENGTH = 2048
Url = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_URL_LENGTH, pattern=r"^https?://[^\s\x00]+$")
]
MAX_FEEDBACK_LENGTH = 2000
Feedback = Annotated[str, msgspec.Meta(max_length=MAX_FEEDBACK_LENGTH, pattern=NO_NUL)]
Rating = Annotated[int, msgspec.Meta(ge=1, le=5)]
CurrencyCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
MAX_EVENTS_PER_REQUEST = 10_000
MAX_EVENTS_BODY = 16 << 20  # 16 MiB


# The content hash of a stored event is the SHA-256 of its struct encoded by msgspec,
# whose field order follows these class definitions: reordering or moving a field
# changes the hashes of stored events (resending them would then report conflicts).


class EventBase(msgspec.Struct, kw_only=True, tag_field="type", forbid_unknown_fields=True):
    """The envelope (id, type, occurred_at) of a creator event, with its creator."""

    id: EventId
    occurred_at: Annotated[dt.datetime, msgspec.Meta(tz=True)]
    creator: Key


class SiteEvent(msgspec.Struct, kw_only=True, tag_field="type", forbid_unknown_fields=True):
    """The envelope (id, type, occurred_at) of a conversation-commerce event."""

    id: EventId
    occurred_at: Annotated[dt.datetime, msgspec.Meta(tz=True)]


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


# Conversation commerce: the chat widget on the agency's shop or site.

Side = Literal["agent", "visitor"]
Channel = Literal["text", "video"]


class WidgetImpression(SiteEvent, tag="widget_impression"):
    """The visitor saw the chat widget on ``url``."""

    visitor: Ref
    url: Url


class WidgetClick(SiteEvent, tag="widget_click"):
    """The visitor clicked the widget itself or one of its chat notifications."""

    visitor: Ref
    url: Url
    source: Literal["widget", "notification"]


class AutoMessageClick(SiteEvent, tag="auto_message_click"):
    """The visitor clicked an automatic message, identified by its trigger."""

    visitor: Ref
    trigger_id: Ref
    url: Url


class ChatRequest(SiteEvent, tag="request"):
    """A text or video chat request, started by a visitor or by an agent.

    The request is its initiator's opening move; ``agent`` is whoever takes it
    when known (always known when an agent initiates it).
    """

    request_id: Ref
    initiator: Side
    channel: Channel
    visitor: Ref
    url: Url
    agent: Key | None = None
    trigger_id: Ref | None = None

    def __post_init__(self) -> None:
        if self.initiator == "agent" and self.agent is None:
            raise ValueError("an agent-initiated request must name its agent")


class ConversationMessage(SiteEvent, tag="conversation_message"):
    """A message in a request's chat; an agent's message may name the agent."""

    request_id: Ref
    side: Side
    channel: Channel
    agent: Key | None = None

    def __post_init__(self) -> None:
        if self.side == "visitor" and self.agent is not None:
            raise ValueError("a visitor's message cannot name an agent")


class CallStarted(SiteEvent, tag="call_started"):
    """A request's video call connected (both sides are on it)."""

    request_id: Ref
    agent: Key | None = None


class CallEnded(SiteEvent, tag="call_ended"):
    request_id: Ref


class Order(SiteEvent, tag="order"):
    """A purchase on the site.  Its value is ``subtotal - discount``."""

    order_id: Ref
    visitor: Ref
    subtotal: Amount
    discount: Amount
    shipping: Amount
    tax: Amount
    currency: CurrencyCode


class NpsResponse(SiteEvent, tag="nps_response"):
    """A visitor's survey answer, submitted or closed, about a request or an agent."""

    visitor: Ref
    status: Literal["submitted", "closed"]
    rating: Rating | None = None
    feedback: Feedback | None = None
    request_id: Ref | None = None
    agent: Key | None = None

    def __post_init__(self) -> None:
        if self.request_id is None and self.agent is None:
            raise ValueError("an nps_response must name its request_id or its agent (or both)")


CREATOR_EVENTS = (FanMessage, MessageSent, PpvPurchase, Tip, Refund)
CONVERSATION_EVENTS = (
    WidgetImpression,
    WidgetClick,
    AutoMessageClick,
    ChatRequest,
    ConversationMessage,
    CallStarted,
    CallEnded,
    Order,
    NpsResponse,
)
Event = (
    FanMessage
    | MessageSent
    | PpvPurchase
    | Tip
    | Refund
    | WidgetImpression
    | WidgetClick
    | AutoMessageClick
    | ChatRequest
    | ConversationMessage
    | CallStarted
    | CallEnded
    | Order
    | NpsResponse
)


def _tag(cls: type[EventBase] | type[SiteEvent]) -> str:
    return str(cls.__struct_config__.tag)


CREATOR_EVENT_TYPES: tuple[str, ...] = tuple(_tag(cls) for cls in CREATOR_EVENTS)
CONVERSATION_EVENT_TYPES: tuple[str, ...] = tuple(_tag(cls) for cls in CONVERSATION_EVENTS)
EVENT_TYPES: tuple[str, ...] = CREATOR_EVENT_TYPES + CONVERSATION_EVENT_TYPES


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
