"""Alert rules (admin), alerts (managers; a team lead's login sees its creators' only),
and the delivery log (admin).  Every change is audited; nothing here sends anything:
the scheduler does (collector/alerts/schedule.py)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from flask import Blueprint, Response, current_app, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.alerts import lifecycle, messages, rules
from collector.auth.roles import MANAGERS
from collector.db import audit, text
from collector.db.alert_models import KINDS
from collector.db.engine import begin_write
from collector.db.models import Chatter
from collector.errors import ApiError, DomainError
from collector.http.auth import require_caller, require_token
from collector.http.database import db
from collector.http.jsonio import json_response, read_body
from collector.stats import reports
from shared.protocol import utc_now

bp = Blueprint("alerts", __name__, url_prefix="/api/v1")
ADMIN = ("admin",)
MAX_BODY = 64 * 1024
_DIGITS = re.compile("[0-9]{1,19}")  # ASCII only: str.isdigit() takes '²' too


class RuleBody(msgspec.Struct, forbid_unknown_fields=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    kind: str | msgspec.UnsetType = msgspec.UNSET
    threshold: int | msgspec.UnsetType = msgspec.UNSET
    creator: str | None | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    webhook_url: str | None | msgspec.UnsetType = msgspec.UNSET
    emails: list[str] | msgspec.UnsetType = msgspec.UNSET


_decoder = msgspec.json.Decoder(RuleBody)


def _body() -> rules.RuleInput:
    raw = read_body(MAX_BODY)
    try:
        body = _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_field", f"the rule is not valid: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "bad_request", f"the body is not JSON: {exc}") from None

    def given(value: Any) -> Any:
        return None if value is msgspec.UNSET else value

    return rules.RuleInput(
        name=given(body.name),
        kind=given(body.kind),
        threshold=given(body.threshold),
        creator=given(body.creator),
        creator_given=body.creator is not msgspec.UNSET,
        enabled=given(body.enabled),
        webhook_url="" if body.webhook_url is None else given(body.webhook_url),
        emails=given(body.emails),
    )


def _allow_private() -> bool:
    """CHATTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS (collector/config.py)."""
    return bool(current_app.config.get("ALERTS_ALLOW_PRIVATE_WEBHOOKS"))


def _fail(exc: DomainError, code: str) -> ApiError:
    return ApiError(
        exc.status, exc.code if exc.code != "bad_request" else code, exc.message, exc.details
    )


@bp.get("/alert-rules")
def list_rules() -> Response:
    session = db.session
    require_caller(session, *ADMIN)
    return json_response({"rules": [rules.describe(session, r) for r in rules.all_rules(session)]})


@bp.post("/alert-rules")
def create_rule() -> Response:
    session = db.session
    begin_write(session)
    token = require_token(session, *ADMIN)
    data = _body()
    now = utc_now()
    try:
        rule, secret = rules.create(session, data, now, allow_private=_allow_private())
    except DomainError as exc:
        raise _fail(exc, "invalid_rule") from None
    body = rules.describe(session, rule)
    audit.record(
        session,
        f"token:{token.name}",
        "alert_rule_create",
        f"alert_rule:{rule.id}",
        now,
        **_audited(body),
    )
    session.commit()
    # The secret is shown this once; afterwards only a rotation shows a new one.
    return json_response({**body, "webhook_secret": secret}, 201)


def _audited(body: dict[str, Any]) -> dict[str, Any]:
    return {
        k: body[k]
        for k in ("name", "kind", "threshold", "creator", "enabled", "webhook_url", "emails")
    }


def _rule(session: Session, rule_id: int) -> Any:
    try:
        return rules.get(session, rule_id)
    except DomainError as exc:
        raise ApiError(404, "not_found", exc.message) from None


@bp.get("/alert-rules/<int:rule_id>")
def show_rule(rule_id: int) -> Response:
    session = db.session
    require_caller(session, *ADMIN)
    return json_response(rules.describe(session, _rule(session, rule_id)))


@bp.patch("/alert-rules/<int:rule_id>")
def update_rule(rule_id: int) -> Response:
    session = db.session
    begin_write(session)
    token = require_token(session, *ADMIN)
    rule = _rule(session, rule_id)
    data = _body()
    now = utc_now()
    try:
        changed = rules.update(session, rule, data, now, allow_private=_allow_private())
    except DomainError as exc:
        raise _fail(exc, "invalid_rule") from None
    body = rules.describe(session, rule)
    if changed:
        audit.record(
            session,
            f"token:{token.name}",
            "alert_rule_update",
            f"alert_rule:{rule.id}",
            now,
            changed=changed,
            **_audited(body),
        )
    session.commit()
    return json_response(body)


@bp.delete("/alert-rules/<int:rule_id>")
def delete_rule(rule_id: int) -> Response:
    session = db.session
    begin_write(session)
    token = require_token(session, *ADMIN)
    rule = _rule(session, rule_id)
    body = rules.describe(session, rule)
    session.delete(rule)  # its alerts and their deliveries go with it
    audit.record(
        session,
        f"token:{token.name}",
        "alert_rule_delete",
        f"alert_rule:{rule_id}",
        utc_now(),
        **_audited(body),
    )
    session.commit()
    return Response(status=204)


@bp.post("/alert-rules/<int:rule_id>/rotate-secret")
def rotate_secret(rule_id: int) -> Response:
    session = db.session
    begin_write(session)
    token = require_token(session, *ADMIN)
    rule = _rule(session, rule_id)
    now = utc_now()
    secret = rules.rotate_secret(rule, now)
    audit.record(
        session, f"token:{token.name}", "alert_rule_rotate_secret", f"alert_rule:{rule.id}", now
    )
    session.commit()
    return json_response({"id": rule.id, "webhook_secret": secret})


def _limit() -> int:
    raw = request.args.get("limit", "100")
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= lifecycle.MAX_LIMIT:
        raise ApiError(400, "bad_parameter", f"limit={raw[:20]!r}: use 1 to {lifecycle.MAX_LIMIT}")
    return int(raw)


# No row has this id: the chatter filter of a team lead naming a key nobody has.
_NOBODY = 0


def _creator(session: Session, creators: frozenset[int] | None) -> int | None:
    """The creator filter: to a team lead, another creator's key and an unknown one are
    both 403 (stats.reports.visible_creator); to everyone else an unknown key is 400."""
    key = request.args.get("creator")
    if not key:
        return None
    text.check(key, "creator", status=400)
    return reports.visible_creator(session, creators, key).id


def _chatter(session: Session, creators: frozenset[int] | None) -> int | None:
    """The chatter filter: to a team lead an unknown key lists nothing, like a chatter of
    other creators does, so they learn nothing about which keys exist."""
    key = request.args.get("chatter")
    if not key:
        return None
    found = session.scalar(
        select(Chatter.id).where(Chatter.key == text.check(key, "chatter", status=400))
    )
    if found is None and creators is None:
        raise ApiError(400, "bad_parameter", f"unknown chatter {key[:64]!r}")
    return _NOBODY if found is None else int(found)


@bp.get("/alerts")
def list_alerts() -> Response:
    session = db.session
    caller = require_caller(session, *MANAGERS)
    state = request.args.get("state", "active")
    if state not in lifecycle.STATES:
        raise ApiError(
            400, "bad_parameter", f"state={state[:20]!r}: use one of {', '.join(lifecycle.STATES)}"
        )
    kind = request.args.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise ApiError(400, "bad_parameter", f"kind={kind[:20]!r}: use one of {', '.join(KINDS)}")
    found = lifecycle.listing(
        session,
        state=state,
        creators=caller.creators,
        creator_id=_creator(session, caller.creators),
        chatter_id=_chatter(session, caller.creators),
        kind=kind,
        limit=_limit(),
    )
    return json_response({"alerts": [messages.describe(session, a) for a in found]})


@bp.get("/alerts/<int:alert_id>")
def show_alert(alert_id: int) -> Response:
    session = db.session
    caller = require_caller(session, *MANAGERS)
    try:
        alert = lifecycle.get(session, alert_id, caller.creators)
    except DomainError as exc:
        raise ApiError(404, "not_found", exc.message) from None
    return json_response(messages.describe(session, alert))


def _change(alert_id: int, action: str) -> Response:
    session = db.session
    begin_write(session)
    token = require_token(session, *MANAGERS)
    who = f"token:{token.name}"
    now = utc_now()
    try:
        alert = lifecycle.get(session, alert_id)
        if action == "acknowledge":
            lifecycle.acknowledge(alert, who, now)
        else:
            lifecycle.resolve(alert, who, now)
    except DomainError as exc:
        raise ApiError(
            exc.status, "not_found" if exc.status == 404 else "conflict", exc.message
        ) from None
    audit.record(session, who, f"alert_{action}", f"alert:{alert_id}", now, message=alert.message)
    session.commit()
    return json_response(messages.describe(session, alert))


@bp.post("/alerts/<int:alert_id>/acknowledge")
def acknowledge(alert_id: int) -> Response:
    return _change(alert_id, "acknowledge")


@bp.post("/alerts/<int:alert_id>/resolve")
def resolve(alert_id: int) -> Response:
    return _change(alert_id, "resolve")


@bp.get("/alerts/deliveries")
def list_deliveries() -> Response:
    session = db.session
    require_caller(session, *ADMIN)
    raw = request.args.get("alert")
    if raw is not None and (not _DIGITS.fullmatch(raw) or int(raw) > lifecycle.MAX_ID):
        raise ApiError(400, "bad_parameter", f"alert={raw[:20]!r}: an alert id")
    status = request.args.get("status") or None
    if status is not None and status not in ("pending", "delivered", "failed"):
        raise ApiError(
            400, "bad_parameter", f"status={status[:20]!r}: use pending, delivered or failed"
        )
    found = lifecycle.deliveries(
        session, alert_id=None if raw is None else int(raw), status=status, limit=_limit()
    )
    return json_response({"deliveries": found})
