"""A manager moves a sale (a PPV purchase or a tip) to another chatter, on the record.

The reassignment wins over every attribution rule and is kept with who, when
and why; refunds of the sale follow it.  Moving it back to ``None`` restores
the automatic rules.  Facts and rollups are recomputed in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.db import audit, locks, retention, text
from collector.db.models import Chatter, Event, SaleReassignment
from collector.errors import DomainError
from collector.stats import facts, fan_days, rollups
from shared.protocol import format_time

SALE_TYPES = ("ppv_purchase", "tip")


def find_sale(session: Session, event_id: str) -> Event:
    text.check(event_id, "event_id")
    sale = session.scalar(select(Event).where(Event.event_id == event_id))
    if sale is None:
        raise DomainError(f"no event {event_id!r}", 404)
    if sale.type not in SALE_TYPES:
        raise DomainError(
            f"event {event_id!r} is a {sale.type}, not a sale (PPV purchase or tip)", 422
        )
    return sale


def reassign(
    session: Session,
    event_id: str,
    chatter_key: str | None,
    reason: str,
    actor: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """Credit the sale to ``chatter_key`` (None: back to the automatic rules)."""
    reason = reason.strip()
    if not reason:
        raise DomainError("a reason is required: it is kept in the audit trail")
    text.check(reason, "reason", SaleReassignment.reason)
    sale = find_sale(session, event_id)
    closed = retention.watermarks(session).events
    if closed is not None and sale.occurred_at < closed:
        # Its period's sums are closed (kept as they were when its raw rows were purged).
        raise DomainError(
            f"sale {event_id!r} is before {format_time(closed)}, a purged period: its "
            "totals are final",
            422,
        )
    target = None
    if chatter_key is not None:
        text.check(chatter_key, "chatter")
        target = session.scalar(select(Chatter).where(Chatter.key == chatter_key))
        if target is None:
            raise DomainError(f"unknown chatter {chatter_key!r}")
    connection = session.connection()
    # The lock first: an ingest holding it may be about to update this very row.
    locks.serialise(connection, locks.EVENTS)
    session.refresh(sale)
    before = sale.credit_chatter_id
    sale.assigned_chatter_id = target.id if target else None
    session.flush()
    touched = facts.derive(connection, [sale.event_id])
    rollups.refresh_sales(connection, ((r.creator_id, r.occurred_at) for r in touched))
    fan_days.refresh(connection, touched)
    session.expire(sale)
    record = SaleReassignment(
        event_id=sale.id,
        from_chatter_id=before,
        to_chatter_id=sale.credit_chatter_id,
        actor=actor,
        reason=reason,
        at=now,
    )
    session.add(record)
    detail = {"from": _key(session, before), "to": chatter_key, "reason": reason}
    audit.record(session, actor, "reassign_sale", event_id, now, **detail)
    session.flush()
    return describe(session, sale)


def _key(session: Session, chatter_id: int | None) -> str | None:
    if chatter_id is None:
        return None
    return session.scalar(select(Chatter.key).where(Chatter.id == chatter_id))


def describe(session: Session, sale: Event) -> dict[str, Any]:
    """The sale, whom it is credited to now, and every reassignment of it."""
    history = session.scalars(
        select(SaleReassignment)
        .where(SaleReassignment.event_id == sale.id)
        .order_by(SaleReassignment.at, SaleReassignment.id)
    )
    return {
        "event_id": sale.event_id,
        "type": sale.type,
        "occurred_at": sale.occurred_at,
        "amount_minor": sale.amount_minor,
        "fan": sale.contact,
        "credited_to": _key(session, sale.credit_chatter_id),
        "reassigned": sale.assigned_chatter_id is not None,
        "history": [
            {
                "at": r.at,
                "actor": r.actor,
                "from": _key(session, r.from_chatter_id),
                "to": _key(session, r.to_chatter_id),
                "reason": r.reason,
            }
            for r in history
        ],
    }
