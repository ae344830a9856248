"""Read-only statistics for managers (and chatters, about themselves).

The reports live in collector/stats/reports.py; this blueprint checks the
caller (an API token, or the dashboard's session) and sends JSON or an export.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from collector.auth import require_caller
from collector.db import db
from collector.jsonio import json_response
from collector.stats import reports

bp = Blueprint("stats", __name__, url_prefix="/api/v1/stats")

EVERYONE = ("admin", "manager", "chatter")
MANAGERS = ("admin", "manager")


def _send(report: reports.Report) -> Response:
    return report if isinstance(report, Response) else json_response(report)


def _request(*roles: str) -> reports.Request:
    session = db.session
    return reports.build_request(session, require_caller(session, *roles), request.args)


@bp.get("/chatters")
def chatters() -> Response:
    """All chatters' metrics for a range of local days (see METRICS.md)."""
    return _send(reports.chatters(db.session, _request(*EVERYONE)))


@bp.get("/chatters/<key>/daily")
def daily(key: str) -> Response:
    """One chatter's metrics per local day, every day of the range present."""
    return _send(reports.daily(db.session, _request(*EVERYONE), key))


@bp.get("/top")
def top() -> Response:
    """Chatters ranked by a measure, with each one's share of the total."""
    return _send(reports.top(db.session, _request(*MANAGERS)))


@bp.get("/revenue")
def revenue() -> Response:
    """PPV sales and tips per local day or hour, for all creators or one (or one chatter)."""
    return _send(reports.revenue(db.session, _request(*EVERYONE)))
