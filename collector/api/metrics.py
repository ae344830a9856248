"""``GET /metrics``: the Prometheus text format, for a bearer token of role ``metrics``.

Not in the OpenAPI document: it is no JSON resource but the Prometheus exposition
format, read by a scraper rather than an integration (README, Operations).
"""

from __future__ import annotations

import hashlib
import time

from flask import Blueprint, Response, request
from sqlalchemy.exc import OperationalError

from collector.auth.roles import SCRAPERS
from collector.http import metrics
from collector.http.auth import require_token
from collector.http.database import db
from shared.protocol import utc_now

bp = Blueprint("metrics", __name__)

# Scrapers the database vouched for lately (a digest of the header, never the token):
# during an outage the token cannot be checked, yet the outage is what the scrape must
# show (chattertrack_database_up 0), so a scraper confirmed within the hour still gets in.
_CONFIRMED: dict[str, float] = {}
_TRUST_SECONDS = 3600.0


@bp.get("/metrics")
def scrape() -> Response:
    session = db.session
    digest = hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()
    try:
        require_token(session, *SCRAPERS)
    except OperationalError:
        session.rollback()
        if time.monotonic() - _CONFIRMED.get(digest, -_TRUST_SECONDS) >= _TRUST_SECONDS:
            raise
    else:
        _CONFIRMED[digest] = time.monotonic()
        session.rollback()  # the figures are read on their own connection
    return metrics.exposition(db.engine, utc_now())
