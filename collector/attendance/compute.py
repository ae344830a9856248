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
    """``shifts``: every occurrence overlapping the range, of any creator (the outside
    time is outside all of a chatter's shifts); rows are those of ``chatters`` starting
    in the range, of ``creators`` when given."""
    days = local_days(first, last, tz)
    lo, hi = days[0][1], days[-1][2]
    placed = [(o, epoch(o.starts_at), epoch(o.ends_at)) for o in shifts]
    rows = [
        (o, a, b)
        for o, a, b in placed
        if o.chatter_id in chatters
        and lo <= a < hi
        and (creators is None or o.creator_id in creators)
    ]
    mine: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for o, a, b in placed:
        mine[o.chatter_id].append((a, b))
    pieces = {c: outside_pieces(mine.get(c, []), days) for c in chatters}
    wanted = [(o.chatter_id, a, b) for o, a, b in rows]
    wanted += [(c, a, b) for c, ps in pieces.items() for _, a, b in ps]
    sums = measure(wanted)
    measured = [judge(o, sums[(o.chatter_id, a, b)], grace, now, a, b) for o, a, b in rows]
    outside: dict[tuple[int, dt.date], Sums] = {}
    for c, ps in pieces.items():
        for day, a, b in ps:
            s = sums[(c, a, b)]
            before = outside.get((c, day))
            outside[(c, day)] = s if before is None else _plus(before, s)
    empty = Sums()
    for c in chatters:
        for day, _, _ in days:
            outside.setdefault((c, day), empty)
    return Result(measured, outside)


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


__all__ = ["Hour", "Measure", "Result", "attendance", "coverage_of"]
