"""Precomputed sums per 15-minute UTC bucket and per UTC day.

Every time zone's midnight (and hour) falls on a quarter hour, so any range of
local days or hours is a set of whole buckets.  A bucket is never patched with
a delta: when anything in it may have changed it is recomputed from the rows
(events with their derived facts, slices), which keeps late and out-of-order
arrivals exact.  Days are recomputed from their buckets.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, text

from collector.db import retention
from collector.db.base import UTCDateTime
from collector.db.buckets import DAY, QUARTER, bucket_of, from_epoch, pack, runs, unpack
from collector.db.direct import Fixed
from collector.db.models import Event, RevenueQuarter, SalesDay, SalesQuarter

E = cast(Table, Event.__table__)
SQ = cast(Table, SalesQuarter.__table__)
SD = cast(Table, SalesDay.__table__)
RQ = cast(Table, RevenueQuarter.__table__)
_CHUNK = 500

# The additive sales columns, in the order the accumulators keep them.
SALES_SUMS = (
    "ppv_sales",
    "tips",
    "refunds",
    "unmatched_refunds",
    "ppv_sent",
    "ppv_bought",
    "messages_sent",
    "mass_messages_sent",
    "automated_messages_sent",
    "responses",
    "response_total",
)
(PPV, TIPS, REFUNDS, UNMATCHED, SENT, BOUGHT, DIRECT, MASS, AUTO, RESPONSES, TOTAL) = range(11)


class _Sums:
    __slots__ = ("sums", "values")

    def __init__(self) -> None:
        self.sums = [0] * len(SALES_SUMS)
        self.values: list[int] = []


def event_sums(rows: Iterable[Any]) -> dict[tuple[int, int | None], _Sums]:
    """(bucket, chatter) -> sums, from event rows with their facts."""
    acc: dict[tuple[int, int | None], _Sums] = defaultdict(_Sums)
    for kind, at, chatter, how, ref, amount, credit, credit_type, bought, wait in rows:
        bucket = bucket_of(at)
        if kind == "message_sent":
            if chatter is None:
                continue
            s = acc[(bucket, chatter)].sums
            s[DIRECT if how == "direct" else MASS if how == "mass" else AUTO] += 1
            if ref is not None:
                s[SENT] += 1
                s[BOUGHT] += bool(bought)
            if wait is not None:
                s[RESPONSES] += 1
                s[TOTAL] += wait
                acc[(bucket, chatter)].values.append(wait)
        elif kind == "ppv_purchase":
            acc[(bucket, credit)].sums[PPV] += amount
        elif kind == "tip":
            acc[(bucket, credit)].sums[TIPS] += amount
        elif kind == "refund":
            if credit_type is None:
                acc[(bucket, None)].sums[UNMATCHED] += amount
            else:
                s = acc[(bucket, credit)].sums
                s[REFUNDS] += amount
                s[PPV if credit_type == "ppv_purchase" else TIPS] -= amount
    return acc


EVENT_FACTS = select(
    E.c.type,
    E.c.occurred_at,
    E.c.chatter_id,
    E.c.kind,
    E.c.ref,
    E.c.amount_minor,
    E.c.credit_chatter_id,
    E.c.credit_type,
    E.c.bought,
    E.c.response_seconds,
)


def refresh_sales(connection: Connection, rows: Iterable[tuple[int, dt.datetime]]) -> None:
    """Recompute the buckets (and their days) of these (creator_id, occurred_at) pairs."""
    by_creator: dict[int, set[int]] = defaultdict(set)
    # A purged period is closed: its buckets keep the sums they had (db/retention.py).
    closed = retention.watermarks(connection).events_epoch() or 0
    for creator_id, at in rows:
        if (bucket := bucket_of(at)) >= closed:
            by_creator[creator_id].add(bucket)
    for creator_id, buckets in by_creator.items():
        for first, end, members in runs(buckets, QUARTER):
            found = connection.execute(
                EVENT_FACTS.where(
                    E.c.creator_id == creator_id,
                    E.c.occurred_at >= from_epoch(first),
                    E.c.occurred_at < from_epoch(end),
                )
            )
            write_quarters(connection, creator_id, members, event_sums(found))
        refresh_days(connection, creator_id, {b - b % DAY for b in buckets})


def write_quarters(
    connection: Connection,
    creator_id: int,
    buckets: list[int],
    acc: dict[tuple[int, int | None], _Sums],
) -> None:
    for i in range(0, len(buckets), _CHUNK):
        chunk = buckets[i : i + _CHUNK]
        connection.execute(delete(SQ).where(SQ.c.creator_id == creator_id, SQ.c.bucket.in_(chunk)))
        connection.execute(delete(RQ).where(RQ.c.creator_id == creator_id, RQ.c.bucket.in_(chunk)))
    quarters = [
        _sales_row(creator_id, chatter, "bucket", bucket, s)
        for (bucket, chatter), s in acc.items()
        if any(s.sums)
    ]
    revenue: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (bucket, _), s in acc.items():
        revenue[bucket][0] += s.sums[PPV]
        revenue[bucket][1] += s.sums[TIPS]
    if quarters:
        connection.execute(insert(SQ), quarters)
    money = [
        {"creator_id": creator_id, "bucket": b, "ppv_sales": ppv, "tips": tips}
        for b, (ppv, tips) in revenue.items()
        if ppv or tips
    ]
    if money:
        connection.execute(insert(RQ), money)


def _sales_row(
    creator_id: int, chatter: int | None, name: str, at: int, s: _Sums
) -> dict[str, Any]:
    row: dict[str, Any] = dict(zip(SALES_SUMS, s.sums, strict=True))
    row.update(creator_id=creator_id, chatter_id=chatter, response_values=pack(s.values))
    row[name] = at
    return row


_QUARTER_SUMS = select(
    SQ.c.bucket, SQ.c.chatter_id, *(SQ.c[n] for n in SALES_SUMS), SQ.c.response_values
)


def refresh_days(connection: Connection, creator_id: int, days: set[int]) -> None:
    for first, end, members in runs(days, DAY):
        acc: dict[tuple[int, int | None], _Sums] = defaultdict(_Sums)
        for bucket, chatter, *sums, blob in connection.execute(
            _QUARTER_SUMS.where(
                SQ.c.creator_id == creator_id, SQ.c.bucket >= first, SQ.c.bucket < end
            )
        ):
            s = acc[(bucket - bucket % DAY, chatter)]
            s.sums = [a + b for a, b in zip(s.sums, sums, strict=True)]
            s.values.extend(unpack(blob))
        for i in range(0, len(members), _CHUNK):
            connection.execute(
                delete(SD).where(
                    SD.c.creator_id == creator_id, SD.c.day.in_(members[i : i + _CHUNK])
                )
            )
        rows = [_sales_row(creator_id, chatter, "day", day, s) for (day, chatter), s in acc.items()]
        if rows:
            connection.execute(insert(SD), rows)


# Activity: per aligned slice start a chatter is online once (max over devices).  Right
# because a chatter's overlapping slices are always the same slot (ingest/overlaps.py).
# Regular input's part of a start's active time is what the slices that are not regular
# input do not cover (METRICS.md): the start's most active seconds minus the most of
# those that are not regular.
_ACTIVITY_QUARTER = Fixed(
    text(
        """
    INSERT INTO activity_quarters
        (chatter_id, bucket, online_seconds, active_seconds, paused_seconds,
         keystrokes, mouse_events, regular_seconds)
    SELECT :chatter, :bucket, coalesce(sum(online), 0), coalesce(sum(active), 0),
           coalesce(sum(paused), 0), coalesce(sum(keys), 0), coalesce(sum(mouse), 0),
           coalesce(sum(active - coalesce(human, 0)), 0)
    FROM (
        SELECT max(duration - paused_seconds) AS online, max(active_seconds) AS active,
               max(paused_seconds) AS paused, sum(keystrokes) AS keys,
               sum(mouse_events) AS mouse,
               max(CASE WHEN regular THEN NULL ELSE active_seconds END) AS human
        FROM slices
        WHERE chatter_id = :chatter AND start >= :lo AND start < :hi
        GROUP BY start
    ) AS per_start
    WHERE true
    ON CONFLICT (chatter_id, bucket) DO UPDATE SET
        online_seconds = excluded.online_seconds, active_seconds = excluded.active_seconds,
        paused_seconds = excluded.paused_seconds, keystrokes = excluded.keystrokes,
        mouse_events = excluded.mouse_events, regular_seconds = excluded.regular_seconds
    """
    ).bindparams(bindparam("lo", type_=UTCDateTime()), bindparam("hi", type_=UTCDateTime()))
)

_ACTIVITY_DAY = Fixed(
    text(
        """
    INSERT INTO activity_days
        (chatter_id, day, online_seconds, active_seconds, paused_seconds,
         keystrokes, mouse_events, regular_seconds)
    SELECT :chatter, :day, coalesce(sum(online_seconds), 0), coalesce(sum(active_seconds), 0),
           coalesce(sum(paused_seconds), 0), coalesce(sum(keystrokes), 0),
           coalesce(sum(mouse_events), 0), coalesce(sum(regular_seconds), 0)
    FROM activity_quarters
    WHERE chatter_id = :chatter AND bucket >= :day AND bucket < :day_end
    ON CONFLICT (chatter_id, day) DO UPDATE SET
        online_seconds = excluded.online_seconds, active_seconds = excluded.active_seconds,
        paused_seconds = excluded.paused_seconds, keystrokes = excluded.keystrokes,
        mouse_events = excluded.mouse_events, regular_seconds = excluded.regular_seconds
    """
    )
)


def refresh_activity(
    connection: Connection, chatter_id: int, starts: Iterable[dt.datetime | int]
) -> None:
    """Recompute the activity buckets (and days) holding these slice starts (datetimes,
    or epoch seconds)."""
    buckets = sorted({s - s % QUARTER if isinstance(s, int) else bucket_of(s) for s in starts})
    if not buckets:
        return
    _ACTIVITY_QUARTER.run_many(
        connection,
        [
            {"chatter": chatter_id, "bucket": b, "lo": from_epoch(b), "hi": from_epoch(b + QUARTER)}
            for b in buckets
        ],
    )
    days = sorted({b - b % DAY for b in buckets})
    _ACTIVITY_DAY.run_many(
        connection, [{"chatter": chatter_id, "day": d, "day_end": d + DAY} for d in days]
    )
