"""Conversation analytics (the website chat widget) for admins and managers.

The reports live in collector/conversations/reports.py; this blueprint checks
the caller (an API token, or the dashboard's session) and sends JSON or an
export.  The range parameters are the chatter stats' (start, end, tz, compare,
format).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from collector.auth.callers import refuse_limited
from collector.auth.roles import MANAGERS
from collector.conversations import reports
from collector.http.auth import require_caller
from collector.http.database import db
from collector.http.exports import report_response
from collector.stats.reports import Request, build_request

bp = Blueprint("conversations", __name__, url_prefix="/api/v1/stats/conversations")


def _request() -> Request:
    session = db.session
    # The shop's conversations are no creator's: a manager limited to creators is refused.
    caller = refuse_limited(require_caller(session, *MANAGERS), "conversation analytics")
    return build_request(session, caller, request.args)


@bp.get("")
def summary() -> Response:
    """Key figures, breakdown, top pages and auto messages for a range of local days."""
    req = _request()
    return report_response(reports.summary(db.session, req), req.fmt)


@bp.get("/agents")
def agents() -> Response:
    """The agent leaderboard with each agent's days."""
    req = _request()
    return report_response(reports.agents(db.session, req), req.fmt)


@bp.get("/trends")
def trends() -> Response:
    """Every figure per local day or hour; requests by hour of the day."""
    req = _request()
    return report_response(reports.trends(db.session, req), req.fmt)


@bp.get("/nps")
def nps() -> Response:
    """Ratings distribution and the feedback detail (page, per_page)."""
    req = _request()
    return report_response(reports.nps(db.session, req), req.fmt)
