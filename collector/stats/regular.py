"""Regular (machine-like) input: the stored ``slices.regular`` flags, kept current.

The rule is METRICS.md's "Regular (machine-like) input", written plainly in
collector/stats/metrics.py (``regular_slices``, the reference).  Here the same rule runs
in one pass per device (running sums and a sweep), at ingest over the neighbourhood
of a batch's slices, and in the rebuild over everything.  A slice's flag depends only
on its device's slices starting less than REACH seconds before or after it, so
recomputing the flags within REACH of the new slices, from the slices within twice
REACH, leaves every flag as a full recomputation would, whatever the arrival order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select, update

from collector.db.base import UTCDateTime
from collector.db.buckets import epoch, from_epoch
from collector.db.direct import Fixed
from collector.db.models import Slice
from collector.stats.metrics import REGULAR_MIN_SPAN, steady
from shared.protocol import ALLOWED_SLICE_SECONDS

S = cast(Table, Slice.__table__)
REACH = REGULAR_MIN_SPAN + max(ALLOWED_SLICE_SECONDS)
_CHUNK = 500

COLUMNS = (
    S.c.id,
    S.c.start,
    S.c.slice_seconds,
    S.c.active_seconds,
    S.c.keystrokes,
    S.c.keyed_bursts,
    S.c.gaps,
    S.c.gap_ms_sum,
    S.c.gap_ms_sum_sq,
    S.c.regular,
)


@dataclass(frozen=True, slots=True)
class Timed:
    """What the rule reads of a slice (``start`` in epoch seconds)."""

    id: int
    start: int
    seconds: int
    mouse_only: bool
    gaps: int
    total: int
    squares: int
    regular: bool

    @classmethod
    def of(cls, row: Any) -> Timed:
        sid, start, seconds, active, keys, keyed, gaps, total, squares, regular = row
        timed = gaps is not None and keyed is not None and total is not None
        return cls(
            sid,
            epoch(start),
            seconds,
            bool(timed and keyed == 0 and keys == 0 and active > 0),
            gaps or 0,
            total or 0,
            squares or 0,
            bool(regular),
        )


def flags(rows: Sequence[Timed]) -> list[bool]:
    """The regular flag of each of one device's slices, ordered by start."""
    out = [False] * len(rows)
    i = 0
    while i < len(rows):
        if not rows[i].mouse_only:
            i += 1
            continue
        j = i + 1  # [i, j): a run of mouse-only slices, each starting where one ended
        while (
            j < len(rows)
            and rows[j].mouse_only
            and rows[j].start == rows[j - 1].start + rows[j - 1].seconds
        ):
            j += 1
        _mark_run(rows, i, j, out)
        i = j
    return out


def _mark_run(rows: Sequence[Timed], a: int, b: int, out: list[bool]) -> None:
    """From each slice of the run, the fewest slices spanning the minimum: if steady, all
    of them are regular.  Running sums give each window's pool; a sweep marks them."""
    prefix = [(0, 0, 0)]
    for r in rows[a:b]:
        g, t, q = prefix[-1]
        prefix.append((g + r.gaps, t + r.total, q + r.squares))
    cover = [0] * (b - a + 1)
    last = a
    for first in range(a, b):
        last = max(last, first)
        while last < b and rows[last].start + rows[last].seconds - rows[first].start < (
            REGULAR_MIN_SPAN
        ):
            last += 1
        if last == b:
            break
        g1, t1, q1 = prefix[last + 1 - a]
        g0, t0, q0 = prefix[first - a]
        if steady(g1 - g0, t1 - t0, q1 - q0):
            cover[first - a] += 1
            cover[last + 1 - a] -= 1
    depth = 0
    for k in range(a, b):
        depth += cover[k - a]
        out[k] = depth > 0


# Built once: every heartbeat batch runs it (building it per call cost more than running it).
_NEAR = Fixed(
    select(*COLUMNS)
    .where(
        S.c.device_id == bindparam("device"),
        S.c.start >= bindparam("lo", type_=UTCDateTime()),
        S.c.start < bindparam("hi", type_=UTCDateTime()),
    )
    .order_by(S.c.start)
)


def refresh(connection: Connection, device_id: int, starts: Iterable[dt.datetime]) -> set[int]:
    """Recompute the flags of the device's slices near these starts (new slices).

    Returns the starts (epoch seconds) whose flag changed: their activity buckets
    must be recomputed too.  Call under the chatter's SLICES lock (one batch of a
    chatter at a time), as store_batch does.
    """
    changed: set[int] = set()
    for lo, hi in _clusters(sorted({epoch(s) for s in starts})):
        found = _NEAR.rows(
            connection,
            {
                "device": device_id,
                "lo": from_epoch(lo - 2 * REACH),
                "hi": from_epoch(hi + 2 * REACH),
            },
        )
        rows = [Timed.of(r) for r in found]
        wrong = [
            (r, flag)
            for r, flag in zip(rows, flags(rows), strict=True)
            if lo - REACH < r.start < hi + REACH and flag != r.regular
        ]
        store(connection, ((r.id, flag) for r, flag in wrong))
        changed.update(r.start for r, _ in wrong)
    return changed


def _clusters(starts: list[int]) -> Iterator[tuple[int, int]]:
    """Starts close enough to share one read, as (first, last)."""
    if not starts:
        return
    lo = hi = starts[0]
    for s in starts[1:]:
        if s - hi > 4 * REACH:
            yield lo, hi
            lo = s
        hi = s
    yield lo, hi


_SET_FLAG = update(S).where(S.c.id == bindparam("sid")).values(regular=bindparam("flag"))


def store(connection: Connection, changes: Iterable[tuple[int, bool]]) -> None:
    rows = [{"sid": sid, "flag": flag} for sid, flag in changes]
    for i in range(0, len(rows), _CHUNK):
        connection.execute(_SET_FLAG, rows[i : i + _CHUNK])
