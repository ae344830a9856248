"""Sending the queued deliveries: claimed by one process, retried with backoff, logged.

Deliveries are rows (collector/db/alert_models.py), so a restart loses none and several
processes share the work: a process claims a due delivery with a conditional UPDATE
(only one of several wins it) for ``Policy.claim``, sends it outside any transaction,
then records the attempt.  A failure is tried again after ``base_delay`` doubled at each
attempt (at most ``max_delay``); after ``max_attempts`` the delivery is given up
(``failed``).  A sender that dies mid-send leaves its claim to run out, and the
delivery is tried again: a receiver may see a message twice then (the
``X-ChatterTrack-Delivery`` header names the delivery, for deduplication), never not at all.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
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
    timeout: float = 10.0
    batch: int = 20


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


@dataclass
class Sent:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    ids: list[int] = field(default_factory=list)


def claim(engine: Engine, now: dt.datetime, policy: Policy) -> list[Claimed]:
    """Due deliveries this process now holds (nobody else sends them until the claim ends)."""
    claimed: list[Claimed] = []
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
                .values(claimed_until=now + policy.claim)
                .execution_options(synchronize_session=False)
            )
            if won.rowcount != 1:  # type: ignore[attr-defined]
                continue
            row = session.get(AlertDelivery, delivery_id)
            assert row is not None
            claimed.append(
                Claimed(row.id, row.channel, row.target, row.payload, row.attempts, secret)
            )
        session.commit()
    return claimed


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
        return webhook.post(item.target, body, headers, policy.timeout)
    content = json.loads(item.payload)
    try:
        mail.send(smtp, item.target, content["subject"], content["text"])
    except mail.EmailError as exc:
        return webhook.Outcome(False, None, str(exc))
    return webhook.Outcome(True)


def record(
    engine: Engine, item: Claimed, outcome: webhook.Outcome, now: dt.datetime, policy: Policy
) -> str:
    """Store the attempt; the delivery's new status."""
    with Session(engine) as session:
        begin_write(session)
        row = session.get(AlertDelivery, item.id)
        if row is None:  # its alert or rule was deleted meanwhile
            session.rollback()
            return "gone"
        row.attempts += 1
        row.claimed_until = None
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
            if row.attempts >= policy.max_attempts:
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
        if not batch:
            return sent
        for item in batch:
            started = time.monotonic()
            outcome = _send(item, smtp, policy, clock())
            status = record(engine, item, outcome, clock(), policy)
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
