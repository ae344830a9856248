"""One evaluation round: open what fires, resolve what cleared, queue each opening's sends.

Runs in the caller's write transaction, one process at a time: PostgreSQL's advisory
lock (taken with try: a round that finds another evaluating skips), SQLite's write lock
(BEGIN IMMEDIATE, which ``begin_write`` takes, makes a second evaluator wait and then
see the first one's alerts).  The unique ``open_key`` is the last guard: two openings of
one subject cannot both be stored.

An alert is sent once per opening: its deliveries are queued in the transaction that
opens it, and a condition that goes on firing finds its alert open and adds nothing.

An alert resolved by hand while its condition still holds stays resolved, and quiet, for
the rest of that episode: its ``quiet_key`` keeps the subject from opening again while
the condition goes on firing, and the first round that finds the subject not firing ends
the quiet (the next time the condition holds is a new episode: a new alert, sent).
Sending happens later, outside any evaluation (collector/alerts/delivery.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from collector.alerts import conditions, messages
from collector.alerts.rules import split_emails
from collector.auth import callers
from collector.auth.accounts import normalise_email
from collector.db import locks
from collector.db.alert_models import Alert, AlertDelivery, AlertRule
from collector.db.models import User

SYSTEM = "system"


@dataclass
class Round:
    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    still_open: int = 0
    queued: int = 0
    quiet: int = 0  # firing, but resolved by hand in this episode (see the docstring)

    def as_dict(self) -> dict[str, Any]:
        return {
            "opened": len(self.opened),
            "resolved": len(self.resolved),
            "still_open": self.still_open,
            "deliveries_queued": self.queued,
            "quiet": self.quiet,
        }


def try_lock(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return True
    return bool(
        connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": locks.ALERTS}
        ).scalar()
    )


def evaluate(session: Session, now: dt.datetime) -> Round | None:
    """One round in the session's write transaction (the caller commits); None when
    another process is evaluating."""
    if not try_lock(session.connection()):
        return None
    result = Round()
    rules = list(session.scalars(select(AlertRule).where(AlertRule.enabled).order_by(AlertRule.id)))
    if not rules:
        return result
    snap = conditions.snapshot(session, now)
    open_alerts: dict[str, Alert] = {
        a.dedupe_key: a
        for a in session.scalars(
            select(Alert).where(
                Alert.resolved_at.is_(None), Alert.rule_id.in_([r.id for r in rules])
            )
        )
    }
    quiet: dict[str, Alert] = {
        a.quiet_key: a
        for a in session.scalars(
            select(Alert).where(
                Alert.quiet_key.is_not(None), Alert.rule_id.in_([r.id for r in rules])
            )
        )
        if a.quiet_key is not None
    }
    firing: set[str] = set()
    for rule in rules:
        for finding in conditions.KINDS[rule.kind](session, snap, rule):
            firing.add(finding.key)
            if finding.key in open_alerts:
                result.still_open += 1
                continue
            if finding.key in quiet:
                result.quiet += 1
                continue
            alert = _open(session, rule, finding, now)
            open_alerts[finding.key] = alert
            result.opened.append(alert.id)
            result.queued += queue(session, rule, alert, now)
    for key, alert in open_alerts.items():
        if key in firing:
            continue
        if conditions.cleared(session, alert, now):
            close(alert, SYSTEM, now)
            result.resolved.append(alert.id)
        else:
            result.still_open += 1
    for key, alert in quiet.items():
        if key not in firing:
            alert.quiet_key = None  # the episode is over
    session.flush()
    return result


def _open(
    session: Session, rule: AlertRule, finding: conditions.Finding, now: dt.datetime
) -> Alert:
    alert = Alert(
        rule_id=rule.id,
        kind=rule.kind,
        dedupe_key=finding.key,
        open_key=finding.key,
        chatter_id=finding.chatter_id,
        creator_id=finding.creator_id,
        shift_id=finding.shift_id,
        occurrence_start=finding.occurrence_start,
        occurrence_end=finding.occurrence_end,
        day=finding.day,
        message=finding.message,
        opened_at=now,
    )
    session.add(alert)
    session.flush()
    return alert


def mailbox(address: str) -> str:
    """The mailbox an address reaches, as a team lead's e-mail scope reads it: the whole
    address lower-cased (``accounts.normalise_email``, as logins are stored) and a
    ``+tag`` of its local part left out, so ``Lead+x@Example.com`` is ``lead@example.com``.
    Reading more addresses as one mailbox only ever narrows what is sent (``team_leads``)."""
    address = normalise_email(address)
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    return f"{local.split('+', 1)[0]}@{domain}"


def team_leads(session: Session, addresses: list[str]) -> dict[str, frozenset[int]]:
    """Of these addresses' mailboxes (``mailbox``), those of team leads' logins (managers
    limited to some creators): mailbox -> the creators they may see.  A mailbox that is
    several leads' (``lead@`` and ``lead+ops@`` both logins) gets what every one of them
    may see: the creators common to all."""
    wanted = {mailbox(a) for a in addresses}
    if not wanted:
        return {}
    found: dict[str, frozenset[int]] = {}
    # Logins are few; the +tag rule is not one SQL both databases share: read in Python.
    for user in session.scalars(select(User).where(User.role == "manager")):
        limit = callers.creator_limit(user)
        box = mailbox(user.email)
        if limit is not None and box in wanted:
            found[box] = found[box] & limit if box in found else limit
    return found


def queue(session: Session, rule: AlertRule, alert: Alert, now: dt.datetime) -> int:
    """The deliveries of one opening: the webhook, and one e-mail per address.  A team
    lead's address gets only the alerts of their creators (one of no creator, or of
    another creator, is not theirs to read: as on the dashboard)."""
    made = 0
    if rule.webhook_url:
        session.add(
            AlertDelivery(
                alert_id=alert.id,
                channel="webhook",
                target=rule.webhook_url,
                payload=messages.webhook_body(session, rule, alert).decode(),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        made += 1
    addresses = split_emails(rule.emails)
    leads = team_leads(session, addresses)
    for address in addresses:
        limit = leads.get(mailbox(address))
        if limit is not None and alert.creator_id not in limit:
            continue
        session.add(
            AlertDelivery(
                alert_id=alert.id,
                channel="email",
                target=address,
                payload=messages.email_payload(session, rule, alert),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        made += 1
    return made


def close(alert: Alert, who: str, now: dt.datetime) -> None:
    """Resolve: by the system when the condition cleared, else by hand (``who``), which
    keeps the episode quiet (see the module's docstring)."""
    alert.resolved_at = now
    alert.resolved_by = who
    alert.open_key = None
    if who != SYSTEM:
        alert.quiet_key = alert.dedupe_key
