"""Admin pages: people, logins, enrollment tokens, devices, API tokens, settings.

Server-rendered for role ``admin`` only; every form works without JavaScript (the one
script only adds a Copy button next to a secret).  The rules live in the domain modules
the command line uses too (people, api_tokens, device_admin, settings, users); a view
parses the form, calls them in one write transaction with an audit entry, and answers
POST-redirect-GET with a flash message.  Input the admin can fix re-renders the form
with the message and a 400 (invalid) or 409 (conflicts with what is stored); nothing
is written then.

Secrets (enrollment and API tokens) are shown once, in the answer to the POST that
made them: never put in the session cookie (signed, not encrypted) or a redirect.
Every admin answer is ``Cache-Control: no-store``.

This package holds the blueprint, the top bar and what every page group shares; each
page group is a module of its own (people, logins, enrollment, devices, tokens,
settings), imported at the end so that its views register on ``bp``.  The domain
modules ``collector.people`` and ``collector.settings`` are not bound by name here:
the page modules of the same names would replace them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, abort, redirect, session, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from collector import admin_views, api_tokens, audit, csrf, device_admin, users
from collector.access import current_user, login_required
from collector.db import begin_write, db
from collector.models import Chatter, User
from collector.people import PeopleError, find_chatter
from collector.settings import SettingError
from shared.protocol import utc_now

bp = Blueprint("admin_ui", __name__, url_prefix="/admin")
bp.before_request(csrf.protect)

# (endpoint, label) of every admin page, in the order the top bar shows them.
NAV: list[tuple[str, str]] = [
    ("admin_ui.people_page", "People"),
    ("admin_ui.users_page", "Logins"),
    ("admin_ui.enrollment_page", "Enrollment"),
    ("admin_ui.devices_page", "Devices"),
    ("admin_ui.tokens_page", "API tokens"),
    ("admin_ui.settings_page", "Settings"),
]

Page = tuple[str, int]
Form = Mapping[str, Any]


class Conflict(ValueError):
    """The change clashes with what is stored (or with a change made at the same moment)."""

    status = 409


# Errors whose message the admin can act on: the form is shown again with it.
FIXABLE = (
    Conflict,
    PeopleError,
    api_tokens.TokenError,
    device_admin.DeviceError,
    users.UserError,
    SettingError,
)


def status_of(exc: Exception) -> int:
    """The HTTP status of a fixable error: its ``status``, else 400."""
    return int(getattr(exc, "status", 400))


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    return {"admin_nav": NAV}


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "clock": admin_views.Clock.of(db.session, utc_now()),
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


def first_submission(form: Form) -> bool:
    once = form.get("once", "")
    if not once:
        return True  # a client that sends no value takes its chances
    used = session.get(_USED_FORMS, [])
    if once in used:
        return False
    session[_USED_FORMS] = [*used, once][-20:]
    return True


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


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
        raise Conflict(
            "someone changed the same thing at the same moment: reload the page and try again"
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
        raise PeopleError("choose a chatter")
    try:
        return find_chatter(session, key)
    except PeopleError as exc:
        raise PeopleError(str(exc)) from None


def linked_chatter(session: Session, role: str, key: str, what: str) -> Chatter | None:
    """The chatter a chatter login (or token) is linked to, checked against the role."""
    if role == "chatter" and not key:
        raise PeopleError(f"a chatter {what} needs a chatter: choose one")
    if role != "chatter" and key:
        raise PeopleError(f"only a chatter {what} is linked to a chatter")
    if not key:
        return None
    chatter = form_chatter(session, key)
    if not chatter.active:
        raise Conflict(f"chatter {key!r} is deactivated")
    return chatter


def or_404(exc: Exception) -> None:
    """Abort with 404 when a fixable error says the thing in the URL does not exist."""
    if status_of(exc) == 404:
        abort(404, description=str(exc))


@bp.get("/")
@login_required("admin")
def index() -> Response:
    return redirect(url_for(".people_page"))


# The page groups register their views on bp; they use everything above.
from collector.blueprints.admin_ui import (  # noqa: E402
    devices,
    enrollment,
    logins,
    people,
    settings,
    tokens,
)

__all__ = ["NAV", "bp", "devices", "enrollment", "logins", "people", "settings", "tokens"]
