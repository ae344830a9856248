"""The stored conversation-commerce events as the reference computation's rows."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Table, select

from collector.conversations.metrics import Row
from collector.db.models import Chatter, Event
from shared.events import CONVERSATION_EVENT_TYPES

E = cast(Table, Event.__table__)
C = cast(Table, Chatter.__table__)

_ROWS = (
    select(
        E.c.event_id,
        E.c.type,
        E.c.occurred_at,
        E.c.contact,
        C.c.key,
        E.c.kind,
        E.c.ref,
        E.c.channel,
        E.c.url,
        E.c.amount_minor,
        E.c.rating,
        E.c.attrs,
    )
    .select_from(E.outerjoin(C, C.c.id == E.c.chatter_id))
    .where(E.c.type.in_(CONVERSATION_EVENT_TYPES))
)


def _attr(attrs: Any, name: str) -> str | None:
    value = attrs.get(name) if isinstance(attrs, dict) else None
    return value if isinstance(value, str) else None


def load_rows(connection: Connection) -> list[Row]:
    """Every conversation-commerce event, as stored (for the reference and for checks)."""
    return [
        Row(
            event_id=event_id,
            type=type_,
            occurred_at=at,
            visitor=contact,
            agent=agent,
            kind=kind,
            ref=ref,
            channel=channel,
            url=url,
            amount=amount or 0,
            rating=rating,
            trigger_id=_attr(attrs, "trigger_id") if type_ == "request" else None,
            feedback=_attr(attrs, "feedback") if type_ == "nps_response" else None,
        )
        for (
            event_id,
            type_,
            at,
            contact,
            agent,
            kind,
            ref,
            channel,
            url,
            amount,
            rating,
            attrs,
        ) in connection.execute(_ROWS)
    ]
