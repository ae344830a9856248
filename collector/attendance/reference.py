"""The reference computation: attendance and coverage straight from the raw slices.

Slow on purpose and obvious: every slot of every chatter in the range is read and
added up by ``definitions.add_up``.  The fast path (queries.py) must give the same
``Result`` and ``Coverage`` (tests/collector/attendance/test_property.py).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence

from sqlalchemy import Connection, case, func, select

from collector.attendance.compute import Result, attendance, coverage_of
from collector.attendance.definitions import Coverage, Need, Slot, Sums, add_up, epoch
from collector.db.models import Slice
from collector.shifts.occurrences import Occurrence


def slots(connection: Connection, lo: int, hi: int) -> dict[int, list[Slot]]:
    """Each chatter's slots starting in [lo, hi), in order: per start, the maxima over
    devices (METRICS.md, "Activity")."""
    query = (
        select(
            Slice.chatter_id,
            Slice.start,
            func.max(Slice.slice_seconds),
            func.max(Slice.duration - Slice.paused_seconds),
            func.max(Slice.active_seconds),
            func.max(Slice.paused_seconds),
            func.coalesce(func.max(case((Slice.regular, None), else_=Slice.active_seconds)), 0),
        )
        .where(Slice.start >= dt.datetime.fromtimestamp(lo, dt.UTC))
        .where(Slice.start < dt.datetime.fromtimestamp(hi, dt.UTC))
        .group_by(Slice.chatter_id, Slice.start)
        .order_by(Slice.chatter_id, Slice.start)
    )
    out: dict[int, list[Slot]] = defaultdict(list)
    for chatter, start, length, online, active, paused, human in connection.execute(query):
        out[chatter].append(
            Slot(epoch(start), int(length), int(online), int(active), int(paused), int(human))
        )
    return out


def measure_slots(  # type: ignore[no-untyped-def]
    by_chatter: Mapping[int, Sequence[Slot]], *, exclude_regular: bool = False
):
    def measure(wanted: Iterable[tuple[int, int, int]]) -> dict[tuple[int, int, int], Sums]:
        return {
            (c, a, b): add_up(
                (s for s in by_chatter.get(c, ()) if a <= s.start < b),
                exclude_regular=exclude_regular,
            )
            for c, a, b in wanted
        }

    return measure


def reference_attendance(
    connection: Connection,
    first: dt.date,
    last: dt.date,
    tz: zoneinfo.ZoneInfo,
    chatters: Collection[int],
    shifts: Sequence[Occurrence],
    *,
    grace: int,
    now: int,
    creators: Collection[int] | None = None,
    exclude_regular: bool = False,
) -> Result:
    # Occurrences may reach a day past the range either side.
    lo = min([epoch(o.starts_at) for o in shifts], default=0)
    hi = max([epoch(o.ends_at) for o in shifts], default=0)
    start = epoch(dt.datetime.combine(first, dt.time(), tz)) - 86_400
    end = epoch(dt.datetime.combine(last, dt.time(), tz)) + 3 * 86_400
    by_chatter = slots(connection, min(lo, start), max(hi, end))
    return attendance(
        first,
        last,
        tz,
        chatters,
        shifts,
        measure_slots(by_chatter, exclude_regular=exclude_regular),
        grace=grace,
        now=now,
        creators=creators,
    )


def reference_coverage(
    connection: Connection,
    start: int,
    end: int,
    tz: zoneinfo.ZoneInfo,
    creators: Iterable[int],
    needs: Iterable[Need],
    shifts: Iterable[Occurrence],
    links: Mapping[int, set[int]],
    *,
    now: int,
) -> Coverage:
    by_chatter = slots(connection, start, end)
    per_quarter: dict[tuple[int, int], int] = defaultdict(int)
    for chatter, ss in by_chatter.items():
        for s in ss:
            per_quarter[(chatter, s.start - s.start % 900)] += s.online
    return coverage_of(
        start,
        end,
        tz,
        creators,
        needs,
        shifts,
        links,
        [(c, q, v) for (c, q), v in per_quarter.items()],
        now=now,
    )
