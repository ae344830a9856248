"""Keep the conversation facts and rollups current as events arrive (any order, any batch).

Called by collector/ingest/events.py after new conversation-commerce events are
stored, in the same transaction.  Writers serialise on an advisory lock
(PostgreSQL; SQLite's write lock already does) so that every collector
process derives from the rows the others committed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from collector.conversations import facts, feedback, rollups
from collector.conversations.facts import REQUEST_TYPES, E, chunks
from collector.db import locks
from collector.db.buckets import bucket_of

_BUCKET_TYPES = ("widget_impression", "widget_click", "auto_message_click", "nps_response")


def after_store(connection: Connection, event_ids: Sequence[str]) -> None:
    """Recompute every fact and bucket these new events can change."""
    if not event_ids:
        return
    locks.serialise(connection, locks.CONVERSATIONS)
    rows = []
    for part in chunks(sorted(event_ids)):
        rows += list(
            connection.execute(
                select(E.c.type, E.c.occurred_at, E.c.contact, E.c.ref, E.c.event_id).where(
                    E.c.event_id.in_(part)
                )
            )
        )
    facts.visitor_ids(connection, (contact for _, _, contact, _, _ in rows if contact))
    touched = facts.refresh_requests(
        connection, (ref for type_, _, _, ref, _ in rows if type_ in REQUEST_TYPES and ref)
    )
    buckets = touched.buckets
    orders = (ref for type_, _, _, ref, _ in rows if type_ == "order" and ref)
    buckets |= facts.refresh_orders(connection, orders, touched.visitors)
    buckets |= facts.nps_buckets(connection, touched.agents_changed)
    buckets |= {bucket_of(at) for type_, at, _, _, _ in rows if type_ in _BUCKET_TYPES}
    rollups.refresh(connection, buckets)
    # Only the NPS responses among them can carry feedback: no second read of the rest.
    responses = [event_id for type_, _, _, _, event_id in rows if type_ == "nps_response"]
    feedback.record(connection, responses)
