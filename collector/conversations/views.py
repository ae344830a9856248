"""Conversation analytics read from the rollups, for any local days or hours.

A view asks for *slots*: consecutive UTC intervals whose boundaries fall on
quarter hours (one slot for a range's summary, one per local day or hour for
a trend).  Sums are additive: a UTC day that lies mostly in one slot is read
from the day table, and the quarters of it that belong elsewhere are taken off
(and added to their own slot), so a range costs whole days plus at most 48
quarters per day boundary.  Distinct visitors are not additive: a slot is the
union of the day sets it covers whole and the quarter sets of its edges,
counted with a boolean mask over the dense visitor ids (exact).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, case, func, or_, select

from collector.conversations import metrics as m
from collector.conversations.rollups import (
    DAY,
    INDEX,
    SUMS,
    UD,
    UQ,
    VD,
    VQ,
    D,
    Q,
    unpack,
)
from collector.stats.periods import Period, local_midnight

Bounds = Sequence[int]
Sums = list[int]
SUMMARY_SETS = ("impression", "click", "requester", "conversation", "buyer")
_RANGES_PER_QUERY = 60


def epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


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


def _which(column: Any, pieces: Sequence[tuple[int, int]]) -> Any:
    """The index of the piece a bucket lies in (the database groups by it)."""
    return case(*((and_(column >= lo, column < hi), i) for i, (lo, hi) in enumerate(pieces)))


def sums(connection: Connection, bounds: Bounds, *, by_agent: bool = True) -> SlotSums:
    """The additive figures of each slot, per agent id (None: no agent, or all agents)."""
    plan = _plan(bounds, subtract=True)
    slots = len(bounds) - 1
    keys: list[tuple[int, int | None]] = []  # (slot, agent) per row read
    signs: list[int] = []
    values: list[Sequence[Any]] = []
    if plan.day_slot:
        day_keys: list[Any] = [D.c.day, D.c.agent_id] if by_agent else [D.c.day]
        query = (
            select(*day_keys, *(func.sum(D.c[n]) for n in SUMS))
            .where(_days_clause(D.c.day, plan.day_slot))
            .group_by(*day_keys)
        )
        for row in connection.execute(query):
            if row[0] in plan.day_slot:
                keys.append((plan.day_slot[row[0]], row[1] if by_agent else None))
                signs.append(1)
                values.append(row[len(day_keys) :])
    pieces = _pieces(bounds, plan.ranges)
    for start in range(0, len(pieces), _RANGES_PER_QUERY):
        batch = pieces[start : start + _RANGES_PER_QUERY]
        which = _which(Q.c.bucket, batch).label("piece")
        quarter_keys: list[Any] = [which, Q.c.agent_id] if by_agent else [which]
        query = (
            select(*quarter_keys, *(func.sum(Q.c[n]) for n in SUMS))
            .where(_in_ranges(Q.c.bucket, _merge(batch)))
            .group_by(*quarter_keys)
        )
        for row in connection.execute(query):
            lo = batch[int(row[0])][0]
            agent = row[1] if by_agent else None
            own = _slot(bounds, lo)
            counted = plan.day_slot.get(lo - lo % DAY)
            if counted is not None:
                if own == counted:
                    continue
                keys.append((counted, agent))
                signs.append(-1)
                values.append(row[len(quarter_keys) :])
            if own is not None:
                keys.append((own, agent))
                signs.append(1)
                values.append(row[len(quarter_keys) :])
    agents = sorted({agent for _, agent in keys}, key=lambda a: (a is not None, a or 0))
    index = {agent: i for i, agent in enumerate(agents)}
    grid = np.zeros((slots, len(agents), len(SUMS)), dtype=np.int64)
    if keys:
        matrix = np.array(values, dtype=np.int64) * np.array(signs, dtype=np.int64)[:, None]
        np.add.at(
            grid,
            (np.array([k[0] for k in keys]), np.array([index[k[1]] for k in keys])),
            matrix,
        )
    found: SlotSums = []
    nested = grid.tolist()
    for slot in range(slots):
        found.append({agent: nested[slot][i] for agent, i in index.items() if any(nested[slot][i])})
    return found


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
            self.parts.append(unpack(blob))


SlotSets = list[dict[tuple[str, str], VisitorSet]]


def visitor_sets(
    connection: Connection, bounds: Bounds, kinds: Sequence[str], *, postgres_join: bool = True
) -> SlotSets:
    """The visitor sets of these kinds in each slot (``auto`` per trigger)."""
    slots: SlotSets = [defaultdict(VisitorSet) for _ in range(len(bounds) - 1)]
    plan = _plan(bounds, subtract=False)
    if plan.day_slot:
        query = select(VD.c.day, VD.c.kind, VD.c.key, VD.c.events, VD.c.ids).where(
            VD.c.kind.in_(kinds), _days_clause(VD.c.day, plan.day_slot)
        )
        for day, kind, key, count, blob in connection.execute(query):
            if day in plan.day_slot:
                slots[plan.day_slot[day]][(kind, key)].add(count, blob)
    for ranges in _batches(plan.ranges):
        query = select(VQ.c.bucket, VQ.c.kind, VQ.c.key, VQ.c.events, VQ.c.ids).where(
            VQ.c.kind.in_(kinds), _in_ranges(VQ.c.bucket, ranges)
        )
        for bucket, kind, key, count, blob in connection.execute(query):
            own = _slot(bounds, bucket)
            if own is not None:
                slots[own][(kind, key)].add(count, blob)
    return slots


def _mask(parts: Sequence[Any], size: int) -> Any:
    mask = np.zeros(size, dtype=bool)
    for part in parts:
        mask[part] = True
    return mask


def _size(*sets: VisitorSet) -> int:
    return 1 + max((int(p[-1]) for s in sets for p in s.parts if len(p)), default=0)


def count(found: VisitorSet) -> int:
    """Distinct visitors of a set (exact)."""
    if not found.parts:
        return 0
    if len(found.parts) == 1:
        return len(found.parts[0])
    total_ids = sum(len(p) for p in found.parts)
    size = _size(found)
    if total_ids * 16 < size:  # few ids: sorting them is cheaper than a mask
        return len(np.unique(np.concatenate(found.parts)))
    return int(np.count_nonzero(_mask(found.parts, size)))


def common(a: VisitorSet, b: VisitorSet) -> int:
    """Visitors in both sets."""
    if not a.parts or not b.parts:
        return 0
    size = _size(a, b)
    return int(np.count_nonzero(_mask(a.parts, size) & _mask(b.parts, size)))


def apply_sets(s: m.Summary, sets: dict[tuple[str, str], VisitorSet]) -> m.Summary:
    empty = VisitorSet()
    s.visitors_with_impression = count(sets.get(("impression", ""), empty))
    s.visitors_with_click = count(sets.get(("click", ""), empty))
    s.visitors_with_request = count(sets.get(("requester", ""), empty))
    talked = sets.get(("conversation", ""), empty)
    s.visitors_in_conversation = count(talked)
    s.converted_visitors = common(talked, sets.get(("buyer", ""), empty))
    return s


def summaries(connection: Connection, bounds: Bounds) -> list[m.Summary]:
    """The summary of each slot, equal to metrics.summary on the raw rows."""
    slot_sums = sums(connection, bounds, by_agent=False)
    slot_sets = visitor_sets(connection, bounds, SUMMARY_SETS)
    return [
        apply_sets(apply_sums(m.Summary(), total(s)), v)
        for s, v in zip(slot_sums, slot_sets, strict=True)
    ]


def summary(connection: Connection, p: Period) -> m.Summary:
    return summaries(connection, period_bounds(p))[0]


def auto_messages(connection: Connection, p: Period, limit: int = 10) -> list[m.Counted]:
    """Triggers by clicks, with their distinct clicking visitors."""
    sets = visitor_sets(connection, period_bounds(p), ("auto",))[0]
    ranked = sorted(
        ((key, found) for (_, key), found in sets.items() if found.events),
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
    text_requests = Q.c.req_agent_text + Q.c.req_visitor_text
    video_requests = Q.c.req_agent_video + Q.c.req_visitor_video
    query = (
        select(Q.c.bucket, func.sum(text_requests), func.sum(video_requests))
        .where(Q.c.bucket >= start, Q.c.bucket < end)
        .group_by(Q.c.bucket)
    )
    hours = [m.HourOfDay(h) for h in range(24)]
    for bucket, text, video in connection.execute(query):
        local = dt.datetime.fromtimestamp(bucket, dt.UTC).astimezone(p.tz)
        hours[local.hour].text_requests += int(text or 0)
        hours[local.hour].video_requests += int(video or 0)
    return hours
