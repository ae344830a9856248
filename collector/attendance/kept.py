"""What a serving process keeps of each chatter's measured range, so a view asked again
(a dashboard reloaded, paged or exported) measures only the chatters whose minutes
changed since: 200 chatters' 90 days are 43,000 spans to look up and 15,000 shifts to
judge, one chatter's a few hundred.

A chatter's entry is the part of a ``compute.Result`` that is theirs (rows, days outside
shifts, totals), for one question: the range's plan, the creators asked for, the grace
and whether regular input counts.  It is used while the chatter's version of their
minutes (store.versions, renewed by every ingest and rebuild) is the one read before it
was measured, and while the clock has not reached a moment where one of their rows
could change status (compute.changes_after).  A chatter without a version yet is
measured every time, as store.span_sums does for their spans.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection

from collector.attendance import store
from collector.attendance.compute import Measure, Plan, Result, changes_after, measured
from collector.attendance.definitions import Attendance, Sums

_ENTRIES = 50_000  # about 250 views of 200 chatters; the least recently used go first


@dataclass(frozen=True, slots=True)
class _Entry:
    plan: Plan  # compared by identity: queries.py keeps one plan for the same shifts
    version: int | None  # None: measured for one view, never kept
    at: int  # measured as known at this moment (epoch seconds) ...
    until: int  # ... and the same up to, not including, this one
    rows: list[Attendance]
    outside: dict[tuple[int, dt.date], Sums]
    totals: tuple[int, ...] | None


_Key = tuple[str, int, int, frozenset[int] | None, int, bool]
_KEPT: OrderedDict[_Key, _Entry] = OrderedDict()
_LOCK = threading.Lock()


def attendance(
    connection: Connection,
    p: Plan,
    chatters: Collection[int],
    measure: Measure,
    *,
    grace: int,
    now: int,
    creators: Collection[int] | None = None,
    exclude_regular: bool = False,
    keep: bool = True,
) -> Result:
    """As compute.measured, measuring only the chatters not kept for this question;
    ``keep``: whether what is measured is kept (not for a plan made for one view)."""
    database = store.database_of(connection)
    wanted = frozenset(creators) if creators is not None else None
    # Read before the minutes are, as for the spans: what is kept is at least this new.
    versions = store.versions(connection, sorted(chatters))
    entries: dict[int, _Entry] = {}
    stale: list[int] = []
    with _LOCK:
        for c in chatters:
            key = (database, id(p), c, wanted, grace, exclude_regular)
            e = _KEPT.get(key)
            if e is not None and e.plan is p and e.version == versions[c] and e.at <= now < e.until:
                _KEPT.move_to_end(key)
                entries[c] = e
            else:
                stale.append(c)
    if stale:
        fresh = _measured(p, stale, measure, grace, now, creators, versions)
        entries.update(fresh)
        with _LOCK:
            for c, e in fresh.items():
                if keep and e.version is not None:
                    _KEPT[(database, id(p), c, wanted, grace, exclude_regular)] = e
            while len(_KEPT) > _ENTRIES:
                _KEPT.popitem(last=False)
    return _assembled(p, entries, creators)


def _measured(
    p: Plan,
    chatters: list[int],
    measure: Measure,
    grace: int,
    now: int,
    creators: Collection[int] | None,
    versions: dict[int, int | None],
) -> dict[int, _Entry]:
    result = measured(p, chatters, measure, grace=grace, now=now, creators=creators)
    rows: dict[int, list[Attendance]] = defaultdict(list)
    for a in result.rows:
        rows[a.occurrence.chatter_id].append(a)
    outside: dict[int, dict[tuple[int, dt.date], Sums]] = defaultdict(dict)
    for key, sums in result.outside.items():
        outside[key[0]][key] = sums
    totals = result.totals
    return {
        c: _Entry(
            p,
            versions[c],
            now,
            changes_after(rows[c], now, grace),
            rows[c],
            outside[c],
            totals.get(c),
        )
        for c in chatters
    }


def _assembled(p: Plan, entries: dict[int, _Entry], creators: Collection[int] | None) -> Result:
    """One result from the chatters' entries: rows in the plan's order (by start, then
    shift), as compute.measured gives them."""
    mine = {c: iter(e.rows) for c, e in entries.items()}
    rows = [
        next(mine[o.chatter_id])
        for o, _, _ in p.rows
        if o.chatter_id in mine and (creators is None or o.creator_id in creators)
    ]
    outside: dict[tuple[int, dt.date], Sums] = {}
    totals: dict[int, tuple[int, ...]] = {}
    for c, e in entries.items():
        outside.update(e.outside)
        if e.totals is not None:
            totals[c] = e.totals
    return Result(rows, outside, totals)


def forget() -> None:
    """Drop everything kept (tests that rewrite a database under the same address)."""
    with _LOCK:
        _KEPT.clear()
