"""A chatter's slices overlap only in one slot: the check a batch passes before it is stored.

A device uses one slice length at a time and a new length starts on a boundary of
both, so a slice that overlaps one already stored is manufactured time (a 60 s slice
plus 59 one-second slices made 119 s of one minute).  The same holds across a
chatter's devices: activity counts the most of the chatter's slices per slice start,
which is right only when overlapping slices share start and length (the same slot:
two computers online at once count once).  So a slice may overlap a stored slice of
the same chatter only when both are the same slot.  Every allowed length divides 60,
so a stored slice that overlaps ``[start, end)`` starts after ``start - 60 s``: one
range query per run of the batch on the (chatter_id, start) index finds every
candidate, whatever the size of the chatter's history.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, or_, select

from collector.db.base import UTCDateTime
from collector.db.direct import Fixed
from collector.db.models import Slice
from collector.db.text import count_of
from collector.errors import ApiError
from shared.protocol import ALLOWED_SLICE_SECONDS, format_time

S = cast(Table, Slice.__table__)
LONGEST = dt.timedelta(seconds=max(ALLOWED_SLICE_SECONDS))
_RANGES_PER_QUERY = 100
MAX_LISTED = 100  # slices named in one refusal, as the validation problems are capped
_NAMED_PER_SLICE = 10


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """Where a slice lies: ``[start, start + seconds)``; ``seq`` tells a re-send,
    ``device`` whose it is (0 for a slice of the batch: the sending device's)."""

    start: dt.datetime
    seconds: int
    seq: int
    device: int = 0

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.seconds)

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def same_slot(self, other: Span) -> bool:
        return self.start == other.start and self.seconds == other.seconds

    def resends(self, stored: Span) -> bool:
        """The same slice again: same start and length (or same seq, for rows from
        before lengths were recorded, whose length is only a lower bound)."""
        return self.start == stored.start and (
            self.seconds == stored.seconds or self.seq == stored.seq
        )

    def describe(self) -> str:
        return f"{format_time(self.start)} ({self.seconds} s)"


def ranges_of(spans: Sequence[Span]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Merged start ranges (exclusive) where a stored overlapping slice can begin."""
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for span in sorted(spans):
        low, high = span.start - LONGEST, span.end
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


@functools.cache
def near_query(count: int) -> Fixed:
    """Slices of a chatter starting inside any of ``count`` ranges: index range scans only.

    Built once per count and bound per call: building the statement for every batch
    cost more than running it (``make bench``, heartbeat 1-slice)."""
    return Fixed(
        select(S.c.start, S.c.slice_seconds, S.c.seq, S.c.device_id).where(
            S.c.chatter_id == bindparam("chatter"),
            or_(
                *(
                    and_(
                        S.c.start > bindparam(f"low{i}", type_=UTCDateTime()),
                        S.c.start < bindparam(f"high{i}", type_=UTCDateTime()),
                    )
                    for i in range(count)
                )
            ),
        )
    )


def stored_near(connection: Connection, chatter_id: int, spans: Sequence[Span]) -> list[Span]:
    """The chatter's stored slices (of every device) that may overlap these spans."""
    ranges = ranges_of(spans)
    found: list[Span] = []
    for i in range(0, len(ranges), _RANGES_PER_QUERY):
        part = ranges[i : i + _RANGES_PER_QUERY]
        values: dict[str, Any] = {"chatter": chatter_id}
        for j, (low, high) in enumerate(part):
            values[f"low{j}"], values[f"high{j}"] = low, high
        found += [Span(*row) for row in near_query(len(part)).rows(connection, values)]
    return sorted(found)


def _allowed(span: Span, hits: Sequence[Span], device_id: int) -> bool:
    """A re-send of the device's own slice (stored once: the insert skips it), or the
    same slot as every stored slice it overlaps (another device online at once)."""
    own = any(h.device == device_id and span.resends(h) for h in hits)
    return own or all(span.same_slot(h) for h in hits)


def refuse_overlaps(
    connection: Connection, chatter_id: int, device_id: int, spans: Sequence[Span], batch_id: str
) -> None:
    """Raise 422 naming every slice of the batch that overlaps a stored one of the
    chatter in another slot.

    The caller holds the chatter's lock (locks.SLICES), so no other batch of any of
    the chatter's devices stores anything between this check and the insert.  Slices
    of one batch cannot overlap each other: they share one length, are aligned to it,
    and their starts differ (shared.protocol.validate_batch).
    """
    if not spans:
        return
    stored = stored_near(connection, chatter_id, spans)
    starts = [s.start for s in stored]
    problems = []
    for i, span in enumerate(spans):
        first = bisect.bisect_right(starts, span.start - LONGEST)
        last = bisect.bisect_left(starts, span.end)
        hits = [s for s in stored[first:last] if s.overlaps(span)]
        if _allowed(span, hits, device_id):
            continue
        named = ", ".join(s.describe() for s in hits[:_NAMED_PER_SLICE])
        more = f" and {len(hits) - _NAMED_PER_SLICE} more" if len(hits) > _NAMED_PER_SLICE else ""
        problems.append(
            {
                "field": f"heartbeats[{i}].start",
                "message": f"{span.describe()} overlaps stored slice(s) {named}{more}",
            }
        )
    if problems:
        listed = "" if len(problems) <= MAX_LISTED else f" (first {MAX_LISTED} listed)"
        raise ApiError(
            422,
            "overlapping_slices",
            f"{count_of(len(problems), 'slice')} of batch {batch_id} "
            f"{'overlaps' if len(problems) == 1 else 'overlap'} slices the chatter's devices "
            f"already stored{listed}; a chatter's slices of one moment share one start and "
            "length, and a new length starts on a boundary of both; nothing was stored",
            problems[:MAX_LISTED],
        )
