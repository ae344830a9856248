"""Read-only statistics for managers (and chatters, about themselves).

The reports live in collector/stats/reports.py; this blueprint checks the
caller (an API token, or the dashboard's session) and sends JSON or an export.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from collector.auth.roles import MANAGERS, READERS
from collector.http.auth import require_caller
from collector.http.database import db
from collector.http.exports import report_response
from collector.stats import fans, reports

bp = Blueprint("stats", __name__, url_prefix="/api/v1/stats")


def _request(*roles: str) -> reports.Request:
    session = db.session
    return reports.build_request(session, require_caller(session, *roles), request.args)


@bp.get("/chatters")
def chatters() -> Response:
    """All chatters' metrics for a range of local days (see METRICS.md)."""
    req = _request(*READERS)
    return report_response(reports.chatters(db.session, req), req.fmt)


@bp.get("/chatters/<key>/daily")
def daily(key: str) -> Response:
    """One chatter's metrics per local day, every day of the range present."""
    req = _request(*READERS)
    return report_response(reports.daily(db.session, req, key), req.fmt)


@bp.get("/chatters/<key>/breakdown")
def breakdown(key: str) -> Response:
    """One chatter's revenue by creator and by kind (PPV sales, tips, refunds, net)."""
    req = _request(*READERS)
    return report_response(fans.breakdown(db.session, req, key), req.fmt)


@bp.get("/chatters/<key>/fans")
def chatter_fans(key: str) -> Response:
    """One chatter's fan interactions, searched, sorted and paged (exports: every fan)."""
    req = _request(*READERS)
    return report_response(fans.fans(db.session, req, key), req.fmt)


@bp.get("/top")
def top() -> Response:
    """Chatters ranked by a measure, with each one's share of the total."""
    req = _request(*MANAGERS)
    return report_response(reports.top(db.session, req), req.fmt)


@bp.get("/revenue")
def revenue() -> Response:
    """PPV sales and tips per local day or hour, for all creators or one (or one chatter)."""
    req = _request(*READERS)
    return report_response(reports.revenue(db.session, req), req.fmt)
