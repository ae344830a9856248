"""Sale corrections: see a sale's credit and reassign it, with an audit trail."""

from __future__ import annotations

from typing import Any

import msgspec
from flask import Blueprint, Response

from collector.agency import sales
from collector.auth.roles import MANAGERS
from collector.db.engine import begin_write
from collector.db.settings import currency_exponent
from collector.errors import ApiError, DomainError
from collector.http.auth import require_token
from collector.http.database import db
from collector.http.jsonio import json_response, read_body
from shared.money import format_amount
from shared.protocol import utc_now

bp = Blueprint("sales", __name__, url_prefix="/api/v1/sales")


class ReassignRequest(msgspec.Struct, forbid_unknown_fields=True):
    # None (JSON null) hands the sale back to the automatic attribution rules.
    chatter: str | None
    reason: str


_decoder = msgspec.json.Decoder(ReassignRequest)


def _shown(body: dict[str, Any], exponent: int) -> dict[str, Any]:
    minor = body.pop("amount_minor")
    body["amount"] = None if minor is None else format_amount(minor, exponent)
    return body


@bp.get("/<event_id>")
def show(event_id: str) -> Response:
    session = db.session
    require_token(session, *MANAGERS)
    try:
        sale = sales.find_sale(session, event_id)
    except DomainError as exc:
        raise ApiError(exc.status, "not_a_sale", exc.message) from None
    _, exponent = currency_exponent(session)
    return json_response(_shown(sales.describe(session, sale), exponent))


@bp.post("/<event_id>/reassign")
def reassign(event_id: str) -> Response:
    session = db.session
    begin_write(session)
    token = require_token(session, *MANAGERS)
    try:
        body = _decoder.decode(read_body(64 * 1024))
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ApiError(
            400, "bad_request", f'send {{"chatter": KEY or null, "reason": TEXT}}: {exc}'
        ) from None
    try:
        result = sales.reassign(
            session, event_id, body.chatter, body.reason, f"token:{token.name}", utc_now()
        )
    except DomainError as exc:
        raise ApiError(exc.status, "cannot_reassign", exc.message, exc.details) from None
    _, exponent = currency_exponent(session)
    session.commit()
    return json_response(_shown(result, exponent))
