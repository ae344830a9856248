"""Recompute every derived fact and rollup from raw rows, streaming.

Used after the migrations that introduced rollups and slice lengths, by
``chatter-collector stats rebuild`` (repair), by the demo, and by the benchmark after a
bulk load.  A chatter's slices that overlap in different slots are removed first
(repair.py).  Incremental maintenance (facts.derive, rollups.refresh_*) must leave the
database exactly as this does: tests/collector/maintenance/test_rebuild.py compares
every table, and the property tests compare both with the reference computation.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, delete, insert, select, text, update
from sqlalchemy.orm import Session

from collector.db import audit, locks, retention
from collector.db.base import UTCDateTime
from collector.db.buckets import DAY, bucket_of, from_epoch
from collector.db.models import (
    ActivityDay,
    ActivityQuarter,
    RevenueQuarter,
    SalesDay,
    SalesQuarter,
    Slice,
)
from collector.stats import facts, fan_days, regular, repair, rollups
from collector.stats.facts import SELECT, E, Row
from collector.stats.holders import Holders
from collector.stats.queries import ACTIVITY_SUMS
from collector.stats.repair import SliceRepair

_FLUSH = 20_000
# Per statement: Connection.execution_options() would change the connection for good.
_STREAM = {"stream_results": True, "yield_per": 5_000}
S = Slice.__table__


def _stream(connection: Connection, query: Any) -> Iterator[Row]:
    result = connection.execute(query, execution_options=_STREAM)
    for r in result:
        yield Row(*r)


class _Flusher:
    """Writes changed facts in chunks so memory stays flat on millions of events."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.pending: list[Row] = []

    def check(self, rows: list[Row], before: list[tuple[Any, ...]]) -> None:
        self.pending += [r for r, b in zip(rows, before, strict=True) if r.facts() != b]
        if len(self.pending) >= _FLUSH:
            self.flush()

    def flush(self) -> None:
        facts.store(self.connection, self.pending)
        self.pending = []


def rebuild_facts(connection: Connection) -> None:
    flusher = _Flusher(connection)
    # The shift rule of sales credit (settings ppv_credit, tip_credit): every creator's
    # shifts read before the streams start.
    holders = facts.holders_for(connection, None)
    if holders is not None:
        holders.load(
            {c for (c,) in connection.execute(select(E.c.creator_id).distinct()) if c is not None}
        )
    conversations = SELECT.where(
        E.c.type.in_(("fan_message", "message_sent", "tip")), E.c.contact.is_not(None)
    ).order_by(E.c.creator_id, E.c.contact, E.c.occurred_at, E.c.event_id)
    # Materialise each group before the next read: the stream and the flush share a connection.
    groups: list[list[Row]] = []
    held = 0
    for _, group in itertools.groupby(
        _stream(connection, conversations), key=lambda r: (r.creator_id, r.contact)
    ):
        groups.append(list(group))
        held += len(groups[-1])
        if held >= _FLUSH:
            _conversations(groups, flusher, holders)
            groups, held = [], 0
    _conversations(groups, flusher, holders)
    # Stored before the PPV pass reads its rows: a PPV message is also a reply, and
    # writing the PPV pass's copy back must not undo the wait set just now.
    flusher.flush()

    ppvs = SELECT.where(
        E.c.type.in_(("message_sent", "ppv_purchase")), E.c.ref.is_not(None)
    ).order_by(E.c.creator_id, E.c.ref, E.c.occurred_at, E.c.event_id)
    for _, group in itertools.groupby(
        _stream(connection, ppvs), key=lambda r: (r.creator_id, r.ref)
    ):
        rows = list(group)
        before = [r.facts() for r in rows]
        facts.ppv_group(rows, holders)
        flusher.check(rows, before)
    flusher.flush()

    # Refunds last: the sales they follow now hold their final credit.
    refunds = list(_stream(connection, SELECT.where(E.c.type == "refund")))
    wanted = sorted({r.ref for r in refunds if r.ref})
    sales = {row.event_id: row for row in facts.load(connection, wanted)}
    before = [r.facts() for r in refunds]
    for refund in refunds:
        facts.settle_refund(refund, sales.get(refund.ref or ""))
    flusher.check(refunds, before)
    flusher.flush()


def _conversations(groups: list[list[Row]], flusher: _Flusher, holders: Holders | None) -> None:
    for rows in groups:
        before = [r.facts() for r in rows]
        facts.walk_conversation(rows, None, holders=holders)
        flusher.check(rows, before)


def rebuild_sales(connection: Connection) -> None:
    # Periods before the purge watermark are closed: their rollups stay (no raw rows left).
    since = retention.watermarks(connection).events_epoch() or 0
    connection.execute(delete(SalesQuarter).where(SalesQuarter.bucket >= since))
    connection.execute(delete(RevenueQuarter).where(RevenueQuarter.bucket >= since))
    connection.execute(delete(SalesDay).where(SalesDay.day >= since))
    creators = [
        c for (c,) in connection.execute(select(E.c.creator_id).distinct()) if c is not None
    ]
    for creator_id in creators:
        days: set[int] = set()
        query = rollups.EVENT_FACTS.where(
            E.c.creator_id == creator_id, E.c.occurred_at >= from_epoch(since)
        ).order_by(E.c.occurred_at)
        batch: list[Any] = []
        for row in connection.execute(query, execution_options=_STREAM):
            batch.append(tuple(row))
            if len(batch) >= _FLUSH and bucket_of(row[1]) != bucket_of(batch[-2][1]):
                # Cut between buckets so no bucket is written twice.
                last = batch.pop()
                days |= _write(connection, creator_id, batch)
                batch = [last]
        days |= _write(connection, creator_id, batch)
        rollups.refresh_days(connection, creator_id, days)


def _write(connection: Connection, creator_id: int, rows: list[Any]) -> set[int]:
    acc = rollups.event_sums(rows)
    buckets = sorted({b for b, _ in acc})
    rollups.write_quarters(connection, creator_id, buckets, acc)
    return {b - b % DAY for b in buckets}


_PER_START = (
    text(
        """
    SELECT chatter_id AS chatter_id, start AS start, max(duration - paused_seconds) AS online,
           max(active_seconds) AS active, max(paused_seconds) AS paused,
           sum(keystrokes) AS keys, sum(mouse_events) AS mouse,
           max(active_seconds)
             - coalesce(max(CASE WHEN regular THEN NULL ELSE active_seconds END), 0) AS regular
    FROM slices WHERE start >= :since GROUP BY chatter_id, start ORDER BY chatter_id, start
    """
    )
    .bindparams(bindparam("since", type_=UTCDateTime()))
    .columns(chatter_id=Integer, start=UTCDateTime)
)


def rebuild_regular(connection: Connection) -> None:
    """Every slice's regular flag from its device's slices (METRICS.md), one device at a time.

    A slice without timing is never regular and ends any run, so only slices with timing
    are read (a run never spans a slot held by one without: the starts do not meet).
    """
    connection.execute(
        update(Slice).where(Slice.regular, Slice.gaps.is_(None)).values(regular=False)
    )
    ordered = (
        select(*regular.COLUMNS, S.c.device_id)
        .where(S.c.gaps.is_not(None))
        .order_by(S.c.device_id, S.c.start)
    )
    devices: list[list[regular.Timed]] = []
    held = 0
    for _, group in itertools.groupby(
        connection.execute(ordered, execution_options=_STREAM), key=lambda r: r[-1]
    ):
        devices.append([regular.Timed.of(r[:-1]) for r in group])
        held += len(devices[-1])
        if held >= _FLUSH:  # written after the read: the stream and the writes share one
            _store_flags(connection, devices)
            devices, held = [], 0
    _store_flags(connection, devices)


def _store_flags(connection: Connection, devices: list[list[regular.Timed]]) -> None:
    for rows in devices:
        found = regular.flags(rows)
        regular.store(
            connection, ((r.id, f) for r, f in zip(rows, found, strict=True) if f != r.regular)
        )


def rebuild_activity(connection: Connection) -> None:
    # As for sales: rollups before the purge watermark stay as they are.
    since = retention.watermarks(connection).slices_epoch() or 0
    connection.execute(delete(ActivityQuarter).where(ActivityQuarter.bucket >= since))
    connection.execute(delete(ActivityDay).where(ActivityDay.day >= since))
    names = ACTIVITY_SUMS
    quarters: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0] * len(names))
    result = connection.execute(_PER_START, {"since": from_epoch(since)}, execution_options=_STREAM)
    for chatter_id, start, *values in result:
        q = quarters[(chatter_id, bucket_of(start))]
        for i, v in enumerate(values):
            q[i] += int(v)
    rows = [
        {"chatter_id": c, "bucket": b, **dict(zip(names, v, strict=True))}
        for (c, b), v in quarters.items()
    ]
    days: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0] * len(names))
    for (c, b), v in quarters.items():
        d = days[(c, b - b % DAY)]
        for i, x in enumerate(v):
            d[i] += x
    for i in range(0, len(rows), _FLUSH):
        connection.execute(insert(ActivityQuarter), rows[i : i + _FLUSH])
    day_rows = [
        {"chatter_id": c, "day": d, **dict(zip(names, v, strict=True))}
        for (c, d), v in days.items()
    ]
    for i in range(0, len(day_rows), _FLUSH):
        connection.execute(insert(ActivityDay), day_rows[i : i + _FLUSH])


def rebuild_all(connection: Connection, *, actor: str = "system") -> SliceRepair:
    """Repair overlapping slices, recompute everything, and audit the run (as ``actor``)."""
    # Hold every lock an ingest takes, in an ingest's order (events, then a chatter's
    # slices, then its activity), so none commits half-way through the rebuild.
    locks.serialise(connection, locks.EVENTS)
    chatters = [c for (c,) in connection.execute(text("SELECT id FROM chatters ORDER BY id"))]
    for chatter_id in chatters:
        locks.serialise(connection, locks.SLICES, chatter_id)
    for chatter_id in chatters:
        locks.serialise(connection, locks.ACTIVITY, chatter_id)
    repaired = repair.drop_overlapping_slices(connection)
    rebuild_facts(connection)
    rebuild_sales(connection)
    fan_days.rebuild(connection)
    rebuild_regular(connection)
    rebuild_activity(connection)
    # Every run leaves an entry (the metrics count them); the audit writer takes a session.
    with Session(bind=connection) as session:
        audit.record(
            session,
            actor,
            "rebuild_stats",
            "statistics",
            dt.datetime.now(dt.UTC),
            dropped_slices=repaired.dropped,
            dropped=[d.as_dict() for d in repaired.listed],
        )
        session.flush()
    return repaired
