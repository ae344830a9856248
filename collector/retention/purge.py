"""Deleting raw slices and raw chatter events older than their retention.

What stays (METRICS.md, "What is kept"): every rollup, so reports of purged periods
answer exactly as before.  The cut is a UTC midnight, so no rollup bucket is left half
purged, and it becomes the watermark (collector/db/retention.py) that closes the period.

Slices are deleted outright: nothing derives from a slice but its own bucket.

An event may be needed by the facts of later events (collector/stats/facts.py), so a few
older ones are kept as anchors until a later purge no longer needs them:

- per fan conversation, the first fan message after the last direct reply before the cut
  (the fan is still waiting at the cut, since then), and that reply when it is recent
  enough to be the converter of a tip just after the cut;
- every row of a PPV (message and purchases) that still has a row after the cut: a
  purchase is credited to whoever sent that PPV to the fan;
- a sale refunded after the cut (a refund follows its sale's credit) and, for a tip,
  the reply that made its converter.

Conversation-commerce events (the website widget) are not purged: their facts per
request and order are recomputed from them.  A sale's reassignment records go with it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Table, delete, func, select, text
from sqlalchemy.orm import Session

from collector.db import audit, locks
from collector.db import retention as watermarks
from collector.db.base import iso
from collector.db.buckets import DAY, day_of, from_epoch
from collector.db.models import Event, SaleReassignment, Slice
from collector.db.settings import effective
from collector.stats import fan_days
from collector.stats.metrics import CONVERTER_WINDOW
from shared.events import CREATOR_EVENT_TYPES

E = cast(Table, Event.__table__)
S = cast(Table, Slice.__table__)
SR = cast(Table, SaleReassignment.__table__)
ACTION = "purge_raw_data"
_CHUNK = 500
T = TypeVar("T")
_STREAM = {"stream_results": True, "yield_per": 5_000}


@dataclass(frozen=True)
class PurgeReport:
    """What a purge run did (or, dry, would do)."""

    slices_before: str
    events_before: str
    slices_deleted: int
    events_deleted: int
    events_kept_as_anchors: int
    reassignments_deleted: int
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cutoffs(db: Session | Connection, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(slices, events): the UTC midnights before which raw rows are past retention."""
    values = effective(db)
    today = day_of(now)
    slices = today - int(str(values["retention_slice_days"])) * DAY
    events = today - int(str(values["retention_event_days"])) * DAY
    return from_epoch(slices), from_epoch(events)


def try_lock(connection: Connection) -> bool:
    """One purge at a time across processes: PostgreSQL's advisory lock, held until the
    transaction ends; on SQLite the write transaction already excludes every writer."""
    if connection.dialect.name != "postgresql":
        return True
    return bool(
        connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": locks.PURGE}
        ).scalar()
    )


def purge(
    session: Session,
    now: dt.datetime,
    actor: str,
    *,
    dry_run: bool = False,
    audit_idle: bool = True,
) -> PurgeReport | None:
    """Purge in the session's write transaction; None when another process is purging.

    The caller commits (or, for a dry run, rolls back: the counts are what a real run
    would delete).  The audit entry is written here, in the same transaction; with
    ``audit_idle`` false (the scheduled rounds) only a round that changed something
    leaves one, so every process's hourly no-op does not fill the trail.
    """
    connection = session.connection()
    if not try_lock(connection):
        return None
    # Ingest recomputes buckets from raw rows under these locks: hold them so no ingest
    # reads rows this purge is deleting (ingest re-reads the watermark under them).
    locks.serialise(connection, locks.EVENTS)
    for (chatter_id,) in connection.execute(text("SELECT id FROM chatters ORDER BY id")):
        locks.serialise(connection, locks.ACTIVITY, chatter_id)
    marks = watermarks.watermarks(connection)
    slice_cut, event_cut = cutoffs(connection, now)
    # A raised retention never brings purged rows back: the closed period stays closed.
    if marks.slices is not None and marks.slices > slice_cut:
        slice_cut = marks.slices
    if marks.events is not None and marks.events > event_cut:
        event_cut = marks.events

    slices = connection.execute(delete(S).where(S.c.start < slice_cut)).rowcount
    # Ingest refuses rows before the watermark: with the cut where it was, nothing is new
    # (the hourly rounds between two midnights cost a few index lookups).
    keep = set() if event_cut == marks.events else anchors(connection, event_cut)
    doomed = [] if event_cut == marks.events else _doomed(connection, event_cut, keep)
    reassignments = events = 0
    for part in _chunks(doomed):
        reassignments += connection.execute(delete(SR).where(SR.c.event_id.in_(part))).rowcount
        events += connection.execute(delete(E).where(E.c.id.in_(part))).rowcount
    fan_days.forget_before(connection, int(event_cut.timestamp()))
    moved = (marks.slices, marks.events) != (slice_cut, event_cut)
    watermarks.advance(session, watermarks.SLICES, slice_cut, now)
    watermarks.advance(session, watermarks.EVENTS, event_cut, now)
    report = PurgeReport(
        slices_before=str(iso(slice_cut)),
        events_before=str(iso(event_cut)),
        slices_deleted=slices,
        events_deleted=events,
        events_kept_as_anchors=len(keep),
        reassignments_deleted=reassignments,
        dry_run=dry_run,
    )
    if audit_idle or moved or slices or events or reassignments:
        audit.record(session, actor, ACTION, "raw data", now, **report.as_dict())
    session.flush()
    return report


def _doomed(connection: Connection, cut: dt.datetime, keep: set[int]) -> list[int]:
    query = select(E.c.id).where(E.c.type.in_(CREATOR_EVENT_TYPES), E.c.occurred_at < cut)
    return [i for (i,) in connection.execute(query) if i not in keep]


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _is_reply(kind: str | None, chatter: int | None, type_: str) -> bool:
    return type_ == "message_sent" and kind == "direct" and chatter is not None


def anchors(connection: Connection, cut: dt.datetime) -> set[int]:
    """Ids of events before ``cut`` that facts after it still read (see the module doc)."""
    keep: set[int] = set()
    # Conversations: the last reply before the cut and the first fan message after it.
    query = (
        select(
            E.c.id,
            E.c.creator_id,
            E.c.contact,
            E.c.occurred_at,
            E.c.event_id,
            E.c.type,
            E.c.kind,
            E.c.chatter_id,
        )
        .where(
            E.c.type.in_(("fan_message", "message_sent")),
            E.c.contact.is_not(None),
            E.c.occurred_at < cut,
        )
        .order_by(E.c.creator_id, E.c.contact)
    )
    rows = connection.execute(query, execution_options=_STREAM).all()
    for _, group in itertools.groupby(rows, key=lambda r: (r.creator_id, r.contact)):
        # Ties break on event ids compared as Python compares strings (facts.Row.order).
        ordered = sorted(group, key=lambda r: (r.occurred_at, r.event_id))
        last_reply = None
        for i, r in enumerate(ordered):
            if _is_reply(r.kind, r.chatter_id, r.type):
                last_reply = i
        # Only as a converter: the wait state needs no reply, since no fan message
        # before the last reply is kept.
        if last_reply is not None and ordered[last_reply].occurred_at >= cut - CONVERTER_WINDOW:
            keep.add(ordered[last_reply].id)
        start = 0 if last_reply is None else last_reply + 1
        first_fan = next((r for r in ordered[start:] if r.type == "fan_message"), None)
        if first_fan is not None:
            keep.add(first_fan.id)

    # Everything below reads from the rows before the cut (a day's worth at each daily
    # purge, plus the anchors kept so far), and looks after the cut by index only.
    ppv_rows = connection.execute(
        select(E.c.id, E.c.creator_id, E.c.ref).where(
            E.c.type.in_(("message_sent", "ppv_purchase")),
            E.c.ref.is_not(None),
            E.c.occurred_at < cut,
        )
    ).all()
    live_ppvs: set[tuple[int, str]] = set()
    for part in _chunks(sorted({r.ref for r in ppv_rows})):
        live_ppvs.update(
            (c, r)
            for c, r in connection.execute(
                select(E.c.creator_id, E.c.ref).where(
                    E.c.ref.in_(part),
                    E.c.type.in_(("message_sent", "ppv_purchase")),
                    E.c.occurred_at >= cut,
                )
            )
        )

    # Sales before the cut refunded after it: a refund follows its sale's credit.
    sales = {
        r.event_id: r
        for r in connection.execute(
            select(
                E.c.id,
                E.c.event_id,
                E.c.type,
                E.c.creator_id,
                E.c.contact,
                E.c.ref,
                E.c.occurred_at,
            ).where(E.c.type.in_(("ppv_purchase", "tip")), E.c.occurred_at < cut)
        )
    }
    for part in _chunks(sorted(sales)):
        for (ref,) in connection.execute(
            select(E.c.ref).where(E.c.type == "refund", E.c.ref.in_(part), E.c.occurred_at >= cut)
        ):
            sale = sales[ref]
            keep.add(sale.id)
            if sale.type == "ppv_purchase":
                live_ppvs.add((sale.creator_id, sale.ref))
            elif sale.contact is not None:
                converter = _converter(connection, sale.creator_id, sale.contact, sale.occurred_at)
                if converter is not None:
                    keep.add(converter)

    # PPVs with a row after the cut (or a refunded purchase): every row of them.
    keep.update(r.id for r in ppv_rows if (r.creator_id, r.ref) in live_ppvs)
    return keep


def _converter(
    connection: Connection, creator_id: int, contact: str, moment: dt.datetime
) -> int | None:
    """The reply that made a tip's converter (facts._converter): the last one at or
    before the tip, within the converter window."""
    replies = connection.execute(
        select(E.c.id, E.c.occurred_at, E.c.event_id).where(
            E.c.creator_id == creator_id,
            E.c.contact == contact,
            E.c.type == "message_sent",
            E.c.kind == "direct",
            E.c.chatter_id.is_not(None),
            E.c.occurred_at <= moment,
            E.c.occurred_at >= moment - CONVERTER_WINDOW,
        )
    ).all()
    if not replies:
        return None
    return int(max(replies, key=lambda r: (r.occurred_at, r.event_id)).id)


def counts(connection: Connection) -> dict[str, int]:
    """Raw rows stored now (for the CLI's summary)."""
    return {
        "slices": int(connection.execute(select(func.count()).select_from(S)).scalar() or 0),
        "events": int(connection.execute(select(func.count()).select_from(E)).scalar() or 0),
    }
