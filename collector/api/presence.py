"""Live presence: agents report their state every 30 s; managers read who is there now."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, current_app

from collector.auth.roles import MANAGERS
from collector.db.engine import write_transaction
from collector.http.auth import require_caller, verify_agent
from collector.http.database import db
from collector.http.jsonio import json_response, read_body
from collector.ingest import presence as ingest_presence
from collector.presence import board, state
from collector.shifts.queries import load_occurrences
from shared.protocol import MAX_PRESENCE_BODY, PresenceReply, utc_now

bp = Blueprint("presence", __name__, url_prefix="/api/v1")


@bp.post("/agents/presence")
def post_presence() -> Response:
    """Signed like a heartbeat batch; the device's newest message is kept, at most one
    every ``PRESENCE_MIN_INTERVAL_SECONDS`` (429 with Retry-After sooner); an uninstalled
    device's is refused (409)."""
    body = read_body(MAX_PRESENCE_BODY)
    now = utc_now()
    # Like heartbeats: verify and decode in a read transaction, hold the write lock only
    # for the one upsert.
    with db.engine.connect() as connection:
        caller = verify_agent(connection, body, now)
        message = ingest_presence.decode(body)
        sent_at = ingest_presence.check(message, now)
        connection.rollback()
        with write_transaction(connection):
            stored = ingest_presence.store(
                connection, caller, message, sent_at, now, min_interval()
            )
    return json_response(PresenceReply(stored=stored, server_time=now))


def min_interval() -> dt.timedelta:
    """The least time between two taken messages of a device (``CHATTER_PRESENCE_MIN_INTERVAL``)."""
    seconds = current_app.config.get("PRESENCE_MIN_INTERVAL_SECONDS")
    return state.MIN_INTERVAL if seconds is None else dt.timedelta(seconds=float(seconds))


def current_board(now: dt.datetime, creator_limit: frozenset[int] | None) -> board.Board:
    """The board as of ``now``: who is scheduled (``collector.shifts``) against presence."""
    session = db.session
    scheduled = load_occurrences(
        session, now, now + dt.timedelta(seconds=1), creator_ids=creator_limit
    )
    return board.build(session, now, scheduled, creator_limit)


@bp.get("/presence")
def get_presence() -> Response:
    """Every chatter's state now (active, idle, paused, offline) and, per creator, who is
    scheduled now and how they are doing, and who is online without a shift.  A team
    lead sees only their creators and those creators' chatters."""
    caller = require_caller(db.session, *MANAGERS)
    return json_response(board.as_dict(current_board(utc_now(), caller.creators)))
