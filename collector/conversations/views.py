"""The conversation-analytics summary read from the events table with SQL.

Correctness first: every figure equals collector/conversations/metrics.py on
the stored rows (the tests compare them on both databases).  The database
finds each request's first response and extent, the attributed orders and the
distinct visitors; Python only adds up one row per request of the range.
Meeting the benchmark (a million requests) will need rollups on top of this.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    case,
    distinct,
    exists,
    func,
    or_,
    select,
)

from collector.conversations.metrics import ATTRIBUTION_WINDOW_DAYS, Span, Summary
from collector.models import Event

E = cast(Table, Event.__table__)
_FOLLOW_UPS = ("conversation_message", "call_started", "call_ended")


def _ident(connection: Connection, column: Any) -> Any:
    """Event ids compared code point by code point, as the reference does."""
    return column.collate("C") if connection.dialect.name == "postgresql" else column


def _first_of_its_id(connection: Connection, row: Any, type_: str) -> ColumnElement[bool]:
    """No earlier event of the same type repeats this row's ``ref`` (request or order id)."""
    other = E.alias(f"earlier_{type_}")
    earlier = or_(
        other.c.occurred_at < row.c.occurred_at,
        and_(
            other.c.occurred_at == row.c.occurred_at,
            _ident(connection, other.c.event_id) < _ident(connection, row.c.event_id),
        ),
    )
    return ~exists().where(other.c.type == type_, other.c.ref == row.c.ref, earlier)


def _in(column: Any, span: Span) -> ColumnElement[bool]:
    return and_(column >= span.start, column < span.end)


def _requests(connection: Connection, span: Span) -> list[Any]:
    """One row per request of the range: initiator, channel, visitor, connection, extent."""
    r = E.alias("r")
    f = E.alias("f")
    responds = or_(
        f.c.type == "call_started",
        and_(f.c.type == "conversation_message", f.c.kind != r.c.kind),
    )
    query = (
        select(
            r.c.id,
            r.c.kind,
            r.c.channel,
            r.c.contact,
            r.c.occurred_at,
            func.min(case((responds, f.c.occurred_at))).label("connected"),
            func.min(f.c.occurred_at).label("first"),
            func.max(f.c.occurred_at).label("last"),
        )
        .select_from(r.outerjoin(f, and_(f.c.ref == r.c.ref, f.c.type.in_(_FOLLOW_UPS))))
        .where(r.c.type == "request", _in(r.c.occurred_at, span))
        .where(_first_of_its_id(connection, r, "request"))
        .group_by(r.c.id, r.c.kind, r.c.channel, r.c.contact, r.c.occurred_at)
    )
    return list(connection.execute(query))


def _attributed_orders(
    connection: Connection, span: Span, window: dt.timedelta
) -> list[tuple[str, int]]:
    """(visitor, value) of the range's orders that a conversation in the window earned."""
    o = E.alias("o")
    orders = list(
        connection.execute(
            select(o.c.contact, o.c.occurred_at, o.c.amount_minor)
            .where(o.c.type == "order", _in(o.c.occurred_at, span))
            .where(_first_of_its_id(connection, o, "order"))
        )
    )
    if not orders:
        return []
    # Each request's connection time: the first response of the side that did not initiate.
    r = E.alias("r")
    f = E.alias("f")
    connected = func.min(f.c.occurred_at)
    buyers = o.alias("buyers")
    conversations = (
        select(r.c.contact, connected)
        .select_from(
            r.join(
                f,
                and_(
                    f.c.ref == r.c.ref,
                    or_(
                        f.c.type == "call_started",
                        and_(f.c.type == "conversation_message", f.c.kind != r.c.kind),
                    ),
                ),
            )
        )
        .where(r.c.type == "request", _first_of_its_id(connection, r, "request"))
        .where(
            r.c.contact.in_(
                select(buyers.c.contact).where(
                    buyers.c.type == "order", _in(buyers.c.occurred_at, span)
                )
            )
        )
        .group_by(r.c.id, r.c.contact)
        .having(and_(connected >= span.start - window, connected < span.end))
    )
    by_visitor: dict[str, list[dt.datetime]] = {}
    for visitor, moment in connection.execute(conversations):
        by_visitor.setdefault(visitor, []).append(moment)
    return [
        (visitor, int(value or 0))
        for visitor, moment, value in orders
        if any(moment - window <= c <= moment for c in by_visitor.get(visitor, []))
    ]


def _distinct_visitors(connection: Connection, type_: str, span: Span) -> int:
    query = select(func.count(distinct(E.c.contact))).where(
        E.c.type == type_, _in(E.c.occurred_at, span)
    )
    return int(connection.scalar(query) or 0)


def summary(
    connection: Connection, span: Span, *, window_days: int = ATTRIBUTION_WINDOW_DAYS
) -> Summary:
    """The range's key figures, equal to metrics.summary on the stored rows."""
    s = Summary()
    in_conversation: set[str] = set()
    requesters: set[str] = set()
    for _id, initiator, channel, visitor, at, connected, first, last in _requests(connection, span):
        s.requests += 1
        by_agent = initiator == "agent"
        text = channel == "text"
        s.requests_agent_initiated += by_agent
        s.requests_visitor_initiated += not by_agent
        s.text_requests += text
        s.video_requests += not text
        if not by_agent:
            requesters.add(visitor)
        if connected is None:
            continue
        s.conversations += 1
        s.text_conversations += text
        s.video_conversations += not text
        s.agent_initiated_conversations += by_agent
        s.visitor_initiated_conversations += not by_agent
        s.duration_total_seconds += int((max(at, last) - min(at, first)).total_seconds())
        in_conversation.add(visitor)
    buyers: set[str] = set()
    for visitor, value in _attributed_orders(connection, span, dt.timedelta(days=window_days)):
        s.orders += 1
        s.attributed_gmv += value
        buyers.add(visitor)
    s.visitors_in_conversation = len(in_conversation)
    s.converted_visitors = len(buyers & in_conversation)
    s.visitors_with_request = len(requesters)
    s.visitors_with_impression = _distinct_visitors(connection, "widget_impression", span)
    s.visitors_with_click = _distinct_visitors(connection, "widget_click", span)
    s.auto_message_clicks = int(
        connection.scalar(
            select(func.count()).where(E.c.type == "auto_message_click", _in(E.c.occurred_at, span))
        )
        or 0
    )
    responses, rated, total = connection.execute(
        select(func.count(), func.count(E.c.rating), func.sum(E.c.rating)).where(
            E.c.type == "nps_response", _in(E.c.occurred_at, span)
        )
    ).one()
    s.nps_responses, s.nps_rated, s.nps_rating_total = int(responses), int(rated), int(total or 0)
    return s
