"""Recompute the conversation facts and rollups from the raw events, streaming.

Used by ``chatter-collector stats rebuild`` (repair, or after upgrading a
database that held conversation events before migration 0005), by the demo
and the benchmark after bulk loads, and, for the orders alone, when the
attribution window setting changes.  Incremental maintenance
(collector/conversations/ingest.py) must leave the database exactly as this
does; the property tests compare both with the reference computation.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any, cast

from sqlalchemy import Connection, delete, func, insert, select

from collector.conversations import facts, feedback, rollups
from collector.conversations.facts import CO, CR, CV, REQUEST_TYPES, E, EventTuple
from collector.db import locks
from collector.db.buckets import DAY, day_of, from_epoch
from shared.events import CONVERSATION_EVENT_TYPES

_STREAM = {"stream_results": True, "yield_per": 10_000}
_FLUSH = 10_000


def _distinct_contacts(connection: Connection) -> Iterator[str]:
    query = (
        select(E.c.contact)
        .where(E.c.type.in_(CONVERSATION_EVENT_TYPES), E.c.contact.is_not(None))
        .distinct()
    )
    for (contact,) in connection.execute(query, execution_options=_STREAM):
        yield contact


def rebuild_visitors(connection: Connection) -> None:
    """A dense id for every visitor (existing ids are kept)."""
    known = set(connection.execute(select(CV.c.visitor)).scalars())
    fresh = sorted(set(_distinct_contacts(connection)) - known)
    for part in facts.chunks(fresh, 5000):
        connection.execute(insert(CV), [{"visitor": v} for v in part])


def rebuild_requests(connection: Connection) -> None:
    connection.execute(delete(CR))
    query = (
        select(
            E.c.ref,
            E.c.type,
            E.c.occurred_at,
            E.c.event_id,
            E.c.kind,
            E.c.chatter_id,
            E.c.contact,
            E.c.channel,
            E.c.url,
            E.c.attrs,
        )
        .where(E.c.type.in_(REQUEST_TYPES), E.c.ref.is_not(None))
        .order_by(E.c.ref)
    )
    visitors: dict[str, int] = {v: i for v, i in connection.execute(select(CV.c.visitor, CV.c.id))}
    pending: list[dict[str, Any]] = []
    stream = connection.execute(query, execution_options=_STREAM)
    for ref, group in itertools.groupby(stream, key=lambda r: r[0]):
        events = [cast(EventTuple, tuple(r[1:])) for r in group]
        fact = facts.request_fact(ref, events)
        if fact is not None:
            pending.append(facts.request_row(fact, visitors))
        if len(pending) >= _FLUSH:
            connection.execute(insert(CR), pending)
            pending = []
    if pending:
        connection.execute(insert(CR), pending)


def rebuild_orders(connection: Connection) -> set[int]:
    """Every order's attribution (with the current window); the buckets that changed."""
    ids = list(connection.execute(select(E.c.ref).where(E.c.type == "order").distinct()).scalars())
    stale = set(connection.execute(select(CO.c.order_id)).scalars()) - set(ids)
    buckets: set[int] = set()
    for part in facts.chunks(sorted(stale)):
        buckets |= set(
            connection.execute(select(CO.c.bucket).where(CO.c.order_id.in_(part))).scalars()
        )
        connection.execute(delete(CO).where(CO.c.order_id.in_(part)))
    for part in facts.chunks(sorted(ids), 5000):
        buckets |= facts.refresh_orders(connection, part, ())
    return buckets


def _next_day(connection: Connection, after: dt.datetime | None) -> int | None:
    """The UTC day of the first conversation event at or after ``after`` (one index seek
    per type on ix_events_type_occurred), so a rebuild visits only days with events."""
    first = None
    for kind in CONVERSATION_EVENT_TYPES:
        query = select(func.min(E.c.occurred_at)).where(E.c.type == kind)
        if after is not None:
            query = query.where(E.c.occurred_at >= after)
        found = connection.execute(query).scalar()
        if found is not None and (first is None or found < first):
            first = found
    return None if first is None else day_of(first)


def rebuild_rollups(connection: Connection) -> None:
    sums = (rollups.Q, rollups.QT, rollups.D)
    for table in (*sums, rollups.VQ, rollups.VD, rollups.VH, rollups.UQ, rollups.UD):
        connection.execute(delete(table))
    days: list[int] = []
    day = _next_day(connection, None)
    while day is not None:
        acc = rollups.Accumulator()
        acc.read(connection, day, day + DAY)
        acc.write(connection, day, day + DAY)
        days.append(day)
        day = _next_day(connection, from_epoch(day + DAY))
    rollups.refresh_days(connection, days)


def rebuild(connection: Connection) -> None:
    """Every conversation fact and rollup from the raw events."""
    locks.serialise(connection, locks.CONVERSATIONS)
    rebuild_visitors(connection)
    rebuild_requests(connection)
    rebuild_orders(connection)
    rebuild_rollups(connection)
    feedback.rebuild(connection)


def rebuild_hours_and_feedback(connection: Connection) -> None:
    """The bucket totals and visitor sets per hour (the days again) from the stored quarters,
    and the NPS feedback facts: what migration 0023 added to a database whose other rollups
    are current."""
    locks.serialise(connection, locks.CONVERSATIONS)
    q, qt = rollups.Q, rollups.QT
    totals = select(q.c.bucket, *(func.sum(q.c[name]) for name in rollups.SUMS)).group_by(
        q.c.bucket
    )
    connection.execute(insert(qt).from_select(["bucket", *rollups.SUMS], totals))
    days = select(rollups.VQ.c.bucket - rollups.VQ.c.bucket % DAY).distinct()
    rollups.refresh_days(connection, list(connection.execute(days).scalars()))
    feedback.rebuild(connection)


def reattribute(connection: Connection) -> None:
    """After the attribution window changed: every order again, and the buckets that moved."""
    locks.serialise(connection, locks.CONVERSATIONS)
    rollups.refresh(connection, rebuild_orders(connection))
