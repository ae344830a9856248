"""Conversation analytics: facts per request and per order, and their rollups.

Kept by collector/conversations/ingest.py on every ingest (and rebuilt from the
raw events by collector/conversations/rebuild.py); never edited by hand.  The
facts are what the reference (metrics.py) derives; the rollups add them up
per 15-minute UTC bucket and per UTC day (epoch seconds), like chatter stats.
The same metadata as collector/db/models.py (``Base``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from collector.db.base import Base, BigId


class ConversationVisitor(Base):
    """A site visitor's dense integer id: visitor sets are arrays of these."""

    __tablename__ = "conversation_visitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    visitor: Mapped[str] = mapped_column(String(200), unique=True)


class ConversationRequest(Base):
    """One request (its earliest ``request`` event) with what its messages and calls made of it."""

    __tablename__ = "conversation_requests"
    __table_args__ = (
        Index("ix_conversation_requests_bucket", "bucket"),
        Index("ix_conversation_requests_visitor_connected", "visitor_id", "connected_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(200), unique=True)
    event_id: Mapped[str] = mapped_column(String(200))  # the request event's id
    occurred_at: Mapped[dt.datetime]
    bucket: Mapped[int] = mapped_column(BigInteger)  # occurred_at's quarter hour
    initiator: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(10))
    visitor_id: Mapped[int] = mapped_column(ForeignKey("conversation_visitors.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id"))
    url: Mapped[str] = mapped_column(String(2048))
    trigger_id: Mapped[str | None] = mapped_column(String(200))
    # The first response of the side that did not initiate; NULL: no conversation.
    connected_at: Mapped[dt.datetime | None]
    first_at: Mapped[dt.datetime]  # first and last of the request's events
    last_at: Mapped[dt.datetime]
    duration_seconds: Mapped[int | None]  # conversations only


class ConversationOrder(Base):
    """One order (its earliest ``order`` event), attributed or not."""

    __tablename__ = "conversation_orders"
    __table_args__ = (
        Index("ix_conversation_orders_bucket", "bucket"),
        Index("ix_conversation_orders_visitor", "visitor_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(200), unique=True)
    event_id: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[dt.datetime]
    bucket: Mapped[int] = mapped_column(BigInteger)
    visitor_id: Mapped[int] = mapped_column(ForeignKey("conversation_visitors.id"))
    value: Mapped[int] = mapped_column(BigInteger)  # minor units
    # The conversation that earned it (NULL: not attributed) and its agent.
    request_id: Mapped[str | None] = mapped_column(String(200))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id"))


class _Sums:
    """Additive figures of one bucket (or day) and agent (NULL: no agent)."""

    req_agent_text: Mapped[int] = mapped_column(default=0)
    req_agent_video: Mapped[int] = mapped_column(default=0)
    req_visitor_text: Mapped[int] = mapped_column(default=0)
    req_visitor_video: Mapped[int] = mapped_column(default=0)
    conv_agent_text: Mapped[int] = mapped_column(default=0)
    conv_agent_video: Mapped[int] = mapped_column(default=0)
    conv_visitor_text: Mapped[int] = mapped_column(default=0)
    conv_visitor_video: Mapped[int] = mapped_column(default=0)
    duration_total: Mapped[int] = mapped_column(BigInteger, default=0)
    orders: Mapped[int] = mapped_column(default=0)
    gmv: Mapped[int] = mapped_column(BigInteger, default=0)
    nps_responses: Mapped[int] = mapped_column(default=0)
    nps_rated: Mapped[int] = mapped_column(default=0)
    nps_total: Mapped[int] = mapped_column(default=0)
    nps_1: Mapped[int] = mapped_column(default=0)
    nps_2: Mapped[int] = mapped_column(default=0)
    nps_3: Mapped[int] = mapped_column(default=0)
    nps_4: Mapped[int] = mapped_column(default=0)
    nps_5: Mapped[int] = mapped_column(default=0)
    auto_clicks: Mapped[int] = mapped_column(default=0)


class ConversationQuarter(_Sums, Base):
    __tablename__ = "conversation_quarters"
    __table_args__ = (Index("ix_conversation_quarters_bucket", "bucket"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id"))


class ConversationQuarterTotal(_Sums, Base):
    """A bucket's figures, all agents together: what the views that need no agent (a
    summary's or trend's edges, requests by hour of the day) read, one row per bucket."""

    __tablename__ = "conversation_quarter_totals"

    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class ConversationDay(_Sums, Base):
    __tablename__ = "conversation_days"
    __table_args__ = (Index("ix_conversation_days_day", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[int] = mapped_column(BigInteger)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id"))


class _VisitorSet:
    """The distinct visitors of one kind (and key) in a bucket or day, and the events."""

    # impression, click, requester, conversation, buyer, auto (key: the trigger)
    kind: Mapped[str] = mapped_column(String(12))
    key: Mapped[str] = mapped_column(String(200), default="")
    visitors: Mapped[int] = mapped_column(default=0)
    events: Mapped[int] = mapped_column(default=0)
    # Sorted visitor ids, uint32 little-endian.
    ids: Mapped[bytes] = mapped_column(LargeBinary, default=b"")


class ConversationVisitorQuarter(_VisitorSet, Base):
    __tablename__ = "conversation_visitor_quarters"
    __table_args__ = (Index("ix_conversation_visitor_quarters_kind_bucket", "kind", "bucket"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger)


class ConversationVisitorDay(_VisitorSet, Base):
    __tablename__ = "conversation_visitor_days"
    __table_args__ = (Index("ix_conversation_visitor_days_kind_day", "kind", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[int] = mapped_column(BigInteger)


class ConversationVisitorHour(_VisitorSet, Base):
    """The day sets' hours: a local day or hour that is not whole UTC days (Europe/Berlin's
    days start at 22:00 or 23:00 UTC) reads 24 of these rather than 96 quarters."""

    __tablename__ = "conversation_visitor_hours"
    __table_args__ = (Index("ix_conversation_visitor_hours_kind_hour", "kind", "hour"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hour: Mapped[int] = mapped_column(BigInteger)


# Byte order on PostgreSQL too, as Python orders the ids (a locale collation would not).
_BYTE_ORDER = String(200).with_variant(String(200, collation="C"), "postgresql")


class ConversationFeedback(Base):
    """An NPS response whose ``attrs`` carry feedback text (Python's reading of the JSON:
    a non-blank string), so the NPS view counts and pages them without reading every
    response's attrs."""

    __tablename__ = "conversation_feedback"
    __table_args__ = (Index("ix_conversation_feedback_occurred", "occurred_at", "event_id"),)

    # The event's own id (no foreign key: like the other facts, a table the rebuild and
    # the tests may empty in any order; survey events are never purged).
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(_BYTE_ORDER)
    occurred_at: Mapped[dt.datetime]


class _UrlSums:
    url: Mapped[str] = mapped_column(String(2048))
    requests: Mapped[int] = mapped_column(default=0)
    conversations: Mapped[int] = mapped_column(default=0)


class ConversationUrlQuarter(_UrlSums, Base):
    """Requests and conversations per page where the request started."""

    __tablename__ = "conversation_url_quarters"
    __table_args__ = (Index("ix_conversation_url_quarters_bucket", "bucket"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger)


class ConversationUrlDay(_UrlSums, Base):
    __tablename__ = "conversation_url_days"
    __table_args__ = (Index("ix_conversation_url_days_day", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[int] = mapped_column(BigInteger)
