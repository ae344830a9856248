"""Scheduled time as the pages and the By-chatter export show it: up to now, with what is
still to come apart.

The attendance view (collector/attendance/reports.py) totals every shift *starting* in the
range, so on a range that includes today its ``shifts`` and ``scheduled_seconds`` count
the shifts that have not started yet (and all of a running one), while online, active,
late and no-show can only count what has happened.  The pages show, per chatter, the
shifts started so far and the scheduled time up to now, and the rest as "+… to come":
the two parts add up to the API's figures, which the exports keep (METRICS.md,
"Attendance"), next to their "so far" columns (reports.py).  The shifts are the view's
own (``queries.shifts_around``, remembered for the same range), kept as it keeps them: of
the chatter, starting in the range, of the creators selected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from collector.attendance import queries
from collector.stats import reports


@dataclass(frozen=True)
class ToCome:
    """A chatter's shifts of the range not started yet, and the scheduled seconds after
    now (of those and of a running one)."""

    shifts: int = 0
    seconds: int = 0


NOTHING = ToCome()


def to_come(
    session: Session, req: reports.Request, now: dt.datetime, chatters: Collection[int]
) -> dict[int, ToCome]:
    """Per chatter id (only those with something to come)."""
    period, creators = req.period, req.creator_ids
    moment = int(now.timestamp())  # as the view judges a shift: epoch seconds
    counts: dict[int, list[int]] = {}
    for o in queries.shifts_around(session, period.start, period.end):
        if o.chatter_id not in chatters or not period.start <= o.starts_at < period.end:
            continue
        if creators is not None and o.creator_id not in creators:
            continue
        start, end = int(o.starts_at.timestamp()), int(o.ends_at.timestamp())
        if end <= moment:
            continue
        found = counts.setdefault(o.chatter_id, [0, 0])
        found[0] += moment < start
        found[1] += end - max(start, moment)
    return {c: ToCome(n, s) for c, (n, s) in counts.items()}


def so_far(row: Mapping[str, Any], later: ToCome) -> dict[str, int]:
    """A chatter row's shifts and scheduled seconds up to now."""
    return {
        "shifts": row["shifts"] - later.shifts,
        "scheduled_seconds": row["scheduled_seconds"] - later.seconds,
    }


def annotate(
    session: Session, req: reports.Request, now: dt.datetime, rows: list[dict[str, Any]]
) -> None:
    """Add ``so_far`` and ``to_come`` to the attendance view's chatter rows."""
    ids = {p.key: p.id for p in req.people}
    later = to_come(session, req, now, {ids[r["chatter"]] for r in rows if r["chatter"] in ids})
    for row in rows:
        part = later.get(ids.get(row["chatter"], -1), NOTHING)
        row["so_far"] = so_far(row, part)
        row["to_come"] = part


__all__ = ["NOTHING", "ToCome", "annotate", "so_far", "to_come"]
