"""Admin page for API tokens: make one for a role (shown once), list, revoke."""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from collector.agency import listings
from collector.auth import tokens
from collector.auth.roles import TOKEN_ROLES
from collector.db.models import ApiToken, User
from collector.errors import DomainError
from collector.http.auth import login_required
from collector.http.database import db
from collector.pages.admin import (
    ALREADY_SENT,
    Form,
    Page,
    bp,
    field,
    first_submission,
    linked_chatter,
    record,
    secret_page,
    submit,
    writing,
)
from shared.protocol import utc_now


def _tokens(form: Form | None = None, error: str = "", status: int = 200) -> Page:
    session = db.session
    page = render_template(
        "admin/tokens.html",
        tokens=listings.api_tokens(session),
        chatters=listings.active_chatters(session),
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
                raise DomainError("choose what the token may do")
            chatter = linked_chatter(session, role, key, "token")
            row, token = tokens.create(session, field(form, "name"), role, chatter, utc_now())
            name = row.name
            record(session, me, "api_token", name, role=role, chatter=key or None)
    except DomainError as exc:
        return _tokens(form, str(exc), exc.status)
    title = f"API token “{name}” ({role})"
    return secret_page("api", title, token, None, ".tokens_page")


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

    def change(session: Session, me: User) -> str:
        existing = session.get(ApiToken, token_id)
        if existing is not None and existing.revoked_at is not None:
            raise DomainError(f"the token “{existing.name}” is already revoked", 409)
        row = tokens.revoke(session, token_id, utc_now())
        record(session, me, "revoke_token", row.name, id=token_id)
        return f"Token “{row.name}” revoked."

    return submit(change, lambda exc: _tokens(None, exc.message, exc.status), ".tokens_page")
