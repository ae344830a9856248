"""Every stats view read from the rollups: totals, local days, revenue series.

A range of local days is [period.start, period.end) in UTC, both on quarter
hours.  Totals read whole UTC days from the day tables and the ragged edges
from the quarter tables, so their cost grows with chatters x days.  Per-day
and per-hour views group quarters by the local day or hour they fall in.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from sqlalchemy import Connection, LargeBinary, Table, func, literal, select

from collector.db.buckets import DAY, QUARTER, epoch, from_epoch
from collector.db.models import ActivityDay, ActivityQuarter, RevenueQuarter, SalesDay, SalesQuarter
from collector.stats.metrics import ChatterMetrics
from collector.stats.periods import Period, local_midnight
from collector.stats.rollups import SALES_SUMS

SQ = cast(Table, SalesQuarter.__table__)
SD = cast(Table, SalesDay.__table__)
AQ = cast(Table, ActivityQuarter.__table__)
AD = cast(Table, ActivityDay.__table__)
RQ = cast(Table, RevenueQuarter.__table__)
ACTIVITY_SUMS = (
    "online_seconds",
    "active_seconds",
    "paused_seconds",
    "keystrokes",
    "mouse_events",
    "regular_seconds",
)


@dataclass(frozen=True)
class Selection:
    period: Period
    creator_ids: frozenset[int] | None = None  # None: all creators
    chatter_id: int | None = None  # None: every chatter
    # The setting exclude_regular_input: active time without regular input (METRICS.md).
    exclude_regular: bool = False

    def finish(self, metrics: Iterable[ChatterMetrics]) -> None:
        """Active time as METRICS.md defines it for this selection, once the sums are read."""
        if self.exclude_regular:
            for m in metrics:
                m.exclude_regular()

    def sold_for(self, column: Any) -> Any:
        """The condition on a rollup's creator_id column (None: no condition)."""
        if self.creator_ids is None:
            return None
        if len(self.creator_ids) == 1:
            return column == next(iter(self.creator_ids))
        return column.in_(sorted(self.creator_ids))

    def shared(self, assignments: Mapping[int, set[int]], chatter: int | None) -> bool:
        """METRICS.md ``activity_shared``: under chosen creators, the chatter's activity
        is also counted for a creator not chosen (they are assigned to several)."""
        assigned = assignments.get(chatter, set()) if chatter is not None else set()
        chosen = self.creator_ids
        return chosen is not None and len(assigned) > 1 and not assigned <= chosen


def _bounds(period: Period) -> tuple[int, int]:
    """The period in epoch seconds; periods.period() guarantees quarter-hour ends."""
    return epoch(period.start), epoch(period.end)


@dataclass(frozen=True)
class _Piece:
    sales: Table
    activity: Table
    lo: int
    hi: int
    sign: int  # -1: a part of a day row that lies outside the range, taken off again


def _pieces(period: Period) -> list[_Piece]:
    """Whole UTC days from the day tables, plus the ragged ends from the quarter tables.

    An end longer than half a day is read as its whole UTC day minus the
    quarters outside the range, so no end costs more than 48 quarters.
    """
    start, end = _bounds(period)
    first_day = -(-start // DAY) * DAY
    last_day = end // DAY * DAY
    if first_day > last_day:  # inside one UTC day
        return [_Piece(SQ, AQ, start, end, 1)]
    pieces = []
    if first_day < last_day:
        pieces.append(_Piece(SD, AD, first_day, last_day, 1))
    if first_day - start > DAY // 2:
        pieces += [
            _Piece(SD, AD, first_day - DAY, first_day, 1),
            _Piece(SQ, AQ, first_day - DAY, start, -1),
        ]
    elif start < first_day:
        pieces.append(_Piece(SQ, AQ, start, first_day, 1))
    if end - last_day > DAY // 2:
        pieces += [
            _Piece(SD, AD, last_day, last_day + DAY, 1),
            _Piece(SQ, AQ, end, last_day + DAY, -1),
        ]
    elif last_day < end:
        pieces.append(_Piece(SQ, AQ, last_day, end, 1))
    return pieces


def _time(table: Table) -> Any:
    return table.c.day if "day" in table.c else table.c.bucket


def totals(
    connection: Connection,
    selection: Selection,
    assignments: Mapping[int, set[int]],
    *,
    medians: bool = True,
) -> dict[int | None, ChatterMetrics]:
    """Metrics per chatter id (None: unattributed) for the selection's whole range."""
    rows: dict[int | None, ChatterMetrics] = defaultdict(ChatterMetrics)
    samples: dict[int | None, tuple[list[bytes], list[bytes]]] = defaultdict(lambda: ([], []))
    for piece in _pieces(selection.period):
        sales = piece.sales
        when = _time(sales)
        where = [when >= piece.lo, when < piece.hi]
        if (creators := selection.sold_for(sales.c.creator_id)) is not None:
            where.append(creators)
        if selection.chatter_id is not None:
            where.append(sales.c.chatter_id == selection.chatter_id)
        query = (
            select(sales.c.chatter_id, *(func.sum(sales.c[n]) for n in SALES_SUMS))
            .where(*where)
            .group_by(sales.c.chatter_id)
        )
        for chatter, *sums in connection.execute(query):
            _add(rows[chatter], SALES_SUMS, sums, piece.sign)
        if medians:
            blobs = select(sales.c.chatter_id, sales.c.response_values).where(
                *where, sales.c.responses > 0
            )
            if connection.dialect.name == "postgresql":
                # One row per chatter instead of one per day: the fetch is what costs.
                joined = func.string_agg(sales.c.response_values, literal(b"", LargeBinary))
                blobs = (
                    select(sales.c.chatter_id, joined)
                    .where(*where, sales.c.responses > 0)
                    .group_by(sales.c.chatter_id)
                )
            for chatter, blob in connection.execute(blobs):
                samples[chatter][0 if piece.sign > 0 else 1].append(blob)
        _activity_totals(connection, rows, selection, assignments, piece)
    for chatter, (plus, minus) in samples.items():
        rows[chatter].response_median = median_of(plus, minus)
    selection.finish(rows.values())
    return dict(rows)


def _values(blobs: Sequence[bytes]) -> Any:
    return np.frombuffer(b"".join(blobs), dtype="<u4")


def median_of(plus: Sequence[bytes], minus: Sequence[bytes] = ()) -> float | None:
    """The exact median of the samples in ``plus`` once those in ``minus`` are taken out.

    Blobs hold samples as uint32 little-endian; ``minus`` is always a sub-multiset
    of ``plus`` (quarters of a day whose day row is in ``plus``).
    """
    values = _values(plus)
    if minus:
        kept, counts = np.unique(values, return_counts=True)
        gone, gone_counts = np.unique(_values(minus), return_counts=True)
        np.subtract.at(counts, np.searchsorted(kept, gone), gone_counts)
        values = np.repeat(kept, counts)
    n = len(values)
    if n == 0:
        return None
    middle = n // 2
    if n % 2:
        return float(np.partition(values, middle)[middle])
    low, high = np.partition(values, (middle - 1, middle))[middle - 1 : middle + 1]
    return (int(low) + int(high)) / 2


def _add(m: ChatterMetrics, names: tuple[str, ...], sums: Iterable[Any], sign: int = 1) -> None:
    for name, value in zip(names, sums, strict=True):
        setattr(m, name, getattr(m, name) + sign * int(value or 0))


def _counts_for(selection: Selection, assignments: Mapping[int, set[int]], chatter: int) -> bool:
    """Activity belongs to a creator through the chatter's assignment (METRICS.md)."""
    chosen = selection.creator_ids
    return chosen is None or not chosen.isdisjoint(assignments.get(chatter, set()))


def _activity_totals(
    connection: Connection,
    rows: dict[int | None, ChatterMetrics],
    selection: Selection,
    assignments: Mapping[int, set[int]],
    piece: _Piece,
) -> None:
    table = piece.activity
    when = _time(table)
    where = [when >= piece.lo, when < piece.hi]
    if selection.chatter_id is not None:
        where.append(table.c.chatter_id == selection.chatter_id)
    query = (
        select(table.c.chatter_id, *(func.sum(table.c[n]) for n in ACTIVITY_SUMS))
        .where(*where)
        .group_by(table.c.chatter_id)
    )
    for chatter, *sums in connection.execute(query):
        if _counts_for(selection, assignments, chatter):
            m = rows[chatter]
            _add(m, ACTIVITY_SUMS, sums, piece.sign)
            m.activity_shared = selection.shared(assignments, chatter)


class _Calendar:
    """Maps a bucket to its local day or hour: (index, label start) per period."""

    def __init__(self, period: Period, interval: str) -> None:
        self.starts: list[int] = []
        self.labels: list[dt.datetime] = []
        # Set when every point is a whole hour from here: the database can group them.
        self.hourly_from: int | None = None
        if interval == "day":
            for day in period.days():
                moment = local_midnight(day, period.tz)
                self.starts.append(epoch(moment))
                self.labels.append(moment.astimezone(period.tz))
        else:
            start, end = _bounds(period)
            hours = [from_epoch(b).astimezone(period.tz) for b in range(start, end, 3600)]
            if all(h.minute == 0 for h in hours):
                self.starts = list(range(start, end, 3600))
                self.labels = hours
                self.hourly_from = start
            else:  # an offset moved by half an hour (Lord Howe): find each hour's start
                self._by_quarter(start, end, period)

    def _by_quarter(self, start: int, end: int, period: Period) -> None:
        previous: tuple[dt.datetime, Any] | None = None
        for b in range(start, end, QUARTER):
            local = from_epoch(b).astimezone(period.tz)
            key = (local.replace(minute=0, second=0), local.utcoffset())
            if key != previous:
                self.starts.append(b)
                self.labels.append(local)
                previous = key

    def index(self, bucket: int) -> int:
        return bisect.bisect_right(self.starts, bucket) - 1


def daily(
    connection: Connection, selection: Selection, assignments: Mapping[int, set[int]]
) -> list[tuple[dt.date, ChatterMetrics]]:
    """One chatter's (or everyone's) metrics per local day, every day present."""
    period = selection.period
    start, end = _bounds(period)
    calendar = _Calendar(period, "day")
    days = [ChatterMetrics() for _ in calendar.starts]
    where = [SQ.c.bucket >= start, SQ.c.bucket < end]
    if (creators := selection.sold_for(SQ.c.creator_id)) is not None:
        where.append(creators)
    if selection.chatter_id is not None:
        where.append(SQ.c.chatter_id == selection.chatter_id)
    query = select(SQ.c.bucket, *(SQ.c[n] for n in SALES_SUMS)).where(*where)
    for bucket, *sums in connection.execute(query):
        _add(days[calendar.index(bucket)], SALES_SUMS, sums)
    activity = [AQ.c.bucket >= start, AQ.c.bucket < end]
    if selection.chatter_id is not None:
        activity.append(AQ.c.chatter_id == selection.chatter_id)
    query = select(AQ.c.bucket, AQ.c.chatter_id, *(AQ.c[n] for n in ACTIVITY_SUMS)).where(*activity)
    for bucket, chatter, *sums in connection.execute(query):
        if _counts_for(selection, assignments, chatter):
            _add(days[calendar.index(bucket)], ACTIVITY_SUMS, sums)
    selection.finish(days)
    return [(label.date(), m) for label, m in zip(calendar.labels, days, strict=True)]


@dataclass
class RevenuePoint:
    start: dt.datetime  # local, with its offset
    ppv_sales: int = 0
    tips: int = 0

    @property
    def total(self) -> int:
        return self.ppv_sales + self.tips


def revenue(connection: Connection, selection: Selection, interval: str) -> list[RevenuePoint]:
    """PPV sales and tips per local day or hour (refunds already taken off)."""
    start, end = _bounds(selection.period)
    calendar = _Calendar(selection.period, interval)
    points = [RevenuePoint(label) for label in calendar.labels]
    if selection.chatter_id is not None:
        table = SQ
        extra = [SQ.c.chatter_id == selection.chatter_id]
    else:
        table, extra = RQ, []
    where = [table.c.bucket >= start, table.c.bucket < end, *extra]
    if (creators := selection.sold_for(table.c.creator_id)) is not None:
        where.append(creators)
    slot: Any = table.c.bucket
    # Integer division on both databases: one row per hour instead of four.  Days take
    # the same path when every local midnight falls on a whole hour from the start.
    hours_from = calendar.hourly_from
    if hours_from is None and all((b - start) % 3600 == 0 for b in calendar.starts):
        hours_from = start
    if hours_from is not None:
        slot = (table.c.bucket - hours_from).self_group().op("/")(3600).label("slot")
    query = (
        select(slot, func.sum(table.c.ppv_sales), func.sum(table.c.tips))
        .where(*where)
        .group_by(slot)
    )
    for key, ppv, tips in connection.execute(query):
        if calendar.hourly_from is not None:
            index = int(key)
        elif hours_from is not None:
            index = calendar.index(hours_from + int(key) * 3600)
        else:
            index = calendar.index(key)
        point = points[index]
        point.ppv_sales += int(ppv or 0)
        point.tips += int(tips or 0)
    return points
