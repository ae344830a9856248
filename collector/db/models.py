"""Typed SQLAlchemy models: people, devices, credentials, slices and events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from collector.db.base import Base, BigId

chatter_creators = Table(
    "chatter_creators",
    Base.metadata,
    Column("chatter_id", ForeignKey("chatters.id", ondelete="CASCADE"), primary_key=True),
    Column("creator_id", ForeignKey("creators.id", ondelete="CASCADE"), primary_key=True),
)


# A manager login limited to these creators (a team lead); none: every creator.
user_creators = Table(
    "user_creators",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("creator_id", ForeignKey("creators.id", ondelete="CASCADE"), primary_key=True),
)


class Creator(Base):
    __tablename__ = "creators"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]


# What an erased chatter's row keeps (collector/retention/privacy.py): a pseudonymous key
# with this prefix, this name, inactive.
ERASED_NAME = "Erased chatter"
ERASED_PREFIX = "erased-"


class Chatter(Base):
    __tablename__ = "chatters"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]

    creators: Mapped[list[Creator]] = relationship(secondary=chatter_creators)


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    chatter_id: Mapped[int] = mapped_column(ForeignKey("chatters.id"), index=True)
    hostname: Mapped[str] = mapped_column(String(255))
    platform: Mapped[str] = mapped_column(String(100))
    agent_version: Mapped[str] = mapped_column(String(50))
    enrolled_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    # Set by an admin; stays set until a key issued after it signs a request,
    # so an agent that lost the rotation reply is asked again.
    rotate_requested_at: Mapped[dt.datetime | None]
    seq_max: Mapped[int] = mapped_column(BigInteger, default=0)
    slices_received: Mapped[int] = mapped_column(BigInteger, default=0)
    # The agent's last report on its outbox, and how far its clock was off.
    queue_health: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    clock_skew_seconds: Mapped[float | None]
    # The agent said it was uninstalled (chatter-agent retire), leaving this many slices
    # unsent on the computer; a later batch from it (reinstalled) clears both.
    retired_at: Mapped[dt.datetime | None]
    retired_unsent: Mapped[int | None] = mapped_column(BigInteger)

    chatter: Mapped[Chatter] = relationship()


class User(Base):
    """A person who logs in to the dashboard: admin, manager, or a chatter (their own page)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # werkzeug's scrypt hash with its parameters and salt: "scrypt:32768:8:1$salt$hash".
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    chatter_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]
    last_login_at: Mapped[dt.datetime | None]
    # Sessions are signed cookies; one carries the epoch it was issued in, and a bump
    # (logout, deactivation) makes every earlier cookie of this account worthless.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when an admin (or the CLI) gives the login a password someone else knows: until
    # its owner chooses their own, every page but the account page sends them there.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())

    chatter: Mapped[Chatter | None] = relationship()
    # Only for managers: the creators whose numbers they see (empty: all of them).
    creators: Mapped[list[Creator]] = relationship(secondary=user_creators)


class LoginFailure(Base):
    """A failed login, kept briefly: it is what limits password guessing across processes.

    An attempt is stored before its password is checked (and removed if it succeeds), so
    attempts running at once count each other.  ``device`` is the nonce of the browser's
    device cookie for this account, when it sent a valid one: such failures are counted
    for that browser alone (``collector.auth.accounts``).
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_at", "email", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[dt.datetime]


class DeviceKey(Base):
    """A signing secret of a device.  Old keys live on briefly after rotation."""

    __tablename__ = "device_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40), unique=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    # HMAC needs the secret itself on the server, as with Stripe's endpoint secrets.
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]

    device: Mapped[Device] = relationship()


class EnrollmentToken(Base):
    __tablename__ = "enrollment_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    chatter_id: Mapped[int] = mapped_column(ForeignKey("chatters.id"), index=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    # The enrolling agent's request id: the same id asking again gets the same key.
    request_id: Mapped[str | None] = mapped_column(String(64))

    chatter: Mapped[Chatter] = relationship()


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    chatter_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    chatter: Mapped[Chatter | None] = relationship()


class Setting(Base):
    """A setting value; ``scope`` is ``global`` or ``chatter:<id>``."""

    __tablename__ = "settings"
    __table_args__ = (UniqueConstraint("name", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime]


class Slice(Base):
    """One heartbeat slice of ``[start, start + slice_seconds)``, unique per (device, start).

    A chatter's slices never overlap unless they are the same slot, same start and length
    (collector/ingest/overlaps.py refuses those that would).
    """

    __tablename__ = "slices"
    __table_args__ = (
        UniqueConstraint("device_id", "start"),
        Index("ix_slices_chatter_start", "chatter_id", "start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    # Copied from the device so per-chatter range queries need no join.
    chatter_id: Mapped[int] = mapped_column(ForeignKey("chatters.id"))
    start: Mapped[dt.datetime]
    # The slice's length as the batch stated it (or the device's setting); 60, the
    # default setting, for bulk loads that do not say.  Rows stored before migration
    # 0007 got the shortest allowed length that holds their duration at their start.
    slice_seconds: Mapped[int] = mapped_column(server_default="60")
    duration: Mapped[int]
    active_seconds: Mapped[int]
    input_seconds: Mapped[int]
    paused_seconds: Mapped[int]
    keystrokes: Mapped[int]
    mouse_events: Mapped[int]
    seq: Mapped[int] = mapped_column(BigInteger)
    batch_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime]
    # Input timing as the agent sent it (shared.protocol.Heartbeat; NULL from older
    # agents), and whether the slice is regular, machine-like input (METRICS.md), a
    # flag kept current by collector/stats/regular.py as the device's slices arrive.
    bursts: Mapped[int | None]
    keyed_bursts: Mapped[int | None]
    gaps: Mapped[int | None]
    gap_ms_sum: Mapped[int | None] = mapped_column(BigInteger)
    gap_ms_sum_sq: Mapped[int | None] = mapped_column(BigInteger)
    regular: Mapped[bool] = mapped_column(default=False, server_default=false())


class Event(Base):
    """A business event of any type.

    Common fields have typed columns so stats can filter and sum in SQL;
    ``contact`` is the fan (or visitor), ``ref`` the PPV, refunded event or
    request the event refers to, ``amount_minor`` money in minor units.

    Conversation-commerce events (no creator) use them so:

    ===================== ========= ======= ========= ========== ============ ===================
    type                  chatter   contact kind      ref        amount_minor other
    ===================== ========= ======= ========= ========== ============ ===================
    widget_impression               visitor                                   url
    widget_click                    visitor source                            url
    auto_message_click              visitor           trigger id              url
    request               agent     visitor initiator request id              channel, url, attrs
    conversation_message  agent             side      request id              channel
    call_started          agent                       request id
    call_ended                                        request id
    order                           visitor           order id   value        attrs (money parts)
    nps_response          agent     visitor status    request id              rating, attrs
    ===================== ========= ======= ========= ========== ============ ===================
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_chatter_occurred", "chatter_id", "occurred_at"),
        Index("ix_events_creator_occurred", "creator_id", "occurred_at"),
        Index("ix_events_type_occurred", "type", "occurred_at"),
        Index("ix_events_ref", "ref"),
        Index("ix_events_conversation", "creator_id", "contact", "occurred_at"),
        # A chatter's fan view (collector/stats/fans.py, migration 0012): sales and refunds
        # credited to them, and, read from the index alone, their sent messages and the
        # fans' messages.
        Index(
            "ix_events_credit_occurred",
            "credit_chatter_id",
            "occurred_at",
            "type",
            "creator_id",
            "contact",
            "amount_minor",
            "credit_type",
            "ref",
            sqlite_where=text("credit_chatter_id IS NOT NULL"),
            postgresql_where=text("credit_chatter_id IS NOT NULL"),
        ),
        Index(
            "ix_events_sent_by_chatter",
            "chatter_id",
            "occurred_at",
            "creator_id",
            "contact",
            "kind",
            "bought",
            "ref",
            "response_seconds",
            "type",
            sqlite_where=text("type = 'message_sent'"),
            postgresql_where=text("type = 'message_sent'"),
        ),
        Index(
            "ix_events_fan_messages",
            "creator_id",
            "contact",
            "occurred_at",
            "type",
            sqlite_where=text("type = 'fan_message'"),
            postgresql_where=text("type = 'fan_message'"),
        ),
        # A visitor's requests and orders (conversation analytics: attribution, conversion).
        Index("ix_events_type_contact", "type", "contact", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[dt.datetime]
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("creators.id"))
    chatter_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id"))
    contact: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(20))
    ref: Mapped[str | None] = mapped_column(String(200))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    attrs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Conversation commerce: a request's or message's channel (text, video), the page
    # of widget events and requests, an NPS rating (1-5).
    channel: Mapped[str | None] = mapped_column(String(10))
    url: Mapped[str | None] = mapped_column(String(2048))
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    source: Mapped[str] = mapped_column(String(100))
    content_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime]

    # Derived facts (collector/stats/facts.py), kept current as events arrive in any order.
    # A sale's (or a refund's) chatter; NULL: unattributed.
    credit_chatter_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id"))
    # On refunds: the refunded event's type; NULL when the refunded sale is unknown.
    credit_type: Mapped[str | None] = mapped_column(String(40))
    # On PPV messages: a purchase of this PPV by this fan exists.
    bought: Mapped[bool] = mapped_column(default=False, server_default=false())
    # On direct replies: the wait this reply ended (METRICS.md), whole seconds.
    response_seconds: Mapped[int | None]
    # A manager's reassignment of a sale; wins over every attribution rule.
    assigned_chatter_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id"))


class AuditEntry(Base):
    """Who changed what: tokens, revocations, settings (and later reassignments)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SaleReassignment(Base):
    """A manager moved a sale to another chatter: who, when, why (the audit trail)."""

    __tablename__ = "sale_reassignments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    from_chatter_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id"))
    to_chatter_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id"))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    at: Mapped[dt.datetime]


# Rollups: sums per 15-minute UTC bucket (every zone's midnight falls on one) and per
# UTC day.  Buckets are epoch seconds.  Rebuilt from the rows above by
# collector/stats/rollups.py whenever those change; never edited by hand.


class _SalesSums:
    ppv_sales: Mapped[int] = mapped_column(BigInteger, default=0)
    tips: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds: Mapped[int] = mapped_column(BigInteger, default=0)
    unmatched_refunds: Mapped[int] = mapped_column(BigInteger, default=0)
    ppv_sent: Mapped[int] = mapped_column(default=0)
    ppv_bought: Mapped[int] = mapped_column(default=0)
    messages_sent: Mapped[int] = mapped_column(default=0)
    mass_messages_sent: Mapped[int] = mapped_column(default=0)
    automated_messages_sent: Mapped[int] = mapped_column(default=0)
    responses: Mapped[int] = mapped_column(default=0)
    response_total: Mapped[int] = mapped_column(BigInteger, default=0)
    # The samples themselves (sorted uint32, little-endian) so medians stay exact.
    response_values: Mapped[bytes] = mapped_column(LargeBinary, default=b"")


class SalesQuarter(_SalesSums, Base):
    __tablename__ = "sales_quarters"
    __table_args__ = (
        Index("ix_sales_quarters_creator_bucket", "creator_id", "bucket"),
        Index("ix_sales_quarters_chatter_bucket", "chatter_id", "bucket"),
        Index("ix_sales_quarters_bucket", "bucket"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id"))
    chatter_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id"))  # NULL: nobody
    bucket: Mapped[int] = mapped_column(BigInteger)


class SalesDay(_SalesSums, Base):
    __tablename__ = "sales_days"
    __table_args__ = (
        Index("ix_sales_days_creator_day", "creator_id", "day"),
        Index("ix_sales_days_chatter_day", "chatter_id", "day"),
        Index("ix_sales_days_day", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id"))
    chatter_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id"))
    day: Mapped[int] = mapped_column(BigInteger)


class RevenueQuarter(Base):
    """A creator's sales per bucket across chatters: the revenue series reads only this."""

    __tablename__ = "revenue_quarters"
    __table_args__ = (
        UniqueConstraint("creator_id", "bucket"),
        Index("ix_revenue_bucket", "bucket"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id"))
    bucket: Mapped[int] = mapped_column(BigInteger)
    ppv_sales: Mapped[int] = mapped_column(BigInteger, default=0)
    tips: Mapped[int] = mapped_column(BigInteger, default=0)


class FanDay(Base):
    """A chatter's dealings with one fan of one creator on one UTC day (the fan view).

    The sums of collector/stats/fans.py's interactions (METRICS.md "Fan interactions"):
    direct messages the chatter sent the fan, and the fan's sales and refunds credited
    to the chatter.  Keyed so that one chatter's days are one range of the primary key
    (SQLite stores the table in that order: WITHOUT ROWID).
    """

    __tablename__ = "fan_days"
    __table_args__ = (
        # The refresh of one conversation's day (collector/stats/fan_days.py).
        Index("ix_fan_days_creator_day_contact", "creator_id", "day", "contact"),
        {"sqlite_with_rowid": False},
    )

    chatter_id: Mapped[int] = mapped_column(ForeignKey("chatters.id"), primary_key=True)
    day: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id"), primary_key=True)
    contact: Mapped[str] = mapped_column(String(200), primary_key=True)
    messages_sent: Mapped[int] = mapped_column(default=0)
    ppv_sent: Mapped[int] = mapped_column(default=0)
    ppv_bought: Mapped[int] = mapped_column(default=0)
    ppv_revenue: Mapped[int] = mapped_column(BigInteger, default=0)
    tip_revenue: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds: Mapped[int] = mapped_column(BigInteger, default=0)
    last_contact: Mapped[dt.datetime]
    # The chatter's reply waits to this fan (sorted uint32): the median sorts the view.
    response_values: Mapped[bytes] = mapped_column(LargeBinary, default=b"")


class _ActivitySums:
    online_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    active_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    paused_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    keystrokes: Mapped[int] = mapped_column(BigInteger, default=0)
    mouse_events: Mapped[int] = mapped_column(BigInteger, default=0)
    # The part of active_seconds regular input made (METRICS.md).
    regular_seconds: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ActivityQuarter(_ActivitySums, Base):
    __tablename__ = "activity_quarters"
    __table_args__ = (
        UniqueConstraint("chatter_id", "bucket"),
        Index("ix_activity_quarters_bucket", "bucket"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chatter_id: Mapped[int] = mapped_column(ForeignKey("chatters.id"))
    bucket: Mapped[int] = mapped_column(BigInteger)


class ActivityDay(_ActivitySums, Base):
    __tablename__ = "activity_days"
    __table_args__ = (UniqueConstraint("chatter_id", "day"), Index("ix_activity_days_day", "day"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chatter_id: Mapped[int] = mapped_column(ForeignKey("chatters.id"))
    day: Mapped[int] = mapped_column(BigInteger)
