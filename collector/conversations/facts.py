"""Per-request and per-order facts, kept exact whatever order events arrive in.

A request's fact (initiator, channel, visitor, agent, page, trigger, when it
connected, its extent) depends on the request's own events only; an order's
(attributed or not, to whom) on its visitor's conversations within the
attribution window.  ``refresh_requests`` recomputes exactly the requests an
ingest touched; ``refresh_orders`` the orders of the visitors whose
conversations or orders changed.  Both return the quarter-hour buckets whose
rollups must be recomputed.  The rules are METRICS.md's, as
collector/conversations/metrics.py computes them from scratch.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, insert, select

from collector.db.buckets import bucket_of
from collector.db.conversation_models import (
    ConversationOrder,
    ConversationRequest,
    ConversationVisitor,
)
from collector.db.models import Event
from collector.db.settings import effective
from collector.db.upsert import insert_ignoring_conflicts

E = cast(Table, Event.__table__)
CR = cast(Table, ConversationRequest.__table__)
CO = cast(Table, ConversationOrder.__table__)
CV = cast(Table, ConversationVisitor.__table__)
CHUNK = 500
REQUEST_TYPES = ("request", "conversation_message", "call_started", "call_ended")


def window_days(connection: Connection) -> int:
    return int(str(effective(connection)["attribution_window_days"]))


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _pairs(connection: Connection, visitors: Sequence[str]) -> dict[str, int]:
    query = select(CV.c.visitor, CV.c.id).where(CV.c.visitor.in_(visitors))
    return {visitor: vid for visitor, vid in connection.execute(query)}


def visitor_ids(connection: Connection, visitors: Iterable[str]) -> dict[str, int]:
    """Dense ids of these visitors, created for the new ones."""
    wanted = sorted(set(visitors))
    found: dict[str, int] = {}
    for part in chunks(wanted):
        found.update(_pairs(connection, part))
    missing = [v for v in wanted if v not in found]
    if missing:
        for part in chunks(missing, 5000):
            insert_ignoring_conflicts(
                connection, ConversationVisitor, [{"visitor": v} for v in part], ("visitor",), "id"
            )
        for part in chunks(missing):
            found.update(_pairs(connection, part))
    return found


# Requests.

# (type, occurred_at, event_id, kind, chatter_id, contact, channel, url, attrs)
EventTuple = tuple[
    str, dt.datetime, str, str | None, int | None, str | None, str | None, str | None, Any
]
_REQUEST_EVENTS = select(
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


@dataclass(frozen=True)
class RequestFact:
    request_id: str
    event_id: str
    occurred_at: dt.datetime
    initiator: str
    channel: str
    visitor: str
    agent_id: int | None
    url: str
    trigger_id: str | None
    connected_at: dt.datetime | None
    first_at: dt.datetime
    last_at: dt.datetime
    duration_seconds: int | None

    @property
    def bucket(self) -> int:
        return bucket_of(self.occurred_at)


def request_fact(request_id: str, events: list[EventTuple]) -> RequestFact | None:
    """One request from all its events (any order); None without a ``request`` event."""
    ordered = sorted(events, key=lambda e: (e[1], e[2]))
    first = next((e for e in ordered if e[0] == "request"), None)
    if first is None:
        return None
    _, at, event_id, initiator, agent_id, visitor, channel, url, attrs = first
    responder = "visitor" if initiator == "agent" else "agent"
    connected: dt.datetime | None = None
    lo = hi = at
    follow_ups: list[dt.datetime] = []
    for kind, moment, _, side, chatter, *_ in ordered:
        if kind == "request":
            continue
        lo, hi = min(lo, moment), max(hi, moment)
        follow_ups.append(moment)
        if kind == "call_started" or (kind == "conversation_message" and side == responder):
            connected = moment if connected is None else min(connected, moment)
        if agent_id is None and chatter is not None:
            agent_id = chatter
    trigger = attrs.get("trigger_id") if isinstance(attrs, dict) else None
    return RequestFact(
        request_id=request_id,
        event_id=event_id,
        occurred_at=at,
        initiator=str(initiator),
        channel=str(channel),
        visitor=visitor or "",
        agent_id=agent_id,
        url=url or "",
        trigger_id=trigger if isinstance(trigger, str) else None,
        connected_at=connected,
        first_at=lo,
        last_at=hi,
        # From the first call or message to the last (METRICS.md): the wait between the
        # request and its first follow-up is not part of the conversation.
        duration_seconds=None
        if connected is None
        else int((max(follow_ups) - min(follow_ups)).total_seconds()),
    )


def request_row(fact: RequestFact, visitors: dict[str, int]) -> dict[str, Any]:
    return {
        "request_id": fact.request_id,
        "event_id": fact.event_id,
        "occurred_at": fact.occurred_at,
        "bucket": fact.bucket,
        "initiator": fact.initiator,
        "channel": fact.channel,
        "visitor_id": visitors[fact.visitor],
        "agent_id": fact.agent_id,
        "url": fact.url,
        "trigger_id": fact.trigger_id,
        "connected_at": fact.connected_at,
        "first_at": fact.first_at,
        "last_at": fact.last_at,
        "duration_seconds": fact.duration_seconds,
    }


_STORED_REQUEST = select(
    CR.c.request_id,
    CR.c.event_id,
    CR.c.occurred_at,
    CR.c.bucket,
    CR.c.initiator,
    CR.c.channel,
    CR.c.visitor_id,
    CR.c.agent_id,
    CR.c.url,
    CR.c.trigger_id,
    CR.c.connected_at,
    CR.c.first_at,
    CR.c.last_at,
    CR.c.duration_seconds,
)


@dataclass
class Touched:
    """What a change of facts dirtied: buckets, visitors to re-attribute, NPS to re-credit."""

    buckets: set[int]
    visitors: set[int]
    agents_changed: set[str]  # request ids whose agent (or existence) changed


def refresh_requests(connection: Connection, request_ids: Iterable[str]) -> Touched:
    """Recompute these requests' facts from their events; store those that changed."""
    touched = Touched(set(), set(), set())
    ids = sorted(set(request_ids))
    for part in chunks(ids):
        events: dict[str, list[EventTuple]] = defaultdict(list)
        for ref, *rest in connection.execute(
            _REQUEST_EVENTS.where(E.c.ref.in_(part), E.c.type.in_(REQUEST_TYPES))
        ):
            events[ref].append(cast(EventTuple, tuple(rest)))
        facts = {rid: request_fact(rid, events.get(rid, [])) for rid in part}
        visitors = visitor_ids(connection, (f.visitor for f in facts.values() if f))
        new = {rid: request_row(f, visitors) for rid, f in facts.items() if f is not None}
        old = {
            r.request_id: dict(r._mapping)
            for r in connection.execute(_STORED_REQUEST.where(CR.c.request_id.in_(part)))
        }
        changed = [rid for rid in part if new.get(rid) != old.get(rid)]
        if not changed:
            continue
        for rid in changed:
            for row in (old.get(rid), new.get(rid)):
                if row is not None:
                    touched.buckets.add(row["bucket"])
            before, after = old.get(rid), new.get(rid)
            if _earns(before) != _earns(after):
                for row in (before, after):
                    if row is not None and row["connected_at"] is not None:
                        touched.visitors.add(row["visitor_id"])
            if (before or {}).get("agent_id") != (after or {}).get("agent_id") or (
                before is None
            ) != (after is None):
                touched.agents_changed.add(rid)
        connection.execute(delete(CR).where(CR.c.request_id.in_(changed)))
        rows = [new[rid] for rid in changed if rid in new]
        if rows:
            connection.execute(insert(CR), rows)
    return touched


def _earns(row: dict[str, Any] | None) -> tuple[Any, ...] | None:
    """What attribution reads of a request: only conversations earn orders."""
    if row is None or row["connected_at"] is None:
        return None
    return (row["visitor_id"], row["connected_at"], row["event_id"], row["agent_id"])


# Orders.

_ORDER_EVENTS = select(E.c.ref, E.c.occurred_at, E.c.event_id, E.c.contact, E.c.amount_minor)
_STORED_ORDER = select(
    CO.c.order_id,
    CO.c.event_id,
    CO.c.occurred_at,
    CO.c.bucket,
    CO.c.visitor_id,
    CO.c.value,
    CO.c.request_id,
    CO.c.agent_id,
)
_CONVERSATIONS = select(
    CR.c.visitor_id, CR.c.connected_at, CR.c.event_id, CR.c.request_id, CR.c.agent_id
).where(CR.c.connected_at.is_not(None))

# (connected_at, request event id, request id, agent id), sorted
Conversation = tuple[dt.datetime, str, str, int | None]


def earner(
    conversations: list[Conversation], moment: dt.datetime, window: dt.timedelta
) -> Conversation | None:
    """The latest conversation connected within ``window`` before ``moment`` (ends included)."""
    keys = [c[0] for c in conversations]
    i = bisect.bisect_right(keys, moment) - 1
    if i < 0 or conversations[i][0] < moment - window:
        return None
    # Ties at one connection time: the later request event id wins (list is sorted by it).
    return conversations[i]


def conversations_of(
    connection: Connection, visitor_ids: Iterable[int]
) -> dict[int, list[Conversation]]:
    found: dict[int, list[Conversation]] = defaultdict(list)
    for part in chunks(sorted(set(visitor_ids))):
        for visitor, at, event_id, rid, agent in connection.execute(
            _CONVERSATIONS.where(CR.c.visitor_id.in_(part))
        ):
            found[visitor].append((at, event_id, rid, agent))
    for items in found.values():
        items.sort()
    return found


def refresh_orders(
    connection: Connection, order_ids: Iterable[str], visitors: Iterable[int]
) -> set[int]:
    """Recompute the facts of these orders and of every order of these visitors."""
    wanted = set(order_ids)
    for part in chunks(sorted(set(visitors))):
        wanted.update(
            connection.execute(select(CO.c.order_id).where(CO.c.visitor_id.in_(part))).scalars()
        )
    buckets: set[int] = set()
    window = dt.timedelta(days=window_days(connection))
    for part in chunks(sorted(wanted)):
        first: dict[str, tuple[dt.datetime, str, str, int]] = {}
        for ref, at, event_id, contact, amount in connection.execute(
            _ORDER_EVENTS.where(E.c.ref.in_(part), E.c.type == "order")
        ):
            if ref not in first or (at, event_id) < first[ref][:2]:
                first[ref] = (at, event_id, contact or "", int(amount or 0))
        ids = visitor_ids(connection, (v for _, _, v, _ in first.values()))
        talks = conversations_of(connection, ids.values())
        new: dict[str, dict[str, Any]] = {}
        for oid, (at, event_id, visitor, value) in first.items():
            vid = ids[visitor]
            best = earner(talks.get(vid, []), at, window)
            new[oid] = {
                "order_id": oid,
                "event_id": event_id,
                "occurred_at": at,
                "bucket": bucket_of(at),
                "visitor_id": vid,
                "value": value,
                "request_id": best[2] if best else None,
                "agent_id": best[3] if best else None,
            }
        old = {
            r.order_id: dict(r._mapping)
            for r in connection.execute(_STORED_ORDER.where(CO.c.order_id.in_(part)))
        }
        changed = [oid for oid in part if new.get(oid) != old.get(oid)]
        if not changed:
            continue
        for oid in changed:
            for row in (old.get(oid), new.get(oid)):
                if row is not None:
                    buckets.add(row["bucket"])
        connection.execute(delete(CO).where(CO.c.order_id.in_(changed)))
        rows = [new[oid] for oid in changed if oid in new]
        if rows:
            connection.execute(insert(CO), rows)
    return buckets


def nps_buckets(connection: Connection, request_ids: Iterable[str]) -> set[int]:
    """Buckets of the surveys about these requests (their agent may have changed)."""
    found: set[int] = set()
    for part in chunks(sorted(set(request_ids))):
        for (at,) in connection.execute(
            select(E.c.occurred_at).where(E.c.type == "nps_response", E.c.ref.in_(part))
        ):
            found.add(bucket_of(at))
    return found
