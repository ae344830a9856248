"""Sending the queued deliveries: claimed by one process, retried with backoff, logged.

Deliveries are rows (collector/db/alert_models.py), so a restart loses none and several
processes share the work: a process claims a due delivery with a conditional UPDATE
(only one of several wins it) for ``Policy.claim`` under a token of its own, sends it
outside any transaction, then records the attempt only if the delivery still holds that
token: a sender whose claim ran out and was taken by another writes nothing (the other
records its own try).  Each attempt has one deadline for all of it, ``Policy.timeout``
(connect, send, the whole answer: collector/alerts/webhook.py, mail.py), well inside the
claim (checked when the policy is made), and a batch stops sending once what is left of
its claim could not hold one more attempt: an attempt never outlasts its claim, so two
processes never send one delivery at once.  A failure is tried again after
``base_delay`` doubled at each attempt (at most ``max_delay``); after ``max_attempts``
the delivery is given up (``failed``); an e-mail while no SMTP server is configured is
given up at its first attempt (``mail.NOT_CONFIGURED``: retrying would not help).  A
sender that dies mid-send leaves its claim to run out, and the delivery is tried again: a
receiver may see a message twice then (the ``X-ChatterTrack-Delivery`` header names the
delivery, for deduplication), never not at all.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from collector.alerts import mail, webhook
from collector.db.alert_models import Alert, AlertDelivery, AlertDeliveryAttempt, AlertRule
from collector.db.engine import begin_write

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 8
    base_delay: dt.timedelta = dt.timedelta(seconds=30)
    max_delay: dt.timedelta = dt.timedelta(hours=1)
    claim: dt.timedelta = dt.timedelta(minutes=2)
    # Seconds for all of one attempt (see the module's docstring).
    timeout: float = 10.0
    batch: int = 20
    # CHATTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS: webhooks may reach addresses that are not
    # public (collector/alerts/webhook.py).
    allow_private: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.timeout * 4 <= self.claim.total_seconds():
            raise ValueError("an attempt's timeout must be at most a quarter of the claim")

    def room(self, held_for: float) -> bool:
        """Can one more attempt start ``held_for`` seconds into a claim and end inside it
        (with half an attempt's time to spare for recording it)?"""
        return held_for + self.timeout * 1.5 <= self.claim.total_seconds()


def backoff(policy: Policy, attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed try: 30 s, 1 min, 2 min, ... at most 1 h."""
    wait: dt.timedelta = policy.base_delay * (2 ** max(attempts - 1, 0))
    return min(wait, policy.max_delay)


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    target: str
    payload: str
    attempts: int
    secret: str
    token: str  # this process's claim (``record`` writes only while it is still held)


@dataclass
class Sent:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    lost: int = 0  # sent, but the claim had passed to another process meanwhile
    ids: list[int] = field(default_factory=list)


def claim(engine: Engine, now: dt.datetime, policy: Policy) -> list[Claimed]:
    """Due deliveries this process now holds (nobody else sends them until the claim ends)."""
    claimed: list[Claimed] = []
    token = secrets.token_hex(16)
    with Session(engine) as session:
        begin_write(session)
        due = session.execute(
            select(AlertDelivery.id, AlertRule.webhook_secret)
            .join(Alert, Alert.id == AlertDelivery.alert_id)
            .join(AlertRule, AlertRule.id == Alert.rule_id)
            .where(
                AlertDelivery.status == "pending",
                AlertDelivery.next_attempt_at <= now,
                or_(AlertDelivery.claimed_until.is_(None), AlertDelivery.claimed_until < now),
            )
            .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
            .limit(policy.batch)
        ).all()
        for delivery_id, secret in due:
            won = session.execute(
                update(AlertDelivery)
                .where(
                    AlertDelivery.id == delivery_id,
                    AlertDelivery.status == "pending",
                    or_(AlertDelivery.claimed_until.is_(None), AlertDelivery.claimed_until < now),
                )
                .values(claimed_until=now + policy.claim, claim_token=token)
                .execution_options(synchronize_session=False)
            )
            if won.rowcount != 1:  # type: ignore[attr-defined]
                continue
            row = session.get(AlertDelivery, delivery_id)
            assert row is not None
            claimed.append(
                Claimed(row.id, row.channel, row.target, row.payload, row.attempts, secret, token)
            )
        session.commit()
    return claimed


def release(engine: Engine, items: list[Claimed]) -> None:
    """Give back claims not used (each only if still this process's)."""
    with Session(engine) as session:
        begin_write(session)
        for item in items:
            session.execute(
                update(AlertDelivery)
                .where(AlertDelivery.id == item.id, AlertDelivery.claim_token == item.token)
                .values(claimed_until=None, claim_token=None)
                .execution_options(synchronize_session=False)
            )
        session.commit()


def _send(
    item: Claimed, smtp: mail.SmtpSettings, policy: Policy, now: dt.datetime
) -> webhook.Outcome:
    if item.channel == "webhook":
        body = item.payload.encode()
        stamp = int(now.timestamp())
        headers = {
            webhook.TIMESTAMP: str(stamp),
            webhook.SIGNATURE: webhook.sign(item.secret, stamp, body),
            webhook.DELIVERY: str(item.id),
            webhook.EVENT: "alert.opened",
        }
        return webhook.post(
            item.target, body, headers, policy.timeout, allow_private=policy.allow_private
        )
    if not smtp.configured:
        return webhook.Outcome(False, None, mail.NOT_CONFIGURED, final=True)
    content = json.loads(item.payload)
    try:
        mail.send(smtp, item.target, content["subject"], content["text"], within=policy.timeout)
    except mail.EmailError as exc:
        return webhook.Outcome(False, None, str(exc))
    return webhook.Outcome(True)


def record(
    engine: Engine, item: Claimed, outcome: webhook.Outcome, now: dt.datetime, policy: Policy
) -> str:
    """Store the attempt; the delivery's new status, "gone" when it was deleted meanwhile,
    "lost" when another process holds it now (this process's claim ran out and was
    taken: nothing is written, the other's try is the one recorded)."""
    with Session(engine) as session:
        begin_write(session)
        # Taking the claim back off the row, only if it is still this process's, also
        # locks the row (PostgreSQL) until the attempt is stored.
        held = session.execute(
            update(AlertDelivery)
            .where(AlertDelivery.id == item.id, AlertDelivery.claim_token == item.token)
            .values(claimed_until=None, claim_token=None)
            .execution_options(synchronize_session=False)
        )
        if held.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            gone = session.get(AlertDelivery, item.id) is None
            if not gone:
                log.warning(
                    "alert delivery %s: the claim ran out and another process took it; "
                    "this attempt (%s) is not recorded",
                    item.id,
                    "ok" if outcome.ok else outcome.error,
                )
            return "gone" if gone else "lost"
        row = session.get(AlertDelivery, item.id)
        assert row is not None
        row.attempts += 1
        session.add(
            AlertDeliveryAttempt(
                delivery_id=row.id,
                number=row.attempts,
                at=now,
                ok=outcome.ok,
                status_code=outcome.status_code,
                error=outcome.error,
            )
        )
        if outcome.ok:
            row.status = "delivered"
            row.delivered_at = now
            row.last_error = None
        else:
            row.last_error = outcome.error
            if outcome.final or row.attempts >= policy.max_attempts:
                row.status = "failed"
            else:
                row.next_attempt_at = now + backoff(policy, row.attempts)
        status = row.status
        session.commit()
    return status


def send_due(
    engine: Engine,
    smtp: mail.SmtpSettings,
    policy: Policy | None = None,
    clock: Clock = lambda: dt.datetime.now(dt.UTC),
) -> Sent:
    """Send every delivery due now (one claim batch after another)."""
    policy = policy or Policy()
    sent = Sent()
    while True:
        batch = claim(engine, clock(), policy)
        claimed_at = time.monotonic()
        if not batch:
            return sent
        for number, item in enumerate(batch):
            started = time.monotonic()
            if not policy.room(started - claimed_at):
                # Too little of the claim left for another attempt: hand the rest back
                # (claimed again, with a fresh claim, in the next batch).
                release(engine, batch[number:])
                break
            outcome = _send(item, smtp, policy, clock())
            status = record(engine, item, outcome, clock(), policy)
            if status == "lost":
                sent.lost += 1
                continue
            sent.ids.append(item.id)
            if status == "delivered":
                sent.delivered += 1
            elif status == "failed":
                sent.failed += 1
                log.warning("alert delivery %s given up: %s", item.id, outcome.error)
            else:
                sent.retrying += 1
            log.info(
                "alert delivery %s (%s) %s in %.2f s",
                item.id,
                item.channel,
                status,
                time.monotonic() - started,
            )
