"""The NPS responses that carry feedback text, kept as a fact so the NPS view pages them.

Whether a response has feedback is Python's reading of its ``attrs`` (``json.loads``: a
duplicated key's last value wins; the text must be a non-blank string), decided once when
the event is stored (collector/conversations/ingest.py) or rebuilt, never by SQL's JSON
functions.  The view then counts a range's feedback and reads one page of it in SQL, in
the reference's order (newest first, then event id), instead of every response's attrs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, func, insert, select

from collector.conversations.facts import CR, E, chunks
from collector.db.conversation_models import ConversationFeedback

FB = cast(Table, ConversationFeedback.__table__)
_STREAM = {"stream_results": True, "yield_per": 10_000}


def text_of(attrs: Any) -> str | None:
    """The feedback text of a response's attrs, or None when it has none (or only blanks)."""
    text = attrs.get("feedback") if isinstance(attrs, dict) else None
    return text if isinstance(text, str) and text.strip() else None


def _responses() -> Any:
    return select(E.c.id, E.c.event_id, E.c.occurred_at, E.c.attrs).where(
        E.c.type == "nps_response", E.c.attrs.is_not(None)
    )


def _insert(connection: Connection, rows: Iterable[Any]) -> None:
    found = [
        {"id": i, "event_id": event_id, "occurred_at": at}
        for i, event_id, at, attrs in rows
        if text_of(attrs) is not None
    ]
    for part in chunks(found, 5000):
        connection.execute(insert(FB), part)


def record(connection: Connection, event_ids: Iterable[str]) -> None:
    """The feedback of these newly stored NPS responses (ids of other events are ignored)."""
    for part in chunks(sorted(set(event_ids))):
        found = list(connection.execute(_responses().where(E.c.event_id.in_(part))))
        ids = [row[0] for row in found]
        if ids:
            connection.execute(delete(FB).where(FB.c.id.in_(ids)))
        _insert(connection, found)


def rebuild(connection: Connection) -> None:
    """Every response's feedback from the raw events."""
    connection.execute(delete(FB))
    _insert(connection, connection.execute(_responses(), execution_options=_STREAM))


def total(connection: Connection, start: dt.datetime, end: dt.datetime) -> int:
    """How many responses in [start, end) carry feedback."""
    query = select(func.count()).where(FB.c.occurred_at >= start, FB.c.occurred_at < end)
    return int(connection.execute(query).scalar_one())


def page(
    connection: Connection,
    start: dt.datetime,
    end: dt.datetime,
    offset: int = 0,
    limit: int | None = None,
) -> list[tuple[Any, ...]]:
    """The responses with feedback in [start, end), newest first (then the highest event
    id, in code point order like Python's), ``limit`` of them from ``offset``.

    Columns: occurred_at, event_id, agent id, rating, attrs, status, visitor, request id.
    """
    agent = func.coalesce(E.c.chatter_id, CR.c.agent_id)
    picked = (
        select(FB.c.id, FB.c.occurred_at, FB.c.event_id)
        .where(FB.c.occurred_at >= start, FB.c.occurred_at < end)
        .order_by(FB.c.occurred_at.desc(), FB.c.event_id.desc())
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    query = (
        select(
            E.c.occurred_at,
            E.c.event_id,
            agent,
            E.c.rating,
            E.c.attrs,
            E.c.kind,
            E.c.contact,
            E.c.ref,
        )
        .select_from(
            picked.join(E, E.c.id == picked.c.id).outerjoin(CR, CR.c.request_id == E.c.ref)
        )
        .order_by(picked.c.occurred_at.desc(), picked.c.event_id.desc())
    )
    return [tuple(row) for row in connection.execute(query)]
