"""What each chatter did under each pay rule of a period, read fast: time and sales from the
stats rollups (one read per distinct run of days), scheduled time from the shifts.

collector/payroll/reference.py computes the same from raw rows; the property test holds
the two together.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from collector.attendance.queries import shifts_around
from collector.payroll.lines import Figures, Part
from collector.payroll.periods import PayPeriod
from collector.stats import queries
from collector.stats.periods import period as local_range


def measure(
    session: Session,
    period: PayPeriod,
    parts: Mapping[int, Sequence[Part]],
    tz: str,
    exclude_regular: bool,
) -> dict[tuple[int, dt.date], Figures]:
    """Figures per (chatter, first day of the part) for every part in ``parts``."""
    runs: dict[tuple[dt.date, dt.date], list[int]] = defaultdict(list)
    for chatter_id, mine in parts.items():
        for first, last, _ in mine:
            runs[(first, last)].append(chatter_id)
    out: dict[tuple[int, dt.date], Figures] = {}
    if not runs:
        return out
    whole = local_range(period.first, period.last, tz)
    shifts = shifts_around(session, whole.start, whole.end)
    connection = session.connection()
    for (first, last), chatters in runs.items():
        window = local_range(first, last, tz)
        # Every chatter of the run in one read: the rollups are grouped by chatter anyway.
        done = queries.totals(
            connection,
            queries.Selection(window, exclude_regular=exclude_regular),
            {},
            medians=False,
        )
        scheduled: dict[int, int] = defaultdict(int)
        for shift in shifts:
            # A shift counts in full in the period of the day it starts (METRICS.md).
            if window.start <= shift.starts_at < window.end:
                scheduled[shift.chatter_id] += shift.seconds
        for chatter_id in chatters:
            m = done.get(chatter_id)
            out[(chatter_id, first)] = Figures(
                online_seconds=m.online_seconds if m else 0,
                active_seconds=m.active_seconds if m else 0,
                scheduled_seconds=scheduled.get(chatter_id, 0),
                ppv_minor=m.ppv_sales if m else 0,
                tips_minor=m.tips if m else 0,
                refunds_minor=m.refunds if m else 0,
            )
    return out


__all__ = ["measure"]
