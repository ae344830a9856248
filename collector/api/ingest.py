"""What agents and integrations send: enrollment, heartbeats, events."""

from __future__ import annotations

from typing import TypeVar

import msgspec
from flask import Blueprint, Response, request

from collector.db.engine import begin_write, then_write
from collector.db.settings import agent_settings
from collector.db.text import count_of
from collector.devices import enrollment, keys, management
from collector.errors import ApiError
from collector.http.auth import require_token, verify_agent
from collector.http.database import db
from collector.http.jsonio import json_response, read_body
from collector.ingest import events, heartbeats
from collector.telemetry import meters
from shared.events import MAX_EVENTS_BODY
from shared.protocol import (
    MAX_HEARTBEAT_BODY,
    EnrollRequest,
    RetireReply,
    RetireRequest,
    problem_text,
    utc_now,
)

bp = Blueprint("ingest", __name__, url_prefix="/api/v1")

_enroll_decoder = msgspec.json.Decoder(EnrollRequest)
_retire_decoder = msgspec.json.Decoder(RetireRequest)

T = TypeVar("T")


def _decode(decoder: msgspec.json.Decoder[T], body: bytes) -> T:
    """A request body as its message: 422 when it is JSON of another shape, 400 when not JSON."""
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_request", problem_text(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc}") from None


@bp.post("/agents/enroll")
def enroll() -> Response:
    req = _decode(_enroll_decoder, read_body(64 * 1024))
    session = db.session
    begin_write(session)
    reply = enrollment.enroll(session, req, utc_now())
    session.commit()
    return json_response(reply, 201)


@bp.post("/agents/rotate-key")
def rotate_key() -> Response:
    body = read_body(64 * 1024)
    session = db.session
    begin_write(session)
    now = utc_now()
    caller = verify_agent(session.connection(), body, now)
    reply = keys.rotate_key(session, caller, now)
    session.commit()
    return json_response(reply)


@bp.post("/agents/retire")
def retire() -> Response:
    """The agent is being uninstalled: the device shows as such (signed like a batch)."""
    body = read_body(64 * 1024)
    session = db.session
    begin_write(session)
    now = utc_now()
    caller = verify_agent(session.connection(), body, now)
    req = _decode(_retire_decoder, body)
    uid = management.retire(session, caller.device_id, req.unsent_slices, now, caller.signed_at)
    session.commit()
    return json_response(RetireReply(device_id=uid, retired_at=now))


@bp.post("/heartbeats")
def post_heartbeats() -> Response:
    body = read_body(MAX_HEARTBEAT_BODY)
    now = utc_now()
    # The hottest path: one Core connection, no ORM session.  Verify and
    # validate in a read transaction; only the writes hold SQLite's write lock,
    # so workers check requests in parallel.
    with db.engine.connect() as connection:
        caller = verify_agent(connection, body, now)
        batch = heartbeats.decode_batch(body)
        try:
            settings = agent_settings(connection, caller.chatter_id)
            heartbeats.check_batch(batch, settings, now)
            with then_write(connection):
                reply = heartbeats.store_batch(connection, caller, batch, settings, now)
                keys.retire_older_keys(connection, caller, now)  # the agent has switched keys
        except ApiError:
            meters.HEARTBEATS.labels("refused").inc(len(batch.heartbeats))
            raise
    # Counted once committed: a batch that failed to commit was not accepted.
    meters.HEARTBEATS.labels("accepted").inc(reply.accepted)
    meters.HEARTBEATS.labels("duplicate").inc(reply.duplicates)
    return json_response(reply)


@bp.post("/events")
def post_events() -> Response:
    body = read_body(MAX_EVENTS_BODY)
    session = db.session
    begin_write(session)
    now = utc_now()
    token = require_token(session, "integration")
    raws = events.split_body(body, request.content_type or "")
    prepared = events.prepare(session, raws, source=events.source_label("api", token.name), now=now)
    if prepared.rejected:
        meters.EVENTS.labels("refused").inc(len(raws))
        raise ApiError(
            422,
            "invalid_events",
            f"{len(prepared.rejected)} of {count_of(len(raws), 'event')} rejected; "
            "nothing was stored",
            [r.as_dict() for r in prepared.rejected],
        )
    stored = events.store(session, prepared.rows)
    session.commit()
    meters.EVENTS.labels("accepted").inc(stored.accepted)
    # The reply counts conflicts among its duplicates; the meters keep them apart.
    meters.EVENTS.labels("duplicate").inc(stored.duplicates - len(stored.conflicts))
    meters.EVENTS.labels("conflict").inc(len(stored.conflicts))
    return json_response(
        {
            "received": len(raws),
            "accepted": stored.accepted,
            "duplicates": stored.duplicates,
            "conflicts": stored.conflicts,
        }
    )
