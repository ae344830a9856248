"""Admin page for API tokens: make one for a role (shown once), list, revoke."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from collector import admin_views, api_tokens
from collector.access import login_required
from collector.auth import ROLES as TOKEN_ROLES
from collector.blueprints.admin_ui import (
    ALREADY_SENT,
    FIXABLE,
    Conflict,
    Form,
    Page,
    bp,
    field,
    first_submission,
    linked_chatter,
    or_404,
    record,
    status_of,
    writing,
)
from collector.db import db
from collector.models import ApiToken
from shared.protocol import utc_now


def _tokens(form: Form | None = None, error: str = "", status: int = 200) -> Page:
    session = db.session
    page = render_template(
        "admin/tokens.html",
        tokens=admin_views.api_tokens(session),
        chatters=admin_views.active_chatters(session),
        roles=TOKEN_ROLES,
        form=form if form is not None else {},
        error=error,
    )
    return page, status


@bp.get("/tokens")
@login_required("admin")
def tokens_page() -> Page:
    return _tokens()


@bp.post("/tokens")
@login_required("admin")
def create_api_token() -> Page:
    form = request.form
    if not first_submission(form):
        return _tokens(None, ALREADY_SENT, 409)
    role, key = field(form, "role"), field(form, "chatter")
    try:
        with writing() as (session, me):
            if role not in TOKEN_ROLES:
                raise api_tokens.TokenError("choose what the token may do")
            chatter = linked_chatter(session, role, key, "token")
            row, token = api_tokens.create(session, field(form, "name"), role, chatter, utc_now())
            name = row.name
            record(session, me, "api_token", name, role=role, chatter=key or None)
    except FIXABLE as exc:
        return _tokens(form, str(exc), status_of(exc))
    page = render_template(
        "admin/secret.html",
        kind="api",
        title=f"API token “{name}” ({role})",
        secret=token,
        expires=None,
        server=request.host_url.rstrip("/"),
        back=url_for(".tokens_page"),
    )
    return page, 201


@bp.get("/tokens/<int:token_id>/revoke")
@login_required("admin")
def revoke_token_confirm(token_id: int) -> str:
    row = db.session.get(ApiToken, token_id)
    if row is None:
        abort(404, description=f"no API token with id {token_id}")
    return render_template(
        "admin/confirm.html",
        title=f"Revoke the API token “{row.name}” ({row.role})?",
        consequences=[
            "Every request with this token is refused from now on.",
            "This cannot be undone: make a new token for whoever still needs one.",
        ],
        action=url_for(".revoke_token", token_id=token_id),
        button="Revoke token",
        cancel=url_for(".tokens_page"),
    )


@bp.post("/tokens/<int:token_id>/revoke")
@login_required("admin")
def revoke_token(token_id: int) -> Response | Page:
    try:
        with writing() as (session, me):
            existing = session.get(ApiToken, token_id)
            if existing is not None and existing.revoked_at is not None:
                raise Conflict(f"the token “{existing.name}” is already revoked")
            row = api_tokens.revoke(session, token_id, utc_now())
            name = row.name
            record(session, me, "revoke_token", name, id=token_id)
    except FIXABLE as exc:
        or_404(exc)
        return _tokens(None, str(exc), status_of(exc))
    flash(f"Token “{name}” revoked.")
    return redirect(url_for(".tokens_page"))
