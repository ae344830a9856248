"""The fast path's reads: shifts and coverage rules, links, and the stored sums."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Collection, Iterable

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from collector.attendance import store
from collector.attendance.compute import Result, attendance, coverage_of
from collector.attendance.definitions import Coverage, Need, Sums
from collector.db.models import ActivityQuarter, chatter_creators
from collector.db.schedule_models import CoverageRule
from collector.shifts.occurrences import Occurrence
from collector.shifts.queries import load_occurrences


def shifts_around(session: Session, start: dt.datetime, end: dt.datetime) -> list[Occurrence]:
    """Every occurrence overlapping [start, end), of every creator."""
    return load_occurrences(session, start, end)


def fast_attendance(
    session: Session,
    first: dt.date,
    last: dt.date,
    tz: zoneinfo.ZoneInfo,
    chatters: Collection[int],
    shifts: list[Occurrence],
    *,
    grace: int,
    now: int,
    creators: Collection[int] | None = None,
) -> Result:
    connection = session.connection()

    def measure(wanted: Iterable[tuple[int, int, int]]) -> dict[tuple[int, int, int], Sums]:
        return store.span_sums(connection, wanted)

    return attendance(
        first, last, tz, chatters, shifts, measure, grace=grace, now=now, creators=creators
    )


def needs(db: Session | Connection, creators: Collection[int]) -> list[Need]:
    query = select(CoverageRule).where(CoverageRule.creator_id.in_(sorted(creators)))
    session = db if isinstance(db, Session) else Session(bind=db)
    return [
        Need(r.id, r.creator_id, r.zone, r.weekdays, r.start_minute, r.end_minute, r.required)
        for r in session.scalars(query)
    ]


def links(db: Session | Connection) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for chatter, creator in db.execute(
        select(chatter_creators.c.chatter_id, chatter_creators.c.creator_id)
    ):
        out[chatter].add(creator)
    return out


def fast_coverage(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    tz: zoneinfo.ZoneInfo,
    creators: Collection[int],
    shifts: list[Occurrence],
) -> Coverage:
    lo, hi = int(start.timestamp()), int(end.timestamp())
    quarters = session.execute(
        select(ActivityQuarter.chatter_id, ActivityQuarter.bucket, ActivityQuarter.online_seconds)
        .where(ActivityQuarter.bucket >= lo, ActivityQuarter.bucket < hi)
        .where(ActivityQuarter.online_seconds > 0)
    )
    return coverage_of(
        lo,
        hi,
        tz,
        sorted(creators),
        needs(session, creators),
        shifts,
        links(session),
        [(c, b, v) for c, b, v in quarters],
    )
