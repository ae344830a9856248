"""Attendance and coverage for a range, by either path: the reference (raw slices) or
the fast path (stored minutes and spans).  Both build the same ``Result``."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from collector.attendance.definitions import (
    Attendance,
    Coverage,
    Hour,
    Need,
    Sums,
    counted,
    coverage,
    epoch,
    judge,
    local_days,
    local_hours,
    outside_pieces,
    required_per_hour,
)
from collector.shifts.occurrences import Occurrence

# (chatter, starts, ends) -> sums: how either path measures a set of intervals.
Measure = Callable[[Iterable[tuple[int, int, int]]], Mapping[tuple[int, int, int], Sums]]


@dataclass(frozen=True)
class Result:
    rows: list[Attendance]  # occurrences starting in the range, by start then shift
    outside: dict[tuple[int, dt.date], Sums]  # (chatter, local day) -> outside any shift


Placed = tuple[Occurrence, int, int]  # an occurrence and its bounds in epoch seconds
Piece = tuple[dt.date, int, int]  # a local day's part outside a chatter's shifts


@dataclass(frozen=True)
class Plan:
    """What a range's shifts make of it, whoever is asked for: the local days, the
    occurrences starting in the range (``rows``, in the order given) and each scheduled
    chatter's pieces of days outside their shifts.  Depends only on the range, the zone
    and the shifts, so the fast path keeps it for the same stored shifts (queries.py)."""

    days: list[tuple[dt.date, int, int]]
    rows: list[Placed]
    pieces: dict[int, list[Piece]]
    free: list[Piece]  # the pieces of a chatter without any shift: the whole days


def plan(
    first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, shifts: Sequence[Occurrence]
) -> Plan:
    """``shifts``: every occurrence overlapping the range, of any creator (the outside
    time is outside all of a chatter's shifts)."""
    days = local_days(first, last, tz)
    lo, hi = days[0][1], days[-1][2]
    placed = [(o, epoch(o.starts_at), epoch(o.ends_at)) for o in shifts]
    mine: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for o, a, b in placed:
        mine[o.chatter_id].append((a, b))
    return Plan(
        days,
        [p for p in placed if lo <= p[1] < hi],
        {c: outside_pieces(spans, days) for c, spans in mine.items()},
        [(day, a, b) for day, a, b in days],
    )


def attendance(
    first: dt.date,
    last: dt.date,
    tz: zoneinfo.ZoneInfo,
    chatters: Collection[int],
    shifts: Sequence[Occurrence],
    measure: Measure,
    *,
    grace: int,
    now: int,
    creators: Collection[int] | None = None,
) -> Result:
    """Rows are the occurrences of ``chatters`` starting in the range, of ``creators``
    when given (see ``plan`` for ``shifts``)."""
    return measured(
        plan(first, last, tz, shifts), chatters, measure, grace=grace, now=now, creators=creators
    )


def measured(
    p: Plan,
    chatters: Collection[int],
    measure: Measure,
    *,
    grace: int,
    now: int,
    creators: Collection[int] | None = None,
) -> Result:
    """``attendance`` from the range's plan."""
    rows = [
        r
        for r in p.rows
        if r[0].chatter_id in chatters and (creators is None or r[0].creator_id in creators)
    ]
    pieces = {c: p.pieces.get(c, p.free) for c in chatters}
    wanted = [(o.chatter_id, a, b) for o, a, b in rows]
    wanted += [(c, a, b) for c, ps in pieces.items() for _, a, b in ps]
    sums = measure(wanted)
    empty = Sums()
    out_rows = [
        judge(o, sums.get((o.chatter_id, a, b), empty), grace, now, a, b) for o, a, b in rows
    ]
    outside: dict[tuple[int, dt.date], Sums] = {}
    for c, ps in pieces.items():
        for day, a, b in ps:
            s = sums.get((c, a, b), empty)
            before = outside.get((c, day))
            outside[(c, day)] = s if before is None else _plus(before, s)
        for day, _, _ in p.days:
            outside.setdefault((c, day), empty)
    return Result(out_rows, outside)


def _plus(x: Sums, y: Sums) -> Sums:
    firsts = [v for v in (x.first_active, y.first_active) if v is not None]
    lasts = [v for v in (x.last_active, y.last_active) if v is not None]
    return Sums(
        x.online + y.online,
        x.active + y.active,
        x.paused + y.paused,
        min(firsts) if firsts else None,
        max(lasts) if lasts else None,
    )


def coverage_of(
    start: int,
    end: int,
    tz: zoneinfo.ZoneInfo,
    creators: Iterable[int],
    needs: Iterable[Need],
    shifts: Iterable[Occurrence],
    links: Mapping[int, set[int]],
    online_by_quarter: Iterable[tuple[int, int, int]],
) -> Coverage:
    """``online_by_quarter``: (chatter, quarter-hour bucket, online seconds of the slots
    starting in it)."""
    hours = local_hours(start, end, tz)
    index: dict[int, int] = {}
    for i, h in enumerate(hours):
        for q in range(h.start, h.end, 900):
            index[q] = i
    online: dict[tuple[int, int], int] = defaultdict(int)
    for chatter, bucket, seconds in online_by_quarter:
        if (at := index.get(bucket)) is not None:
            online[(chatter, at)] += seconds
    return coverage(
        creators, hours, required_per_hour(needs, hours), counted(online, hours, shifts, links)
    )


__all__ = ["Hour", "Measure", "Plan", "Result", "attendance", "coverage_of", "measured", "plan"]
