"""``GET /metrics``: the Prometheus text format, for a bearer token of role ``metrics``.

Not in the OpenAPI document: it is no JSON resource but the Prometheus exposition
format, read by a scraper rather than an integration (README, Operations).
"""

from __future__ import annotations

from flask import Blueprint, Response

from collector.auth.roles import SCRAPERS
from collector.http import metrics
from collector.http.auth import require_token
from collector.http.database import db
from shared.protocol import utc_now

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape() -> Response:
    session = db.session
    require_token(session, *SCRAPERS)
    session.rollback()  # the figures are read on their own connection
    return metrics.exposition(db.engine, utc_now())
