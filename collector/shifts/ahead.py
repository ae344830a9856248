"""A chatter's shifts ahead: what they work from now to the end of a number of local days.

One builder for the chatter's page (pages/chatter_shifts.py) and
``GET /api/v1/stats/chatters/{key}/shifts``, over ``listing.planned`` (their own shifts
and the days swapped to them; cancelled days left out) and ``listing.occurrence_row``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.db.models import Creator
from collector.shifts import listing
from collector.shifts.manage import Scope

DEFAULT_DAYS = 7
MAX_DAYS = listing.MAX_RANGE_DAYS


def shifts_ahead(
    session: Session,
    chatter_id: int,
    tz: zoneinfo.ZoneInfo,
    now: dt.datetime,
    days: int = DEFAULT_DAYS,
    scope: Scope = None,
    visible: Collection[int] | None = None,
) -> dict[str, Any]:
    """From ``now`` to the end of the ``days``-th local day of ``tz`` (today the first),
    a running shift included, by start; ``scope``: of these creators only; ``visible``:
    the chatters the caller may see named (``listing.occurrence_row``; None: all)."""
    today = now.astimezone(tz).date()
    last = today + dt.timedelta(days=days - 1)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    found = listing.planned(session, now, end, scope, chatter_id=chatter_id, with_cancelled=False)
    names = listing.keys(session)
    creator_names = dict(session.execute(select(Creator.key, Creator.name)).all())
    rows = []
    for item in sorted(found, key=lambda p: (p.occurrence.starts_at, p.occurrence.shift_id)):
        row = listing.occurrence_row(item, names, tz, visible)
        row["creator_name"] = creator_names.get(row["creator"], "")
        row["in_progress"] = item.occurrence.starts_at <= now
        rows.append(row)
    return {"tz": tz.key, "from": today.isoformat(), "to": last.isoformat(), "shifts": rows}


__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "shifts_ahead"]
