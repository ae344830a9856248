"""Conversation analytics (the website chat widget) for admins and managers.

The reports live in collector/conversations/reports.py; this blueprint checks
the caller (an API token, or the dashboard's session) and sends JSON or an
export.  The range parameters are the chatter stats' (start, end, tz, compare,
format).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from collector.auth import require_caller
from collector.conversations import reports
from collector.db import db
from collector.jsonio import json_response
from collector.stats.reports import Report, Request, build_request

bp = Blueprint("conversations", __name__, url_prefix="/api/v1/stats/conversations")

MANAGERS = ("admin", "manager")


def _send(report: Report) -> Response:
    return report if isinstance(report, Response) else json_response(report)


def _request() -> Request:
    session = db.session
    return build_request(session, require_caller(session, *MANAGERS), request.args)


@bp.get("")
def summary() -> Response:
    """Key figures, breakdown, top pages and auto messages for a range of local days."""
    return _send(reports.summary(db.session, _request()))


@bp.get("/agents")
def agents() -> Response:
    """The agent leaderboard with each agent's days."""
    return _send(reports.agents(db.session, _request()))


@bp.get("/trends")
def trends() -> Response:
    """Every figure per local day or hour; requests by hour of the day."""
    return _send(reports.trends(db.session, _request()))


@bp.get("/nps")
def nps() -> Response:
    """Ratings distribution and the feedback detail (page, per_page)."""
    return _send(reports.nps(db.session, _request()))
