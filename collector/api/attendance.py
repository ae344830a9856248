"""Attendance and coverage for managers (METRICS.md, "Attendance" and "Coverage").

The views live in collector/attendance/reports.py; this blueprint checks the caller
(an API token, or the dashboard's session: a team lead sees only their creators) and
sends JSON or an export.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, request

from collector.attendance import reports as attendance
from collector.auth.roles import MANAGERS
from collector.http.auth import require_caller
from collector.http.database import db
from collector.http.exports import report_response
from collector.stats import reports

bp = Blueprint("attendance", __name__, url_prefix="/api/v1/stats")


def _request() -> reports.Request:
    session = db.session
    return reports.build_request(session, require_caller(session, *MANAGERS), request.args)


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
    return report_response(attendance.coverage(db.session, req), req.fmt)
