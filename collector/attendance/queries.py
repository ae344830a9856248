"""The fast path's reads: shifts and coverage rules, links, and the stored sums."""

from __future__ import annotations

import datetime as dt
import gc
import zoneinfo
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from collector.attendance import kept, store
from collector.attendance.compute import Plan, Result, coverage_of, plan
from collector.attendance.definitions import Coverage, Need, Sums
from collector.db.models import ActivityQuarter, chatter_creators
from collector.db.schedule_models import CoverageRule, Shift, ShiftException
from collector.shifts.occurrences import Change, Occurrence, ShiftRule, occurrences
from collector.shifts.queries import rule_of


def shifts_around(session: Session, start: dt.datetime, end: dt.datetime) -> tuple[Occurrence, ...]:
    """Every occurrence overlapping [start, end), of every creator.

    As collector.shifts.queries.load_occurrences, with the placing (a zone conversion per
    shift and day: 20,000 of them for 200 chatters over 90 days) remembered for the same
    stored rules, exceptions and range, which is what a page reloaded or paged asks again.
    """
    query = select(Shift).where(
        Shift.first_day <= (end + dt.timedelta(days=1)).date(),
        (Shift.last_day.is_(None)) | (Shift.last_day >= (start - dt.timedelta(days=2)).date()),
    )
    rules = tuple(rule_of(s) for s in session.scalars(query))
    if not rules:
        return ()
    changes = tuple(
        Change(e.shift_id, e.day, e.kind, e.replacement_chatter_id)
        for e in session.scalars(
            select(ShiftException)
            .where(
                ShiftException.day >= (start - dt.timedelta(days=2)).date(),
                ShiftException.day <= (end + dt.timedelta(days=1)).date(),
            )
            .order_by(ShiftException.id)
        )
    )
    return _placed(rules, changes, start, end)


@lru_cache(maxsize=16)
def _placed(
    rules: tuple[ShiftRule, ...],
    changes: tuple[Change, ...],
    start: dt.datetime,
    end: dt.datetime,
) -> tuple[Occurrence, ...]:
    return tuple(occurrences(rules, changes, start, end))


class _Same:
    """A key that is its object's identity: the placed occurrences above are one tuple
    for the same stored shifts, so their plan is found without hashing 15,000 of them."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value


@lru_cache(maxsize=16)
def _plan(shifts: _Same, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo) -> Plan:
    assert isinstance(shifts.value, tuple)
    return plan(first, last, tz, shifts.value)


def fast_attendance(
    session: Session,
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
    """As compute.attendance, from the stored spans; ``exclude_regular``: active time
    without regular input (the setting exclude_regular_input)."""
    connection = session.connection()

    def measure(wanted: Iterable[tuple[int, int, int]]) -> dict[tuple[int, int, int], Sums]:
        return store.span_sums(connection, wanted, exclude_regular=exclude_regular)

    with _collection_paused():
        # The plan is kept for the tuple shifts_around returns (the cache holds it, so its
        # identity is not reused); any other sequence is planned afresh.
        same = isinstance(shifts, tuple)
        p = _plan(_Same(shifts), first, last, tz) if same else plan(first, last, tz, shifts)
        return kept.attendance(
            connection,
            p,
            chatters,
            measure,
            grace=grace,
            now=now,
            creators=creators,
            exclude_regular=exclude_regular,
            keep=same,
        )


@contextmanager
def _collection_paused() -> Iterator[None]:
    """Python's cycle collector off while the view builds its 100,000-odd tuples: they
    hold no cycles, but each full collection walks every live object (the placed
    occurrences kept above among them), about a third of the warm view's time on the
    bench.  Nothing is freed later for it: unreferenced tuples go at once, by count."""
    if not gc.isenabled():  # paused already (another thread's view, or the caller)
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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
    shifts: Sequence[Occurrence],
    *,
    now: int,
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
        now=now,
    )
