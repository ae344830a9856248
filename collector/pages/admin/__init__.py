"""Admin pages: people, logins, enrollment tokens, devices, API tokens, settings.

Server-rendered for role ``admin`` only; every form works without JavaScript (the one
script only adds a Copy button next to a secret).  The rules live in the domain packages
the command line uses too (agency, auth, devices); a view parses the form and hands
``submit`` its change, which runs in one write transaction with its audit entry and
answers POST-redirect-GET with a flash message.  A ``DomainError`` the admin can fix
re-renders the form with the message and its status, 400 (invalid) or 409 (conflicts
with what is stored); nothing is written then.

Secrets (enrollment and API tokens) are shown once, in the answer to the POST that
made them: never put in the session cookie (signed, not encrypted) or a redirect.
Every admin answer is ``Cache-Control: private, no-store`` (``collector.http.headers``).

This package holds the blueprint, the top bar and what every page group shares; each
page group is a module of its own (people, logins, enrollment, devices, tokens,
settings), imported at the end so that its views register on ``bp``.  Domain modules
named like a page group (``agency.people``, ``agency.settings``) are not bound by name
here: the page modules of the same names would replace them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from collector.agency.people import find_chatter
from collector.db import audit
from collector.db.engine import begin_write
from collector.db.models import Chatter, User
from collector.devices.install import install_commands
from collector.errors import DomainError
from collector.http import csrf
from collector.http.agent_files import public_url
from collector.http.auth import current_user, login_required
from collector.http.database import db
from collector.pages.clock import Clock
from shared.protocol import utc_now

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(csrf.protect)

# (endpoint, label) of every admin page, in the order the top bar shows them.
NAV: list[tuple[str, str]] = [
    ("admin.people_page", "People"),
    ("admin.users_page", "Logins"),
    ("admin.enrollment_page", "Enrollment"),
    ("admin.devices_page", "Devices"),
    ("admin.tokens_page", "API tokens"),
    ("admin.alerts_page", "Alerts"),
    ("admin.settings_page", "Settings"),
]

Page = tuple[str, int]
Form = Mapping[str, Any]


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    return {"admin_nav": NAV}


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "clock": Clock.of(db.session, utc_now()),
        "form_once": lambda: secrets.token_urlsafe(16),
    }


# A form that makes a secret carries a one-time value.  The secret is shown in the
# reply to the POST, so reloading that reply would post again and make a second
# token nobody saw; the session remembers the last values used and refuses a repeat.
ALREADY_SENT = (
    "this form was already sent: its token was made and shown once; "
    "make a new one if you did not copy it"
)
_USED_FORMS = "used_forms"


def secret_page(kind: str, title: str, secret: str, expires: dt.datetime | None, back: str) -> Page:
    """The answer to the form that made a secret: its only showing (201)."""
    server = public_url()
    page = render_template(
        "admin/secret.html",
        kind=kind,
        title=title,
        secret=secret,
        expires=expires,
        server=server,
        # An enrollment token: the install commands with it written to the token file.
        commands=install_commands(server, secret) if kind == "enrollment" else None,
        back=url_for(back),
    )
    return page, 201


def first_submission(form: Form) -> bool:
    once = form.get("once", "")
    if not once:
        return True  # a client that sends no value takes its chances
    used = session.get(_USED_FORMS, [])
    if once in used:
        return False
    session[_USED_FORMS] = [*used, once][-20:]
    return True


@contextmanager
def writing() -> Iterator[tuple[Session, User]]:
    """One write transaction, committed when the block ends without an error.

    The admin is checked again inside it: a login deactivated a moment ago changes nothing.
    """
    session = db.session
    if session.in_transaction():
        session.rollback()  # the read that found the logged-in user
    begin_write(session)
    try:
        me = current_user()
        if me is not None:
            session.refresh(me)
        if me is None or not me.active or me.role != "admin":
            abort(403, description="this login may no longer change anything")
        yield session, me
        session.commit()
    except IntegrityError:
        session.rollback()
        raise DomainError(
            "someone changed the same thing at the same moment: reload the page and try again",
            409,
        ) from None
    except BaseException:
        session.rollback()
        raise


def record(session: Session, me: User, action: str, subject: str, **detail: Any) -> None:
    """An audit entry for a change made by ``me``, in the same transaction."""
    audit.record(session, me.email, action, subject, utc_now(), **detail)


def field(form: Form, name: str) -> str:
    """A form field, stripped; missing is empty."""
    return str(form.get(name, "")).strip()


def form_chatter(session: Session, key: str) -> Chatter:
    """A chatter named by a form field: unknown is a bad form value (400), not a lost page."""
    if not key:
        raise DomainError("choose a chatter")
    try:
        return find_chatter(session, key)
    except DomainError as exc:
        raise DomainError(exc.message) from None


def linked_chatter(session: Session, role: str, key: str, what: str) -> Chatter | None:
    """The chatter a chatter login (or token) is linked to, checked against the role."""
    if role == "chatter" and not key:
        raise DomainError(f"a chatter {what} needs a chatter: choose one")
    if role != "chatter" and key:
        raise DomainError(f"only a chatter {what} is linked to a chatter")
    if not key:
        return None
    chatter = form_chatter(session, key)
    if not chatter.active:
        raise DomainError(f"chatter {key!r} is deactivated", 409)
    return chatter


def or_404(exc: DomainError) -> None:
    """Abort with 404 when a fixable error says the thing in the URL does not exist."""
    if exc.status == 404:
        abort(404, description=str(exc))


# A change: made in the session by the admin, with its audit entry; it returns the
# message the next page flashes.
Change = Callable[[Session, User], str]


def submit(change: Change, again: Callable[[DomainError], Page], done: str) -> Response | Page:
    """The admin POST: one write transaction, then POST-redirect-GET to ``done`` with the
    change's message.  Input the admin can fix shows the page again (``again``) with the
    message and its status; a missing thing in the URL is a 404 page."""
    try:
        with writing() as (session, me):
            message = change(session, me)
    except DomainError as exc:
        or_404(exc)
        return again(exc)
    flash(message)
    return redirect(url_for(done))


@bp.get("/")
@login_required("admin")
def index() -> Response:
    return redirect(url_for(".people_page"))


# The page groups register their views on bp; they use everything above.
from collector.pages.admin import (  # noqa: E402
    alerts,
    devices,
    enrollment,
    logins,
    people,
    settings,
    shifts,
    tokens,
)

__all__ = [
    "NAV",
    "alerts",
    "bp",
    "devices",
    "enrollment",
    "logins",
    "people",
    "settings",
    "shifts",
    "tokens",
]
