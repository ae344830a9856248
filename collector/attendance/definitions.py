"""The attendance and coverage rules (METRICS.md, "Attendance" and "Coverage"), pure.

Both the reference computation (reference.py, from raw slices) and the fast path
(queries.py, from the stored minutes and spans) feed these functions, so the rules live
in one place and the two paths differ only in where the sums come from.

Times are epoch seconds (UTC).  A slot (a chatter's slices of one start, all devices) is
inside an interval when its start is: slices divide a minute and shifts start on whole
minutes, so a slot is never cut by a shift's edge.
"""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from collector.shifts.occurrences import Occurrence, ShiftRule, occurrences

QUARTER = 900


def epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


class Sums(NamedTuple):
    """A chatter's slots in one interval: online (duration - paused), active and paused
    seconds, the first active slot's start and the last active slot's end.

    A named tuple rather than a frozen dataclass: the view builds one per cached span
    (54,000 for 200 chatters over 90 days) and a tuple is made three times faster."""

    online: int = 0
    active: int = 0
    paused: int = 0
    first_active: int | None = None
    last_active: int | None = None

    @property
    def running(self) -> int:
        """Seconds the agent ran: online or paused."""
        return self.online + self.paused


@dataclass(frozen=True, slots=True)
class Slot:
    """One slot of a chatter: the maxima over its devices' slices of that start;
    ``human``: the most active seconds of its slices that are not regular input (0 when
    all are), its active time when the setting exclude_regular_input is on."""

    start: int
    length: int
    online: int
    active: int
    paused: int
    human: int = 0


def add_up(slots: Iterable[Slot], *, exclude_regular: bool = False) -> Sums:
    """The slots' sums; with ``exclude_regular``, a slot's active time is its ``human``
    time (METRICS.md, "Attendance": regular input left out)."""
    online = active = paused = 0
    first: int | None = None
    last: int | None = None
    for s in slots:
        seconds = s.human if exclude_regular else s.active
        online += s.online
        active += seconds
        paused += s.paused
        if seconds > 0:
            first = s.start if first is None else min(first, s.start)
            end = s.start + s.length
            last = end if last is None else max(last, end)
    return Sums(online, active, paused, first, last)


UPCOMING = "upcoming"
IN_PROGRESS = "in_progress"
MISSING = "missing"  # started + grace passed, nothing yet; a no-show once it ends
NO_SHOW = "no_show"
NO_ACTIVITY = "no_activity"
LATE = "late"
LEFT_EARLY = "left_early"
LATE_LEFT_EARLY = "late_left_early"
ON_TIME = "on_time"
STATUSES = (
    ON_TIME,
    LATE,
    LEFT_EARLY,
    LATE_LEFT_EARLY,
    NO_ACTIVITY,
    NO_SHOW,
    MISSING,
    IN_PROGRESS,
    UPCOMING,
)
# Each status in words, as the pages show it and the exports write it.
STATUS_LABELS = {
    ON_TIME: "On time",
    LATE: "Late",
    LEFT_EARLY: "Left early",
    LATE_LEFT_EARLY: "Late, left early",
    NO_ACTIVITY: "No activity",
    NO_SHOW: "No-show",
    MISSING: "Not here yet",
    IN_PROGRESS: "In progress",
    UPCOMING: "Upcoming",
}


class Attendance(NamedTuple):
    """One shift occurrence measured (METRICS.md, "Attendance").  A named tuple for
    speed, as ``Sums``."""

    occurrence: Occurrence
    sums: Sums
    late_seconds: int | None  # None: no activity (yet)
    early_leave_seconds: int | None  # None: not over, or no activity
    no_show: bool
    status: str

    @property
    def late(self) -> bool:
        return bool(self.late_seconds)

    @property
    def left_early(self) -> bool:
        return bool(self.early_leave_seconds)


def judge(
    occurrence: Occurrence,
    sums: Sums,
    grace: int,
    now: int,
    a: int | None = None,
    b: int | None = None,
) -> Attendance:
    """Late start, early leave, no-show and the status, with ``grace`` seconds of grace,
    as known at ``now`` (``a`` and ``b``: the occurrence's bounds, when known)."""
    a = epoch(occurrence.starts_at) if a is None else a
    b = epoch(occurrence.ends_at) if b is None else b
    late = early = None
    if sums.first_active is not None:
        late = sums.first_active - a if sums.first_active - a > grace else 0
    if sums.last_active is not None and now >= b:
        gap = b - min(sums.last_active, b)
        early = gap if gap > grace else 0
    no_show = now >= b and sums.running == 0
    if now < a:
        status = UPCOMING
    elif no_show:
        status = NO_SHOW
    elif sums.running == 0:
        status = MISSING if now >= a + grace else IN_PROGRESS
    elif now < b:
        status = LATE if late else IN_PROGRESS
    elif sums.first_active is None:
        status = NO_ACTIVITY
    elif late and early:
        status = LATE_LEFT_EARLY
    elif late:
        status = LATE
    elif early:
        status = LEFT_EARLY
    else:
        status = ON_TIME
    return Attendance(occurrence, sums, late, early, no_show, status)


def merged(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching intervals joined, in order."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def outside_pieces(
    shifts: Iterable[tuple[int, int]], days: Sequence[tuple[dt.date, int, int]]
) -> list[tuple[dt.date, int, int]]:
    """The parts of each local day (date, start, end) that no shift covers."""
    inside = merged(shifts)
    starts = [a for a, _ in inside]
    pieces: list[tuple[dt.date, int, int]] = []
    for day, lo, hi in days:
        cursor = lo
        i = max(bisect.bisect_right(starts, lo) - 1, 0)
        while i < len(inside) and inside[i][0] < hi:
            a, b = inside[i]
            if b > cursor:
                if a > cursor:
                    pieces.append((day, cursor, min(a, hi)))
                cursor = max(cursor, b)
            i += 1
        if cursor < hi:
            pieces.append((day, cursor, hi))
    return pieces


def local_days(
    first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo
) -> list[tuple[dt.date, int, int]]:
    """Each local day of the range with its UTC bounds (23 or 25 hours across DST)."""
    out = []
    day = first
    while day <= last:
        nxt = day + dt.timedelta(days=1)
        out.append((day, _midnight(day, tz), _midnight(nxt, tz)))
        day = nxt
    return out


def _midnight(day: dt.date, tz: zoneinfo.ZoneInfo) -> int:
    return epoch(dt.datetime.combine(day, dt.time()).replace(tzinfo=tz).astimezone(dt.UTC))


# --- Coverage ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hour:
    """One local clock hour of the range: [start, end) in UTC, its local date and hour
    of the day.  A 25-hour day has hour 2 twice (two UTC offsets)."""

    start: int
    end: int
    day: dt.date
    hour: int
    offset: str  # "+02:00"

    @property
    def half(self) -> int:
        return (self.end - self.start) // 2


def local_hours(start: int, end: int, tz: zoneinfo.ZoneInfo) -> list[Hour]:
    """The range's local hours, built from its quarter hours (every zone in use starts
    its hours on one)."""
    hours: list[Hour] = []
    key = None
    for q in range(start, end, QUARTER):
        local = dt.datetime.fromtimestamp(q, dt.UTC).astimezone(tz)
        offset = local.utcoffset() or dt.timedelta()
        k = (local.date(), local.hour, offset)
        if k != key:
            sign = "-" if offset < dt.timedelta() else "+"
            minutes = abs(int(offset.total_seconds())) // 60
            hours.append(
                Hour(
                    q,
                    q + QUARTER,
                    local.date(),
                    local.hour,
                    f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
                )
            )
            key = k
        else:
            h = hours[-1]
            hours[-1] = Hour(h.start, q + QUARTER, h.day, h.hour, h.offset)
    return hours


@dataclass(frozen=True, slots=True)
class Need:
    """A stored coverage rule's parts (collector.db.schedule_models.CoverageRule)."""

    id: int
    creator_id: int
    zone: str
    weekdays: int
    start_minute: int
    end_minute: int
    required: int


_EARLIEST = dt.date(1900, 1, 1)


def required_per_hour(needs: Iterable[Need], hours: Sequence[Hour]) -> dict[tuple[int, int], int]:
    """(creator, hour index) -> chatters required: the highest ``required`` among the
    creator's rules in force for at least half of that hour."""
    if not hours:
        return {}
    lo = dt.datetime.fromtimestamp(hours[0].start, dt.UTC)
    hi = dt.datetime.fromtimestamp(hours[-1].end, dt.UTC)
    starts = [h.start for h in hours]
    out: dict[tuple[int, int], int] = {}
    for need in needs:
        rule = ShiftRule(
            need.id,
            0,
            need.creator_id,
            need.zone,
            need.weekdays,
            need.start_minute,
            need.end_minute,
            _EARLIEST,
        )
        overlap: dict[int, int] = defaultdict(int)
        for occ in occurrences([rule], [], lo, hi):
            a, b = epoch(occ.starts_at), epoch(occ.ends_at)
            i = max(bisect.bisect_right(starts, a) - 1, 0)
            while i < len(hours) and hours[i].start < b:
                h = hours[i]
                overlap[i] += max(0, min(b, h.end) - max(a, h.start))
                i += 1
        for i, seconds in overlap.items():
            if seconds >= hours[i].half and need.required > 0:
                key = (need.creator_id, i)
                out[key] = max(out.get(key, 0), need.required)
    return out


def counted(
    online: Mapping[tuple[int, int], int],
    hours: Sequence[Hour],
    shifts: Iterable[Occurrence],
    links: Mapping[int, set[int]],
) -> dict[tuple[int, int], set[int]]:
    """(creator, hour index) -> the chatters who count as online for that creator.

    ``online`` is (chatter, hour index) -> online seconds.  A chatter counts for a creator
    in an hour when online for at least half of it and either scheduled for that creator
    in that hour (a shift of theirs for it overlaps the hour), or scheduled for nobody in
    that hour and linked to the creator (chatter_creators).
    """
    starts = [h.start for h in hours]
    scheduled: dict[tuple[int, int], set[int]] = defaultdict(set)
    for occ in shifts:
        a, b = epoch(occ.starts_at), epoch(occ.ends_at)
        i = max(bisect.bisect_right(starts, a) - 1, 0)
        while i < len(hours) and hours[i].start < b:
            if min(b, hours[i].end) > max(a, hours[i].start):
                scheduled[(occ.chatter_id, i)].add(occ.creator_id)
            i += 1
    out: dict[tuple[int, int], set[int]] = defaultdict(set)
    for (chatter, i), seconds in online.items():
        if seconds < hours[i].half:
            continue
        for creator in scheduled.get((chatter, i)) or links.get(chatter, set()):
            out[(creator, i)].add(chatter)
    return out


@dataclass
class Cell:
    """A creator's hour of the day over the range."""

    hours: int = 0  # local hours of this hour of the day in the range
    required_hours: int = 0  # of them, with at least one chatter required
    covered_hours: int = 0  # of those, with at least as many online as required
    required: int = 0  # chatters required, summed over the hours
    online: int = 0  # chatters online (counted), summed over the hours
    met: int = 0  # sum over the hours of min(online, required)

    @property
    def uncovered_hours(self) -> int:
        return self.required_hours - self.covered_hours

    @property
    def ratio(self) -> float | None:
        """Coverage: met / required (1 when every required chatter was online)."""
        return None if self.required == 0 else self.met / self.required


@dataclass
class Coverage:
    hours: list[Hour]  # the hours judged: those over by the moment asked about
    cells: dict[int, list[Cell]] = field(default_factory=dict)  # creator -> 24 cells
    uncovered: list[tuple[int, Hour, int, int]] = field(default_factory=list)
    to_come: int = 0  # the range's local hours not over yet: not judged


def coverage(
    creators: Iterable[int],
    hours: list[Hour],
    required: Mapping[tuple[int, int], int],
    online: Mapping[tuple[int, int], set[int]],
    now: int,
) -> Coverage:
    """Only the hours over at ``now`` are judged: an hour still to come (or running) has
    no one online yet, and would read as uncovered."""
    over = [(i, h) for i, h in enumerate(hours) if h.end <= now]
    result = Coverage([h for _, h in over], to_come=len(hours) - len(over))
    for creator in creators:
        cells = [Cell() for _ in range(24)]
        for i, h in over:
            cell = cells[h.hour]
            need = required.get((creator, i), 0)
            have = len(online.get((creator, i), ()))
            cell.hours += 1
            cell.online += have
            if need:
                cell.required_hours += 1
                cell.required += need
                cell.met += min(have, need)
                if have >= need:
                    cell.covered_hours += 1
                else:
                    result.uncovered.append((creator, h, need, have))
        result.cells[creator] = cells
    return result
