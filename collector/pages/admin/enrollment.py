"""Admin page for enrolling computers: the agent downloads and their install commands,
a token for one computer (shown once), tokens for many at once (a CSV, downloaded once),
and every token's state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, current_app, render_template, request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as WerkzeugResponse

from collector.agency import listings
from collector.db.models import User
from collector.devices import bulk, downloads, enrollment
from collector.devices.install import install_commands
from collector.errors import DomainError
from collector.http.agent_files import agent_folder, configured_folder, public_url
from collector.http.auth import login_required
from collector.http.database import db
from collector.pages.admin import (
    ALREADY_SENT,
    Form,
    Page,
    bp,
    field,
    first_submission,
    form_chatter,
    record,
    secret_page,
    submit,
    writing,
)
from shared.protocol import utc_now

# Enrollment token lifetimes offered: (form value, label, lifetime).
TTL_CHOICES = [
    ("1h", "1 hour", dt.timedelta(hours=1)),
    ("24h", "1 day", dt.timedelta(hours=24)),
    ("72h", "3 days", dt.timedelta(hours=72)),
    ("7d", "7 days", dt.timedelta(days=7)),
    ("30d", "30 days", dt.timedelta(days=30)),
]
DEFAULT_TTL = "72h"
LIFETIMES = {value: ttl for value, _label, ttl in TTL_CHOICES}


def _downloads() -> dict[str, Any]:
    """The downloads section: what is served, and the commands that install it."""
    found = agent_folder()
    server = public_url()
    return {
        "folder": found,
        "folder_path": configured_folder() or "",
        "latest": found.latest(),
        "os_names": downloads.OS_NAMES,
        "server": server,
        "server_configured": bool(current_app.config.get("PUBLIC_URL")),
        "commands": install_commands(server),
    }


def _enrollment(
    form: Form | None = None,
    error: str = "",
    status: int = 200,
    *,
    bulk_error: DomainError | None = None,
    bulk_form: Form | None = None,
    picked: list[str] | None = None,
) -> Page:
    session = db.session
    page = render_template(
        "admin/enrollment.html",
        tokens=enrollment.tokens(session, utc_now()),
        chatters=listings.active_chatters(session),
        ttl_choices=TTL_CHOICES,
        default_ttl=DEFAULT_TTL,
        form=form if form is not None else {},
        error=error,
        bulk_error=bulk_error,
        bulk_form=bulk_form if bulk_form is not None else {},
        picked=set(picked or []),
        bulk_columns=bulk.COLUMNS,
        max_rows=bulk.MAX_ROWS,
        **_downloads(),
    )
    return page, status


@bp.get("/enrollment")
@login_required("admin")
def enrollment_page() -> Page:
    return _enrollment()


@bp.post("/enrollment")
@login_required("admin")
def create_enroll_token() -> Page:
    form = request.form
    if not first_submission(form):
        return _enrollment(None, ALREADY_SENT, 409)
    choice = field(form, "ttl")
    try:
        if choice not in LIFETIMES:
            raise DomainError("choose how long the token stays valid")
        key = field(form, "chatter")
        if not key:
            raise DomainError("choose the chatter whose computer this is")
        now = utc_now()
        with writing() as (session, me):
            chatter = form_chatter(session, key)
            token = enrollment.issue_token(session, chatter, now, LIFETIMES[choice])
            record(session, me, "enroll_token", key, ttl=choice)
            name = chatter.name
    except DomainError as exc:
        return _enrollment(form, str(exc), exc.status)
    title = f"Enrollment token for {name} ({key})"
    expires = now + LIFETIMES[choice]
    return secret_page("enrollment", title, token, expires, ".enrollment_page")


@bp.post("/enrollment/tokens/<int:token_id>/withdraw")
@login_required("admin")
def withdraw_enroll_token(token_id: int) -> WerkzeugResponse | Page:

    def change(session: Session, me: User) -> str:
        token = enrollment.withdraw(session, token_id, utc_now())
        record(session, me, "withdraw_enroll_token", token.chatter.key, token_id=token_id)
        return f"The token for {token.chatter.name} no longer works."

    return submit(
        change, lambda exc: _enrollment(None, exc.message, exc.status), ".enrollment_page"
    )


def _uploaded_csv() -> bytes:
    upload = request.files.get("csv")
    if upload is None or not upload.filename:
        raise DomainError("choose the CSV file of chatters to upload")
    data: bytes = upload.stream.read(bulk.MAX_BYTES + 1)
    if not data:
        raise DomainError(f"{upload.filename} is empty")
    return data


@bp.post("/enrollment/bulk")
@login_required("admin")
def create_enroll_tokens() -> Response | Page:
    """Tokens for many computers, answered as a CSV download: their only showing."""
    form = request.form
    if not first_submission(form):
        return _enrollment(bulk_error=DomainError(ALREADY_SENT, 409), status=409)
    source = field(form, "source")
    choice = field(form, "ttl")
    picked = form.getlist("chatters")
    try:
        if choice not in LIFETIMES:
            raise DomainError("choose how long the tokens stay valid")
        if source not in ("csv", "pick"):
            raise DomainError("upload a CSV file or pick chatters")
        data = _uploaded_csv() if source == "csv" else b""
        now = utc_now()
        with writing() as (session, me):
            if source == "csv":
                wanted = bulk.wanted(session, bulk.read_rows(data), LIFETIMES[choice])
            else:
                wanted = bulk.picked(session, picked, LIFETIMES[choice])
            issued = bulk.issue(session, wanted, now)
            record(
                session,
                me,
                "enroll_tokens",
                f"{len(issued)} tokens",
                count=len(issued),
                ttl=choice,
                source=source,
            )
            body = bulk.to_csv(issued, bulk.agency_zone(session), public_url())
    except DomainError as exc:
        return _enrollment(status=exc.status, bulk_error=exc, bulk_form=form, picked=picked)
    response = Response(body, content_type="text/csv; charset=utf-8")
    response.headers.set("Content-Disposition", "attachment", filename=bulk.filename(now))
    return response
