"""Conversation analytics read from the rollups, for any local days or hours.

A view asks for *slots*: consecutive UTC intervals whose boundaries fall on
quarter hours (one slot for a range's summary, one per local day or hour for
a trend).  Sums are additive: a UTC day that lies mostly in one slot is read
from the day table, and the quarters of it that belong elsewhere are taken off
(and added to their own slot), so a range costs whole days plus at most 48
quarters per day boundary.  Distinct visitors are not additive: a slot is the
union of the day sets it covers whole, the hour sets of the rest and the
quarter sets of its edges (zones 30 or 45 minutes off UTC), counted exactly
with stamps written at the dense visitor ids (work in proportion to the ids).
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, func, or_, select

from collector.conversations import metrics as m
from collector.conversations.rollups import (
    INDEX,
    KINDS,
    QT,
    SUMS,
    UD,
    UQ,
    VD,
    VH,
    VQ,
    D,
    Q,
)
from collector.db.buckets import DAY, HOUR, epoch, unpack_array
from collector.stats.periods import Period, local_midnight

Bounds = Sequence[int]
Sums = list[int]
SUMMARY_SETS = ("impression", "click", "requester", "conversation", "buyer")
_RANGES_PER_QUERY = 60


def period_bounds(p: Period) -> list[int]:
    return [epoch(p.start), epoch(p.end)]


def day_bounds(p: Period) -> list[int]:
    return [epoch(local_midnight(day, p.tz)) for day in p.days()] + [epoch(p.end)]


def hour_bounds(p: Period) -> list[int]:
    """Each local hour's start (a DST day has 23 or 25), found per quarter hour."""
    return [epoch(span.start) for _, span in m.hour_spans(p)] + [epoch(p.end)]


def _slot(bounds: Bounds, moment: int) -> int | None:
    if moment < bounds[0] or moment >= bounds[-1]:
        return None
    return bisect.bisect_right(bounds, moment) - 1


def _parts(bounds: Bounds, day: int) -> list[tuple[int, int, int]]:
    """(slot, lo, hi): the pieces of UTC day ``day`` inside each slot."""
    lo, hi = max(day, bounds[0]), min(day + DAY, bounds[-1])
    parts = []
    moment = lo
    while moment < hi:
        i = bisect.bisect_right(bounds, moment) - 1
        end = min(bounds[i + 1], hi)
        parts.append((i, moment, end))
        moment = end
    return parts


@dataclass
class _Plan:
    day_slot: dict[int, int] = field(default_factory=dict)  # day rows to read, and their slot
    ranges: list[tuple[int, int]] = field(default_factory=list)  # quarters to read


def _plan(bounds: Bounds, *, subtract: bool) -> _Plan:
    """Which day rows and which quarters a set of slots reads.

    With ``subtract`` (sums), a day mostly in one slot is read whole and its
    other quarters corrected; without it (sets), only days wholly in a slot.
    """
    plan = _Plan()
    first = bounds[0] - bounds[0] % DAY
    for day in range(first, bounds[-1], DAY):
        parts = _parts(bounds, day)
        if not parts:
            continue
        slot, lo, hi = max(parts, key=lambda p: p[2] - p[1])
        whole = lo == day and hi == day + DAY
        if whole or (subtract and 2 * (hi - lo) >= DAY):
            plan.day_slot[day] = slot
            if lo > day:
                plan.ranges.append((day, lo))
            if hi < day + DAY:
                plan.ranges.append((hi, day + DAY))
        else:
            plan.ranges += [(a, b) for _, a, b in parts]
    plan.ranges = _merge(plan.ranges)
    return plan


def _merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and merged[-1][1] >= lo:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _in_ranges(column: Any, ranges: Sequence[tuple[int, int]]) -> Any:
    return or_(*(and_(column >= lo, column < hi) for lo, hi in ranges))


def _days_clause(column: Any, days: Iterable[int]) -> Any:
    return _in_ranges(column, _merge((d, d + DAY) for d in days))


def _batches(ranges: Sequence[tuple[int, int]]) -> Iterable[Sequence[tuple[int, int]]]:
    for i in range(0, len(ranges), _RANGES_PER_QUERY):
        yield ranges[i : i + _RANGES_PER_QUERY]


# Additive sums, per slot and agent.

SlotSums = list[dict[int | None, Sums]]
NO_AGENT = -1  # agent_id NULL as read from the database


def _add(target: Sums, values: Sequence[Any], sign: int = 1) -> None:
    for i, v in enumerate(values):
        target[i] += sign * int(v or 0)


def _pieces(bounds: Bounds, ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The ranges cut at slot and day boundaries: each piece is treated alike throughout."""
    cuts = sorted(set(bounds))
    pieces = []
    for lo, hi in ranges:
        moment = lo
        while moment < hi:
            end = min(hi, moment - moment % DAY + DAY)
            i = bisect.bisect_right(cuts, moment)
            if i < len(cuts):
                end = min(end, cuts[i])
            pieces.append((moment, end))
            moment = end
    return pieces


@dataclass
class _Reads:
    """Intervals of one rollup table to add up, each added to one slot or taken off another."""

    intervals: list[tuple[int, int]] = field(default_factory=list)
    plus: list[int] = field(default_factory=list)  # slot it adds to, or -1
    minus: list[int] = field(default_factory=list)  # slot it is taken off, or -1

    def add(self, lo: int, hi: int, plus: int, minus: int) -> None:
        last = len(self.intervals) - 1
        if last >= 0 and self.intervals[last][1] == lo and self.plus[last] == plus:
            if self.minus[last] == minus:  # treated alike: one interval
                self.intervals[last] = (self.intervals[last][0], hi)
                return
        self.intervals.append((lo, hi))
        self.plus.append(plus)
        self.minus.append(minus)


def _reads(bounds: Bounds) -> tuple[_Reads, _Reads]:
    """What ``sums`` reads: runs of day rows, and quarter pieces (with their corrections)."""
    plan = _plan(bounds, subtract=True)
    days, quarters = _Reads(), _Reads()
    for day in sorted(plan.day_slot):
        days.add(day, day + DAY, plan.day_slot[day], -1)
    for lo, hi in _pieces(bounds, plan.ranges):
        own = _slot(bounds, lo)
        counted = plan.day_slot.get(lo - lo % DAY)
        plus = -1 if own is None else own
        minus = -1 if counted is None else counted
        if plus != minus:
            quarters.add(lo, hi, plus, minus)
    return days, quarters


def _values(rows: Sequence[tuple[int, ...]]) -> str:
    """A literal table ``p(i, lo, hi)`` (our own integers, never user text)."""
    body = ", ".join(f"({int(i)}, {int(lo)}, {int(hi)})" for i, lo, hi in rows)
    return f"WITH p(i, lo, hi) AS (VALUES {body})"


def _rows(connection: Connection, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a statement without parameters, as plain tuples.

    On PostgreSQL the rows come in binary (psycopg's binary cursor, in the
    connection's transaction): the visitor sets are megabytes of bytea, three
    times faster to fetch than as hex text.  On SQLite the driver's own cursor
    (same connection) hands over all rows at once: a trend reads ~20k rows, and
    SQLAlchemy's row-by-row iteration cost a tenth of the view.
    """
    driver = connection.connection.driver_connection
    if connection.dialect.driver == "psycopg" and driver is not None:
        with driver.cursor(binary=True) as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())
    if connection.dialect.name == "sqlite" and driver is not None:
        cursor = driver.cursor()
        try:
            return list(cursor.execute(sql).fetchall())
        finally:
            cursor.close()
    return [tuple(r) for r in connection.exec_driver_sql(sql)]


def _fetch(connection: Connection, sql: str, width: int) -> Any:
    """Integer rows as one int64 matrix (``width`` columns, even when there are none)."""
    rows = _rows(connection, sql)
    if not rows:
        return np.zeros((0, width), dtype=np.int64)
    return np.array(rows, dtype=np.int64)


def _sum_columns(alias: str, columns: Sequence[str]) -> str:
    # PostgreSQL's sum of a bigint is a numeric; every sum here fits a bigint.
    return ", ".join(f"CAST(sum({alias}.{name}) AS BIGINT)" for name in columns)


def _read_sums(
    connection: Connection,
    table: str,
    column: str,
    reads: _Reads,
    columns: Sequence[str],
    by_agent: bool,
) -> tuple[Any, Any, Any]:
    """(interval index, agent, values) per row: each interval's sums (per agent)."""
    width = 1 + by_agent + len(columns)
    if not reads.intervals:
        found = np.zeros((0, width), dtype=np.int64)
    else:
        agent = [f"coalesce(t.agent_id, {NO_AGENT})"] if by_agent else []
        keys = ", ".join(["p.i", *agent])
        rows = [(i, lo, hi) for i, (lo, hi) in enumerate(reads.intervals)]
        sql = (
            f"{_values(rows)} SELECT {keys}, {_sum_columns('t', columns)} "
            f"FROM p JOIN {table} t ON t.{column} >= p.lo AND t.{column} < p.hi "
            f"GROUP BY p.i{', t.agent_id' if by_agent else ''}"
        )
        found = _fetch(connection, sql, width)
    agents = found[:, 1] if by_agent else np.full(len(found), NO_AGENT, dtype=np.int64)
    return found[:, 0], agents, found[:, 1 + by_agent :]


def _day_rows(
    connection: Connection, reads: _Reads, columns: Sequence[str]
) -> tuple[Any, Any, Any]:
    """(interval index, agent, values) per day row, read as stored (no grouping)."""
    width = 2 + len(columns)
    spans = _merge(reads.intervals)
    where = " OR ".join(f"(t.day >= {int(lo)} AND t.day < {int(hi)})" for lo, hi in spans)
    sql = (
        f"SELECT t.day, coalesce(t.agent_id, {NO_AGENT}), "
        f"{', '.join(f't.{name}' for name in columns)} "
        f"FROM {D.name} t WHERE {where}"
    )
    found = _fetch(connection, sql, width)
    starts = np.array([lo for lo, _ in reads.intervals], dtype=np.int64)
    which = np.searchsorted(starts, found[:, 0], side="right") - 1
    return which, found[:, 1], found[:, 2:]


@dataclass
class SumGrid:
    """The sums of each slot and agent: ``values[slot, agent index, column]``."""

    agents: list[int | None]
    values: Any  # int64 array (slots, agents, columns)
    columns: tuple[str, ...] = SUMS

    def _rows(self, values: Any) -> dict[int | None, Sums]:
        """Rows of all SUMS per agent (columns not read are 0), for agents with anything."""
        if self.columns == SUMS:
            nested = values.tolist()
        else:
            full = np.zeros((len(self.agents), len(SUMS)), dtype=np.int64)
            full[:, [INDEX[name] for name in self.columns]] = values
            nested = full.tolist()
        return {agent: row for agent, row in zip(self.agents, nested, strict=True) if any(row)}

    def slot(self, i: int) -> dict[int | None, Sums]:
        """One slot's rows per agent, for the agents with anything in it."""
        return self._rows(self.values[i])

    def totals(self) -> dict[int | None, Sums]:
        """Every slot added up, per agent (the slots are consecutive: their whole range)."""
        return self._rows(self.values.sum(axis=0))

    def slot_totals(self) -> list[Sums]:
        """Each slot's figures, all agents together (all SUMS)."""
        return [total(self._rows(values)) for values in self.values]


def sum_grid(
    connection: Connection,
    bounds: Bounds,
    *,
    by_agent: bool = True,
    columns: Sequence[str] = SUMS,
) -> SumGrid:
    """The additive figures of each slot per agent (one agent, None, when not ``by_agent``).

    Whole UTC day rows and, at the edges, quarter pieces, each added to the slot
    it belongs to and taken off the slot whose day row covered it: the database
    adds up each interval (one query per table), numpy the slots.
    """
    slots = len(bounds) - 1
    days, quarters = _reads(bounds)
    read = []
    if days.intervals:
        day_count = sum((hi - lo) // DAY for lo, hi in days.intervals)
        if by_agent and 2 * len(days.intervals) > day_count:
            # Mostly one day per interval (a day grid): the stored rows are the answer.
            found = _day_rows(connection, days, columns)
        else:
            found = _read_sums(connection, D.name, "day", days, columns, by_agent)
        read.append((days, found))
    if quarters.intervals:
        # All agents together: the bucket totals, one row per bucket.
        table = Q.name if by_agent else QT.name
        found = _read_sums(connection, table, "bucket", quarters, columns, by_agent)
        read.append((quarters, found))
    slot_parts, agent_parts, value_parts = [], [], []
    for reads, (which, agent, values) in read:
        for targets, sign in ((reads.plus, 1), (reads.minus, -1)):
            slot = np.array(targets, dtype=np.int64)[which]
            keep = slot >= 0
            slot_parts.append(slot[keep])
            agent_parts.append(agent[keep])
            value_parts.append(values[keep] * sign)
    width = len(columns)
    if not slot_parts:
        return SumGrid([], np.zeros((slots, 0, width), dtype=np.int64), tuple(columns))
    slot_of = np.concatenate(slot_parts)
    agent_of = np.concatenate(agent_parts)
    ids = np.unique(agent_of)  # NO_AGENT (-1) first, as None sorts first
    grid = np.zeros((slots, len(ids), width), dtype=np.int64)
    np.add.at(grid, (slot_of, np.searchsorted(ids, agent_of)), np.concatenate(value_parts))
    agents: list[int | None] = [None if a == NO_AGENT else a for a in ids.tolist()]
    return SumGrid(agents, grid, tuple(columns))


def sums(connection: Connection, bounds: Bounds, *, by_agent: bool = True) -> SlotSums:
    """The additive figures of each slot, per agent id (None: no agent, or all agents)."""
    grid = sum_grid(connection, bounds, by_agent=by_agent)
    return [grid.slot(i) for i in range(len(bounds) - 1)]


def total(rows: dict[int | None, Sums]) -> Sums:
    out = [0] * len(SUMS)
    for values in rows.values():
        _add(out, values)
    return out


def _get(values: Sums, name: str) -> int:
    return values[INDEX[name]]


def apply_sums(s: m.Summary, values: Sums) -> m.Summary:
    """The additive part of a summary."""
    g = values.__getitem__
    at, av, vt, vv = (g(INDEX[f"req_{i}_{c}"]) for i in m.INITIATORS for c in m.CHANNELS)
    cat, cav, cvt, cvv = (g(INDEX[f"conv_{i}_{c}"]) for i in m.INITIATORS for c in m.CHANNELS)
    s.requests = at + av + vt + vv
    s.requests_agent_initiated = at + av
    s.requests_visitor_initiated = vt + vv
    s.text_requests = at + vt
    s.video_requests = av + vv
    s.conversations = cat + cav + cvt + cvv
    s.text_conversations = cat + cvt
    s.video_conversations = cav + cvv
    s.agent_initiated_conversations = cat + cav
    s.visitor_initiated_conversations = cvt + cvv
    s.duration_total_seconds = _get(values, "duration_total")
    s.orders = _get(values, "orders")
    s.attributed_gmv = _get(values, "gmv")
    s.auto_message_clicks = _get(values, "auto_clicks")
    s.nps_responses = _get(values, "nps_responses")
    s.nps_rated = _get(values, "nps_rated")
    s.nps_rating_total = _get(values, "nps_total")
    return s


def agent_metrics(values: Sums) -> m.AgentMetrics:
    s = apply_sums(m.Summary(), values)
    return m.AgentMetrics(
        requests=s.requests,
        agent_initiated_requests=s.requests_agent_initiated,
        agent_initiated_conversations=s.agent_initiated_conversations,
        conversations=s.conversations,
        unanswered_visitor_requests=s.unanswered_visitor_requests,
        attributed_orders=s.orders,
        attributed_sales=s.attributed_gmv,
        nps_rated=s.nps_rated,
        nps_rating_total=s.nps_rating_total,
    )


def agents(rows: dict[int | None, Sums]) -> dict[int, m.AgentMetrics]:
    """Leaderboard rows of the agents with a request, a credited order or a rating."""
    found = {}
    for agent, values in rows.items():
        if agent is None:
            continue
        a = agent_metrics(values)
        if a.requests or a.attributed_orders or a.nps_rated:
            found[agent] = a
    return found


def distribution(values: Sums) -> dict[int | None, int]:
    counts: dict[int | None, int] = {r: _get(values, f"nps_{r}") for r in m.RATINGS}
    counts[None] = _get(values, "nps_responses") - _get(values, "nps_rated")
    return counts


def breakdown(values: Sums) -> list[m.Breakdown]:
    return [
        m.Breakdown(i, c, _get(values, f"req_{i}_{c}"), _get(values, f"conv_{i}_{c}"))
        for i in m.INITIATORS
        for c in m.CHANNELS
    ]


# Distinct visitors, per slot.


@dataclass
class VisitorSet:
    events: int = 0
    parts: list[Any] = field(default_factory=list)  # sorted uint32 arrays

    def add(self, count: int, blob: bytes) -> None:
        self.events += int(count)
        if blob:
            self.parts.append(unpack_array(blob))


SlotSets = list[dict[tuple[str, str], VisitorSet]]


def visitor_sets(connection: Connection, bounds: Bounds, kinds: Sequence[str]) -> SlotSets:
    """The visitor sets of these kinds in each slot (``auto`` per trigger)."""
    slots: SlotSets = [defaultdict(VisitorSet) for _ in range(len(bounds) - 1)]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"no visitor sets of kind {sorted(unknown)}")
    if not kinds:
        return slots
    plan = _plan(bounds, subtract=False)
    wanted = ", ".join(f"'{kind}'" for kind in kinds)  # our own names, checked above
    if plan.day_slot:
        days = _Reads()
        for day in sorted(plan.day_slot):
            days.add(day, day + DAY, plan.day_slot[day], -1)
        _read_sets(connection, VD.name, "day", days, wanted, slots)
    hours, quarters = _Reads(), _Reads()
    for lo, hi in _pieces(bounds, plan.ranges):
        own = _slot(bounds, lo)
        if own is None:
            continue
        # The whole UTC hours of a piece from the hour sets, its edges from the quarters
        # (a zone 30 or 45 minutes off UTC starts its days and hours mid-hour).
        first, last = -(-lo // HOUR) * HOUR, hi - hi % HOUR
        if first >= last:
            quarters.add(lo, hi, own, -1)
            continue
        if lo < first:
            quarters.add(lo, first, own, -1)
        hours.add(first, last, own, -1)
        if last < hi:
            quarters.add(last, hi, own, -1)
    _read_sets(connection, VH.name, "hour", hours, wanted, slots)
    _read_sets(connection, VQ.name, "bucket", quarters, wanted, slots)
    return slots


def _read_sets(
    connection: Connection, table: str, column: str, reads: _Reads, wanted: str, slots: SlotSets
) -> None:
    if not reads.intervals:
        return
    rows = [(slot, lo, hi) for slot, (lo, hi) in zip(reads.plus, reads.intervals, strict=True)]
    sql = (
        f"{_values(rows)} SELECT p.i, t.kind, t.key, t.events, t.ids "
        f"FROM p JOIN {table} t ON t.{column} >= p.lo AND t.{column} < p.hi "
        f"WHERE t.kind IN ({wanted})"
    )
    for slot, kind, key, events, blob in _rows(connection, sql):
        slots[slot][(kind, key)].add(events, blob)


class _Stamps(threading.local):
    """A scratch array over the dense visitor ids, kept per thread between counts.

    A count writes consecutive stamps, never used before, at its ids and reads them back:
    an id's slot holds one of the stamps written for it, so counting the positions that
    read back their own stamp counts each distinct id once.  Work is proportional to the
    ids counted, not to the largest id (no mask to clear).
    """

    def __init__(self) -> None:
        self.marks = np.zeros(0, dtype=np.int64)
        self.next = 1  # stamps below it are stale; the array starts at 0

    def stamp(self, ids: Any) -> tuple[Any, int]:
        """Write fresh stamps at ``ids``; returns the stamps and the first of them."""
        if len(ids) and int(ids.max()) >= len(self.marks):
            grown = np.zeros(max(int(ids.max()) + 1, 2 * len(self.marks)), dtype=np.int64)
            grown[: len(self.marks)] = self.marks
            self.marks = grown
        first = self.next
        stamps = np.arange(first, first + len(ids), dtype=np.int64)
        self.next += len(ids)
        self.marks[ids] = stamps
        return stamps, first

    def distinct(self, ids: Any) -> int:
        stamps, _ = self.stamp(ids)
        return int(np.count_nonzero(self.marks[ids] == stamps))

    def common(self, a: Any, b: Any) -> int:
        """Distinct ids of ``b`` that are in ``a``."""
        return self.both(a, b)[1]

    def both(self, a: Any, b: Any) -> tuple[int, int]:
        """Distinct ids of ``a``, and of those the ones in ``b``: ``a`` stamped once."""
        stamps, first = self.stamp(a)
        alone = int(np.count_nonzero(self.marks[a] == stamps))
        if len(b) and int(b.max()) >= len(self.marks):
            b = b[b < len(self.marks)]
        return alone, self.distinct(b[self.marks[b] >= first])


_STAMPS = _Stamps()


def _ids(found: VisitorSet) -> Any:
    return np.concatenate(found.parts) if found.parts else np.zeros(0, dtype=np.uint32)


def count(found: VisitorSet) -> int:
    """Distinct visitors of a set (exact)."""
    parts = [p for p in found.parts if len(p)]
    if not parts:
        return 0
    if len(parts) == 1:
        return len(parts[0])
    return _STAMPS.distinct(np.concatenate(parts))


def common(a: VisitorSet, b: VisitorSet) -> int:
    """Visitors in both sets."""
    if not any(len(p) for p in a.parts) or not any(len(p) for p in b.parts):
        return 0
    return _STAMPS.common(_ids(a), _ids(b))


def count_with(a: VisitorSet, b: VisitorSet) -> tuple[int, int]:
    """``count(a)`` and ``common(a, b)``, reading ``a`` (the larger set) once."""
    if not any(len(p) for p in a.parts):
        return 0, 0
    if not any(len(p) for p in b.parts):
        return count(a), 0
    return _STAMPS.both(_ids(a), _ids(b))


def apply_sets(s: m.Summary, sets: dict[tuple[str, str], VisitorSet]) -> m.Summary:
    empty = VisitorSet()
    saw = sets.get(("impression", ""), empty)
    # Of the visitors who saw the widget, those who asked (METRICS.md: request_rate).
    s.visitors_with_impression, s.visitors_with_request = count_with(
        saw, sets.get(("requester", ""), empty)
    )
    s.visitors_with_click = count(sets.get(("click", ""), empty))
    talked = sets.get(("conversation", ""), empty)
    s.visitors_in_conversation, s.converted_visitors = count_with(
        talked, sets.get(("buyer", ""), empty)
    )
    return s


def summaries(connection: Connection, bounds: Bounds) -> list[m.Summary]:
    """The summary of each slot, equal to metrics.summary on the raw rows."""
    return read_summaries(connection, bounds).summaries


@dataclass
class Summaries:
    """Each slot's summary, with the sums and visitor sets it was made of."""

    summaries: list[m.Summary]
    sums: list[Sums]
    sets: SlotSets


def read_summaries(
    connection: Connection, bounds: Bounds, kinds: Sequence[str] = SUMMARY_SETS
) -> Summaries:
    """Summaries of the slots (one query per table), keeping the sets of ``kinds`` too."""
    slot_sums = sum_grid(connection, bounds, by_agent=False).slot_totals()
    slot_sets = visitor_sets(connection, bounds, kinds)
    found = [
        apply_sets(apply_sums(m.Summary(), s), v) for s, v in zip(slot_sums, slot_sets, strict=True)
    ]
    return Summaries(found, slot_sums, slot_sets)


def summary(connection: Connection, p: Period) -> m.Summary:
    return summaries(connection, period_bounds(p))[0]


def auto_messages(connection: Connection, p: Period, limit: int = 10) -> list[m.Counted]:
    """Triggers by clicks, with their distinct clicking visitors."""
    return ranked_auto_messages(visitor_sets(connection, period_bounds(p), ("auto",))[0], limit)


def ranked_auto_messages(
    sets: dict[tuple[str, str], VisitorSet], limit: int = 10
) -> list[m.Counted]:
    """The ``auto`` sets of a slot, most clicked first."""
    ranked = sorted(
        ((key, found) for (kind, key), found in sets.items() if kind == "auto" and found.events),
        key=lambda kv: (-kv[1].events, kv[0]),
    )
    return [m.Counted(key, found.events, count(found)) for key, found in ranked[:limit]]


def top_urls(connection: Connection, p: Period, limit: int = 10) -> list[m.Counted]:
    """Pages by requests started on them, with their conversations."""
    bounds = period_bounds(p)
    plan = _plan(bounds, subtract=True)
    pages: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    if plan.day_slot:
        query = (
            select(UD.c.url, func.sum(UD.c.requests), func.sum(UD.c.conversations))
            .where(_days_clause(UD.c.day, plan.day_slot))
            .group_by(UD.c.url)
        )
        for url, requests, conversations in connection.execute(query):
            _add(pages[url], (requests, conversations))
    for ranges in _batches(plan.ranges):
        edges = select(UQ.c.bucket, UQ.c.url, UQ.c.requests, UQ.c.conversations).where(
            _in_ranges(UQ.c.bucket, ranges)
        )
        for bucket, url, requests, conversations in connection.execute(edges):
            # Quarters outside the range were read to correct a day row that covers them.
            inside = bounds[0] <= bucket < bounds[1]
            _add(pages[url], (requests, conversations), 1 if inside else -1)
    ranked = sorted(
        (url for url, (r, _) in pages.items() if r > 0), key=lambda u: (-pages[u][0], u)
    )
    return [m.Counted(url, pages[url][0], pages[url][1]) for url in ranked[:limit]]


def hours_of_day(connection: Connection, p: Period) -> list[m.HourOfDay]:
    """Requests by local wall-clock hour over the period (a repeated hour adds up)."""
    start, end = period_bounds(p)
    sql = (
        "SELECT bucket, req_agent_text + req_visitor_text, req_agent_video + req_visitor_video "
        f"FROM {QT.name} WHERE bucket >= {int(start)} AND bucket < {int(end)}"
    )
    found = _fetch(connection, sql, 3)  # one row per bucket, all agents together
    counts = np.zeros((24, 2), dtype=np.int64)
    np.add.at(counts, _local_hours(found[:, 0], p.tz), found[:, 1:])
    return [m.HourOfDay(h, *map(int, counts[h])) for h in range(24)]


def _offset(moment: int, tz: dt.tzinfo) -> int:
    offset = dt.datetime.fromtimestamp(moment, dt.UTC).astimezone(tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _local_hours(buckets: Any, tz: dt.tzinfo) -> Any:
    """The local hour of each bucket's start."""
    return ((buckets + _offsets(buckets, tz, DAY)) % DAY) // HOUR


def _offsets(buckets: Any, tz: dt.tzinfo, span: int) -> Any:
    """The zone's offset at each bucket, looked up once per UTC day, then per hour in a day
    whose offset changes, and per bucket in such an hour (Lord Howe moves by half an hour).
    """
    starts = np.unique(buckets - buckets % span)
    first = np.array([_offset(int(s), tz) for s in starts], dtype=np.int64)
    last = np.array([_offset(int(s) + span, tz) for s in starts], dtype=np.int64)
    which = np.searchsorted(starts, buckets - buckets % span)
    offsets = first[which]
    moved = np.flatnonzero(first[which] != last[which])
    if len(moved):
        picked = buckets[moved]
        if span == DAY:
            offsets[moved] = _offsets(picked, tz, HOUR)
        else:
            offsets[moved] = [_offset(int(b), tz) for b in picked]
    return offsets
