"""The rows a period's metrics depend on, read with bounded queries.

The reference computation needs more than the period's own events: waits and
converters reach 24 h back, PPVs are bought and sold outside the period, and
refunds point at older sales.  Those are fetched by key, not by scanning.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from collector.models import Chatter, Creator, Event, Slice
from collector.stats.metrics import CONVERTER_WINDOW, MAX_WAIT, EventRow, SliceRow
from collector.stats.periods import Period

_CHUNK = 500
_chatter = aliased(Chatter)
_EVENTS = (
    select(
        Event.event_id,
        Event.type,
        Event.occurred_at,
        Creator.key,
        _chatter.key,
        Event.contact,
        Event.kind,
        Event.ref,
        Event.amount_minor,
    )
    .join(Creator, Creator.id == Event.creator_id)
    .outerjoin(_chatter, _chatter.id == Event.chatter_id)
)


def _rows(session: Session, query: Any) -> list[EventRow]:
    return [
        EventRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8] or 0)
        for r in session.execute(query)
    ]


def _chunked(session: Session, values: Iterable[str], where: Any) -> list[EventRow]:
    wanted = sorted(set(values))
    found: list[EventRow] = []
    for i in range(0, len(wanted), _CHUNK):
        found += _rows(session, _EVENTS.where(where(wanted[i : i + _CHUNK])))
    return found


def events_for(session: Session, period: Period) -> list[EventRow]:
    lookback = max(MAX_WAIT, CONVERTER_WINDOW)
    rows = {
        e.event_id: e
        for e in _rows(
            session,
            _EVENTS.where(
                Event.occurred_at >= period.start - lookback, Event.occurred_at < period.end
            ),
        )
    }
    inside = [e for e in rows.values() if period.contains(e.occurred_at)]
    # Sales refunded in the period, wherever they happened.
    refunded = _chunked(
        session, (e.ref for e in inside if e.type == "refund" and e.ref), Event.event_id.in_
    )
    rows.update((e.event_id, e) for e in refunded)
    # Tips among them need their converter's messages.
    for tip in (e for e in refunded if e.type == "tip" and e.chatter is None):
        rows.update(
            (e.event_id, e)
            for e in _rows(
                session,
                _EVENTS.where(
                    Event.type == "message_sent",
                    Event.contact == tip.contact,
                    Event.occurred_at >= tip.occurred_at - CONVERTER_WINDOW,
                    Event.occurred_at <= tip.occurred_at,
                ),
            )
        )
    # Who sent the PPVs bought, and which PPVs sent were bought, at any time.
    ppv_ids = {e.ref for e in rows.values() if e.ref and e.type in ("ppv_purchase", "message_sent")}
    rows.update(
        (e.event_id, e)
        for e in _chunked(
            session,
            (p for p in ppv_ids if p),
            lambda chunk: Event.ref.in_(chunk) & Event.type.in_(("ppv_purchase", "message_sent")),
        )
    )
    return list(rows.values())


def slices_for(session: Session, period: Period) -> list[SliceRow]:
    query = (
        select(
            Chatter.key,
            Slice.device_id,
            Slice.start,
            Slice.duration,
            Slice.active_seconds,
            Slice.paused_seconds,
            Slice.keystrokes,
            Slice.mouse_events,
        )
        .join(Chatter, Chatter.id == Slice.chatter_id)
        .where(Slice.start >= period.start, Slice.start < period.end)
    )
    return [
        SliceRow(r[0], str(r[1]), r[2], r[3], r[4], r[5], r[6], r[7])
        for r in session.execute(query)
    ]
