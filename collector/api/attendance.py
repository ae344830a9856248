"""Attendance and coverage for managers (METRICS.md, "Attendance" and "Coverage"), and
a chatter's own: their attendance and their shifts ahead (a chatter only their own).

The views live in collector/attendance/reports.py and collector/shifts/ahead.py; this
blueprint checks the caller (an API token, or the dashboard's session: a team lead sees
only their creators) and sends JSON or an export.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, request

from collector.attendance import reports as attendance
from collector.auth.roles import MANAGERS, READERS
from collector.db import text
from collector.db.settings import get_value
from collector.errors import ApiError
from collector.http.auth import require_caller
from collector.http.database import db
from collector.http.exports import report_response
from collector.http.jsonio import json_response
from collector.shifts import ahead
from collector.stats import reports
from collector.stats.periods import PeriodError, zone

bp = Blueprint("attendance", __name__, url_prefix="/api/v1/stats")


def _request(*roles: str, **more: str) -> reports.Request:
    session = db.session
    args = {**request.args.to_dict(), **more}
    return reports.build_request(session, require_caller(session, *(roles or MANAGERS)), args)


@bp.get("/attendance")
def attendance_view() -> Response:
    """Shift occurrences starting in the range with online, active, paused time, late
    start, early leave and no-show; per-chatter totals with time outside shifts."""
    req = _request()
    return report_response(attendance.attendance(db.session, req, dt.datetime.now(dt.UTC)), req.fmt)


@bp.get("/coverage")
def coverage_view() -> Response:
    """Per creator and local hour of the day: chatters required, online, uncovered hours."""
    req = _request()
    return report_response(attendance.coverage(db.session, req, dt.datetime.now(dt.UTC)), req.fmt)


@bp.get("/chatters/<key>/attendance")
def chatter_attendance(key: str) -> Response:
    """One chatter's attendance: the view above with ``chatter``, for a chatter too (their
    own only, else 403), so the chatter reads the numbers their manager reads."""
    req = _request(*READERS, chatter=key)
    reports.find_chatter(req, key)  # a chatter: their own only
    return report_response(attendance.attendance(db.session, req, dt.datetime.now(dt.UTC)), req.fmt)


@bp.get("/chatters/<key>/shifts")
def chatter_shifts(key: str) -> Response:
    """The shifts a chatter works from now to the end of the ``days``-th local day of
    ``tz`` (today the first, default 7), a running one included; a chatter their own only."""
    session = db.session
    days = text.whole_parameter(request.args, "days", ahead.DEFAULT_DAYS, ahead.MAX_DAYS)
    now = dt.datetime.now(dt.UTC)
    try:
        tz = zone(request.args.get("tz") or str(get_value(session, "agency_timezone")))
    except PeriodError as exc:
        raise ApiError(400, "bad_parameter", str(exc)) from None
    today = now.astimezone(tz).date().isoformat()
    # The stats selection for who may see whom (any valid range: only the caller counts).
    req = reports.build_request(
        session,
        require_caller(session, *READERS),
        {"start": today, "end": today, "tz": tz.key},
    )
    person = reports.find_chatter(req, key)
    body = ahead.shifts_ahead(
        session, person.id, tz, now, days, req.creator_ids, req.visible_chatters
    )
    return json_response({"chatter": {"key": person.key, "name": person.name}, **body})
