"""Alerts: the rules an admin sets, the alerts they open, and each alert's deliveries.

An alert is open while ``open_key`` is set: it holds the rule's dedupe key for the subject
(rule, chatter or creator, shift occurrence or day), and a unique constraint on it means
one open alert per key whatever the number of evaluators (NULLs never collide, on SQLite
and PostgreSQL alike).  Resolving sets it to NULL, so the same condition coming back
later opens (and sends) a new alert.  Resolving by hand while the condition still holds
also sets ``quiet_key``: that episode stays quiet (nothing reopens, nothing is sent) until
an evaluation sees the condition cleared (collector/alerts/evaluate.py).

A delivery is one message to one target (a webhook URL, one e-mail address), stored with
its body when the alert opens and sent by whichever process claims it first; every try
leaves an attempt row, the delivery log.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from collector.db.base import Base, BigId

KINDS = ("no_presence", "idle", "no_show", "coverage", "response_time")


class AlertRule(Base):
    """A condition to watch, its threshold, its scope (one creator or all) and targets.

    ``threshold`` is minutes for no_presence, idle and no_show, missing chatters for
    coverage and seconds for response_time (collector/alerts/rules.py).  The webhook
    secret signs every webhook body (HMAC-SHA256); it is shown once, when made.
    """

    __tablename__ = "alert_rules"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('no_presence', 'idle', 'no_show', 'coverage', 'response_time')",
            name="kind",
        ),
        CheckConstraint("threshold >= 1 AND threshold <= 86400", name="threshold"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[int] = mapped_column(Integer)
    creator_id: Mapped[int | None] = mapped_column(
        ForeignKey("creators.id", ondelete="CASCADE"), index=True
    )
    enabled: Mapped[bool] = mapped_column(default=True)
    webhook_url: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    webhook_secret: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # Comma-separated addresses (at most rules.MAX_EMAILS).
    emails: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_rule", "rule_id"),
        Index("ix_alerts_opened", "opened_at"),
        Index("ix_alerts_creator", "creator_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    # The dedupe key while open, NULL once resolved (see the module's docstring).
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    chatter_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id", ondelete="CASCADE"))
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"))
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id", ondelete="SET NULL"))
    occurrence_start: Mapped[dt.datetime | None]
    occurrence_end: Mapped[dt.datetime | None]
    day: Mapped[dt.date | None]  # response_time: the local day
    message: Mapped[str] = mapped_column(String(500))
    opened_at: Mapped[dt.datetime]
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[dt.datetime | None]
    # "system" when the condition cleared, else who resolved it by hand.
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    # Resolved by hand while its condition still held: the dedupe key, until the
    # condition is seen cleared (no new alert of that key opens meanwhile); then NULL.
    quiet_key: Mapped[str | None] = mapped_column(String(200), index=True)


class AlertDelivery(Base):
    __tablename__ = "alert_deliveries"
    __table_args__ = (
        CheckConstraint("channel IN ('webhook', 'email')", name="channel"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
        Index("ix_alert_deliveries_alert", "alert_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(2000))
    # The webhook's JSON body, or the e-mail's subject and text (as JSON), made once.
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime]
    # A process sending it holds it until then; a crashed sender's claim runs out.
    claimed_until: Mapped[dt.datetime | None]
    # The holder's token: its try is recorded only while the claim is still its own.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]
    delivered_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


class AlertDeliveryAttempt(Base):
    """One try of a delivery: the delivery log."""

    __tablename__ = "alert_delivery_attempts"
    __table_args__ = (Index("ix_alert_delivery_attempts_delivery", "delivery_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("alert_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int]
    at: Mapped[dt.datetime]
    ok: Mapped[bool]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))
