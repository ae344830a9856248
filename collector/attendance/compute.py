"""Attendance and coverage for a range, by either path: the reference (raw slices) or
the fast path (stored minutes and spans).  Both build the same ``Result``."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

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


# A chatter's totals over a result, in this order (Result.totals).
TOTALS = (
    "shifts",
    "scheduled_seconds",
    "online_seconds",
    "active_seconds",
    "paused_seconds",
    "late_shifts",
    "late_seconds",
    "early_leaves",
    "early_leave_seconds",
    "no_shows",
    "outside_online_seconds",
    "outside_active_seconds",
)


@dataclass(frozen=True)
class Result:
    rows: list[Attendance]  # occurrences starting in the range, by start then shift
    outside: dict[tuple[int, dt.date], Sums]  # (chatter, local day) -> outside any shift
    # The totals when already known (kept per chatter, collector/attendance/kept.py).
    known_totals: dict[int, tuple[int, ...]] | None = field(default=None, compare=False, repr=False)

    @cached_property
    def totals(self) -> dict[int, tuple[int, ...]]:
        """Per chatter with a row or a day outside shifts: the figures named in TOTALS,
        added up once per result (the whole agency's 90 days are 15,000 rows and 18,000
        days) and shared by whoever shows it."""
        if self.known_totals is not None:
            return self.known_totals
        sums: dict[int, list[int]] = defaultdict(lambda: [0] * len(TOTALS))
        for o, s, late, early, no_show, _status in self.rows:
            t = sums[o.chatter_id]
            t[0] += 1
            t[1] += o.seconds
            t[2] += s.online
            t[3] += s.active
            t[4] += s.paused
            if late:
                t[5] += 1
                t[6] += late
            if early:
                t[7] += 1
                t[8] += early
            t[9] += no_show
        for (chatter, _day), s in self.outside.items():
            u = sums[chatter]
            u[10] += s.online
            u[11] += s.active
        return {c: tuple(t) for c, t in sums.items()}


def changes_after(rows: Iterable[Attendance], now: int, grace: int) -> int:
    """The first moment after ``now`` at which a row's status could change by the clock
    alone: a start, a start plus the grace, or an end still to come (definitions.judge);
    a far future when every row is over."""
    later = [
        t
        for a in rows
        for t in (
            epoch(a.occurrence.starts_at),
            epoch(a.occurrence.starts_at) + grace,
            epoch(a.occurrence.ends_at),
        )
        if t > now
    ]
    return min(later, default=2**62)


Placed = tuple[Occurrence, int, int]  # an occurrence and its bounds in epoch seconds
Span = tuple[int, int, int]  # chatter, starts, ends (epoch seconds)


@dataclass(frozen=True)
class Plan:
    """What a range's shifts make of it, whoever is asked for: the local days, the
    occurrences starting in the range (``rows``, in the order given) and, per scheduled
    chatter, the spans to measure (their occurrences starting in the range, and the pieces
    of days outside all their shifts) and each day's pieces.  Depends only on the range,
    the zone and the shifts, so the fast path keeps it for the same stored shifts
    (queries.py)."""

    days: list[tuple[dt.date, int, int]]
    rows: list[Placed]
    spans: dict[int, list[Span]]
    outside: dict[int, list[tuple[dt.date, list[Span]]]]

    def of(self, chatter: int) -> tuple[list[Span], list[tuple[dt.date, list[Span]]]]:
        """The chatter's spans to measure and their pieces per day (a chatter without any
        shift: the whole days)."""
        spans = self.spans.get(chatter)
        if spans is not None:
            return spans, self.outside[chatter]
        whole = [(day, [(chatter, a, b)]) for day, a, b in self.days]
        return [k for _, keys in whole for k in keys], whole


def plan(
    first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, shifts: Sequence[Occurrence]
) -> Plan:
    """``shifts``: every occurrence overlapping the range, of any creator (the outside
    time is outside all of a chatter's shifts)."""
    days = local_days(first, last, tz)
    lo, hi = days[0][1], days[-1][2]
    placed = [(o, epoch(o.starts_at), epoch(o.ends_at)) for o in shifts]
    rows = [p for p in placed if lo <= p[1] < hi]
    mine: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for o, a, b in placed:
        mine[o.chatter_id].append((a, b))
    spans: dict[int, list[Span]] = {c: [] for c in mine}
    for o, a, b in rows:
        if b > a:
            spans[o.chatter_id].append((o.chatter_id, a, b))
    outside: dict[int, list[tuple[dt.date, list[Span]]]] = {}
    for c, intervals in mine.items():
        by_day: dict[dt.date, list[Span]] = {day: [] for day, _, _ in days}
        for day, a, b in outside_pieces(intervals, days):
            by_day[day].append((c, a, b))
            spans[c].append((c, a, b))
        outside[c] = list(by_day.items())
    return Plan(days, rows, spans, outside)


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
    wanted: list[Span] = []
    days = []
    for c in chatters:
        spans, pieces = p.of(c)
        wanted += spans  # the chatter's rows of any creator too: measured, not shown
        days.append((c, pieces))
    sums = measure(wanted)
    empty = Sums()
    get = sums.get
    out_rows = [judge(o, get((o.chatter_id, a, b), empty), grace, now, a, b) for o, a, b in rows]
    outside: dict[tuple[int, dt.date], Sums] = {}
    for c, pieces in days:
        for day, keys in pieces:
            if len(keys) == 1:
                outside[(c, day)] = get(keys[0], empty)
                continue
            outside[(c, day)] = _total([get(key, empty) for key in keys])
    return Result(out_rows, outside)


def _total(parts: list[Sums]) -> Sums:
    """The sums of a day's pieces together."""
    firsts = [s.first_active for s in parts if s.first_active is not None]
    lasts = [s.last_active for s in parts if s.last_active is not None]
    return Sums(
        sum(s.online for s in parts),
        sum(s.active for s in parts),
        sum(s.paused for s in parts),
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
    *,
    now: int,
) -> Coverage:
    """``online_by_quarter``: (chatter, quarter-hour bucket, online seconds of the slots
    starting in it); hours over at ``now`` are judged, the others are to come."""
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
        creators,
        hours,
        required_per_hour(needs, hours),
        counted(online, hours, shifts, links),
        now,
    )


__all__ = [
    "TOTALS",
    "Hour",
    "Measure",
    "Plan",
    "Result",
    "attendance",
    "coverage_of",
    "measured",
    "plan",
]
