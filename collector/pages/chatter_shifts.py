"""A chatter's page's schedule: their shifts of the next 7 days and their attendance of
the last 14 local days, in the page's zone.

The same numbers as the manager's Attendance page and the API, from the same builders:
the shifts are the occurrences the chatter works (``shifts.ahead``: their own and the
days swapped to them, cancelled days left out), as
``GET /api/v1/stats/chatters/{key}/shifts`` sends them; the attendance is the attendance
view for the chatter (``attendance.reports.attendance`` with ``chatter``), as
``GET /api/v1/stats/chatters/{key}/attendance`` and the Attendance page show it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from collector.attendance import reports as attendance
from collector.attendance import scheduled
from collector.pages import report_request
from collector.pages.attendance import shown_shifts
from collector.pages.selection import PageSelection
from collector.shifts import ahead
from collector.stats import reports
from collector.stats.periods import zone
from shared.protocol import utc_now

UPCOMING_DAYS = ahead.DEFAULT_DAYS
RECENT_DAYS = 14


def upcoming(
    session: Session, req: reports.Request, person: reports.Person, tz_name: str, now: dt.datetime
) -> dict[str, Any]:
    """The API's /shifts body: the shifts the chatter works in the next 7 local days
    (today the first), of the creators the caller sees."""
    body = ahead.shifts_ahead(
        session,
        person.id,
        zone(tz_name),
        now,
        UPCOMING_DAYS,
        req.creator_ids,
        req.visible_chatters,
    )
    return {"chatter": {"key": person.key, "name": person.name}, **body}


def recent_args(tz_name: str, now: dt.datetime, key: str) -> dict[str, str]:
    """The attendance view's selection for a chatter's last 14 local days (today the last)."""
    today = now.astimezone(zone(tz_name)).date()
    return {
        "start": (today - dt.timedelta(days=RECENT_DAYS - 1)).isoformat(),
        "end": today.isoformat(),
        "tz": tz_name,
        "chatter": key,
        "per_page": str(attendance.MAX_PER_PAGE),  # 14 days of one chatter: one page
    }


def context(
    session: Session, req: reports.Request, person: reports.Person, sel: PageSelection
) -> dict[str, Any]:
    """The page's two schedule sections, in the page's zone."""
    now = utc_now()
    coming = upcoming(session, req, person, sel.tz, now)
    for row in coming["shifts"]:
        row["starts"] = dt.datetime.fromisoformat(row["local_start"])
        row["ends"] = dt.datetime.fromisoformat(row["local_end"])
        # Scheduled in another zone: its own wall times too, as the manager set them.
        if row["zone"] != sel.tz:
            own = zone(row["zone"])
            row["own_zone"] = (
                f"{row['starts'].astimezone(own):%H:%M}–{row['ends'].astimezone(own):%H:%M} "
                f"{row['zone']}"
            )
    recent_req = report_request(recent_args(sel.tz, now, person.key))
    body = attendance.attendance(session, recent_req, now)
    assert isinstance(body, dict)
    shown_shifts(body["shifts"])
    body["shifts"].reverse()  # the latest first
    scheduled.annotate(session, recent_req, now, body["chatters"])
    return {"upcoming": coming, "recent": body}


__all__ = ["RECENT_DAYS", "UPCOMING_DAYS", "context", "recent_args", "upcoming"]
