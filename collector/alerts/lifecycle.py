"""What people do with alerts: list them, acknowledge them, resolve them by hand.

Acknowledging says "someone is on it": the alert stays open (and the condition is still
watched) until it resolves.  Resolving by hand closes it now, and nothing of that subject
opens (or is sent) again while the condition goes on holding: only once an evaluation has
seen it cleared does it open anew (collector/alerts/evaluate.py).  Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.alerts.evaluate import close
from collector.db.alert_models import Alert, AlertDelivery, AlertDeliveryAttempt
from collector.db.base import iso
from collector.errors import DomainError

STATES = ("open", "acknowledged", "resolved", "active", "all")
MAX_LIMIT = 500
MAX_ID = 2**63 - 1


def get(session: Session, alert_id: int, creators: Collection[int] | None = None) -> Alert:
    """The alert; 404 also when a team lead (``creators``) may not see it."""
    # Past the id column's range nothing is stored (and PostgreSQL would refuse the query).
    alert = session.get(Alert, alert_id) if 0 < alert_id <= MAX_ID else None
    if alert is None or (creators is not None and alert.creator_id not in creators):
        raise DomainError(f"no alert {alert_id}", 404)
    return alert


def acknowledge(alert: Alert, who: str, now: dt.datetime) -> None:
    if alert.resolved_at is not None:
        raise DomainError(f"alert {alert.id} is already resolved", 409)
    if alert.acknowledged_at is not None:
        raise DomainError(
            f"alert {alert.id} was already acknowledged by {alert.acknowledged_by}", 409
        )
    alert.acknowledged_at = now
    alert.acknowledged_by = who


def resolve(alert: Alert, who: str, now: dt.datetime) -> None:
    if alert.resolved_at is not None:
        raise DomainError(f"alert {alert.id} is already resolved", 409)
    close(alert, who, now)


def listing(
    session: Session,
    *,
    state: str = "active",
    creators: Collection[int] | None = None,
    creator_id: int | None = None,
    chatter_id: int | None = None,
    kind: str | None = None,
    limit: int = 100,
) -> list[Alert]:
    """Newest first.  ``active``: open or acknowledged (not resolved); ``creators``: a
    team lead's creators (alerts of no creator are not theirs)."""
    if state not in STATES:
        raise DomainError(f"state must be one of {', '.join(STATES)}")
    query = select(Alert)
    if state == "open":
        query = query.where(Alert.resolved_at.is_(None), Alert.acknowledged_at.is_(None))
    elif state == "acknowledged":
        query = query.where(Alert.resolved_at.is_(None), Alert.acknowledged_at.is_not(None))
    elif state == "active":
        query = query.where(Alert.resolved_at.is_(None))
    elif state == "resolved":
        query = query.where(Alert.resolved_at.is_not(None))
    if creators is not None:
        query = query.where(Alert.creator_id.in_(sorted(creators)))
    if creator_id is not None:
        query = query.where(Alert.creator_id == creator_id)
    if chatter_id is not None:
        query = query.where(Alert.chatter_id == chatter_id)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    return list(
        session.scalars(query.order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit))
    )


def deliveries(
    session: Session, *, alert_id: int | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The delivery log: each delivery with its attempts, newest first."""
    query = select(AlertDelivery)
    if alert_id is not None:
        query = query.where(AlertDelivery.alert_id == alert_id)
    if status is not None:
        if status not in ("pending", "delivered", "failed"):
            raise DomainError("status must be pending, delivered or failed")
        query = query.where(AlertDelivery.status == status)
    rows = list(
        session.scalars(
            query.order_by(AlertDelivery.created_at.desc(), AlertDelivery.id.desc()).limit(limit)
        )
    )
    attempts: dict[int, list[dict[str, Any]]] = {r.id: [] for r in rows}
    if rows:
        for a in session.scalars(
            select(AlertDeliveryAttempt)
            .where(AlertDeliveryAttempt.delivery_id.in_(list(attempts)))
            .order_by(AlertDeliveryAttempt.delivery_id, AlertDeliveryAttempt.number)
        ):
            attempts[a.delivery_id].append(
                {
                    "number": a.number,
                    "at": iso(a.at),
                    "ok": a.ok,
                    "status_code": a.status_code,
                    "error": a.error,
                }
            )
    return [
        {
            "id": r.id,
            "alert_id": r.alert_id,
            "channel": r.channel,
            "target": r.target,
            "status": r.status,
            "attempts": r.attempts,
            "next_attempt_at": iso(r.next_attempt_at) if r.status == "pending" else None,
            "created_at": iso(r.created_at),
            "delivered_at": iso(r.delivered_at),
            "last_error": r.last_error,
            "log": attempts[r.id],
        }
        for r in rows
    ]
