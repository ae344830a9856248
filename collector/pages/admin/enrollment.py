"""Admin page for enrollment tokens: make one with an expiry (shown once), see their states."""

from __future__ import annotations

import datetime as dt

from flask import render_template, request

from collector.agency import listings
from collector.devices import enrollment
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
    form_chatter,
    record,
    secret_page,
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


def _enrollment(form: Form | None = None, error: str = "", status: int = 200) -> Page:
    session = db.session
    page = render_template(
        "admin/enrollment.html",
        tokens=enrollment.tokens(session, utc_now()),
        chatters=listings.active_chatters(session),
        ttl_choices=TTL_CHOICES,
        default_ttl=DEFAULT_TTL,
        form=form if form is not None else {},
        error=error,
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
    lifetimes = {value: (label, ttl) for value, label, ttl in TTL_CHOICES}
    choice = field(form, "ttl")
    try:
        if choice not in lifetimes:
            raise DomainError("choose how long the token stays valid")
        key = field(form, "chatter")
        if not key:
            raise DomainError("choose the chatter whose computer this is")
        now = utc_now()
        with writing() as (session, me):
            chatter = form_chatter(session, key)
            token = enrollment.issue_token(session, chatter, now, lifetimes[choice][1])
            record(session, me, "enroll_token", key, ttl=choice)
            name = chatter.name
    except DomainError as exc:
        return _enrollment(form, str(exc), exc.status)
    title = f"Enrollment token for {name} ({key})"
    expires = now + lifetimes[choice][1]
    return secret_page("enrollment", title, token, expires, ".enrollment_page")
