"""A period's pay from raw rows, the slow and obvious way: the reference the fast path
(collector/payroll/ledger.py ``computed``) is tested equal to.

Each day looks up the rule in force that day on its own; the figures of each run of days
come from ``collector.stats.metrics.compute`` over the raw events and slices, and the
scheduled time from the placed shift occurrences.  Only ``lines.pay`` is shared: it is
where METRICS.md's pay rules are written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from collector.payroll.lines import KINDS, Figures, Line, Part, pay
from collector.payroll.periods import PayPeriod
from collector.payroll.rules import Rule
from collector.shifts.occurrences import Occurrence
from collector.stats.metrics import EventRow, SliceRow, compute
from collector.stats.periods import period as local_range


def parts_of(rules: Sequence[tuple[dt.date, Rule]], period: PayPeriod) -> list[Part]:
    """Day by day, the rule in force (the latest starting on or before it), in runs."""
    out: list[Part] = []
    day = period.first
    run: tuple[dt.date, Rule] | None = None
    while day <= period.last:
        started = [(start, rule) for start, rule in rules if start <= day]
        today = max(started, key=lambda r: r[0]) if started else None
        if today is not None and run is not None and today[0] == run[0] and out:
            out[-1] = (out[-1][0], day, out[-1][2])
        elif today is not None:
            out.append((day, day, today[1]))
        run = today
        day += dt.timedelta(days=1)
    return out


def pay_of(
    period: PayPeriod,
    tz: str,
    *,
    events: Iterable[EventRow],
    slices: Iterable[SliceRow],
    shifts: Iterable[Occurrence],
    rules: Mapping[str, Sequence[tuple[dt.date, Rule]]],
    ids: Mapping[str, int],
    fee_basis_points: int,
    exclude_regular: bool = False,
    credit: Mapping[str, Any] | None = None,
) -> list[Line]:
    """``period``'s own lines, chatters named by key in the rows and by id (``ids``) in the
    lines.  ``credit``: extra arguments for ``compute``'s credit rules."""
    events, slices, shifts = list(events), list(slices), list(shifts)
    parts = {ids[key]: p for key, mine in rules.items() if (p := parts_of(mine, period))}
    figures: dict[tuple[int, dt.date], Figures] = {}
    runs: dict[tuple[dt.date, dt.date], list[str]] = {}
    for key, mine in rules.items():
        for first, last, _ in parts_of(mine, period):
            runs.setdefault((first, last), []).append(key)
    for (first, last), keys in runs.items():
        window = local_range(first, last, tz)
        done = compute(events, slices, window, exclude_regular=exclude_regular, **(credit or {}))
        for key in keys:
            m = done.get(key)
            scheduled = sum(
                s.seconds
                for s in shifts
                if s.chatter_id == ids[key] and window.start <= s.starts_at < window.end
            )
            figures[(ids[key], first)] = Figures(
                online_seconds=m.online_seconds if m else 0,
                active_seconds=m.active_seconds if m else 0,
                scheduled_seconds=scheduled,
                ppv_minor=m.ppv_sales if m else 0,
                tips_minor=m.tips if m else 0,
                refunds_minor=m.refunds if m else 0,
            )
    return pay(period, parts, figures, fee_basis_points)


def changes(now: Sequence[Line], paid: Sequence[Line]) -> list[Line]:
    """The adjustments a locked period owes: what its lines ``now`` add to the lines
    ``paid`` for it, key by key, where an amount changed (a line gone is taken back whole),
    in the ledger's order (by chatter, then kind, then part)."""
    was = {line.key: line for line in paid}
    out = []
    for line in now:
        change = line.minus(was.pop(line.key)) if line.key in was else line
        if change.amount_minor:
            out.append(change)
    out += [line.negated() for line in was.values() if line.amount_minor]
    return sorted(out, key=order)


def order(line: Line) -> tuple[Any, ...]:
    return (line.origin.first, line.chatter_id, KINDS.index(line.kind), line.part_first)


__all__ = ["changes", "order", "parts_of", "pay_of"]
