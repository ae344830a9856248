"""Logging in and out, and everyone's start page.

A login starts a session bound to the account's epoch; logout raises the epoch, so it
ends every session of the account, copied cookies included.  Login attempts are counted
in the database (``auth.accounts``), so the limits hold across collector processes, and
a browser that logged in before carries a device cookie that is limited apart.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from collector.auth import accounts
from collector.db import text
from collector.db.engine import begin_write
from collector.db.models import User
from collector.http.auth import (
    ACCOUNT_PAGE,
    current_user,
    remember_device,
    start_session,
    trusted_device,
)
from collector.http.database import db
from collector.http.inputs import checks_own_text
from collector.pages import bp
from shared.protocol import utc_now


def _safe_next(target: str | None) -> str | None:
    """Only a plain path on this site: never an open redirect.

    Browsers drop tabs and newlines and read backslashes as slashes, so a slash, a
    tab and "/evil" would become "//evil": anything but printable ASCII is refused.
    """
    if not target or not target.isascii() or not target.isprintable() or " " in target:
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _form(email: str, message: str | None, target: str | None, invalid: str = "") -> str:
    """The login form; ``invalid``: the field (email or password) ``message`` is about,
    shown beside it and focused."""
    return render_template("login.html", email=email, message=message, next=target, invalid=invalid)


@bp.get("/login")
def login_form() -> str:
    return _form("", None, _safe_next(request.args.get("next")))


@bp.post("/login")
@checks_own_text("email", "password")  # checked below, before any lookup
def login() -> Response | tuple[str, int]:
    email = request.form.get("email", "")
    password = request.form.get("password", "")
    target = _safe_next(request.form.get("next"))
    address = request.remote_addr or "unknown"
    # No account has an email its column cannot hold, nor a password with a NUL (none
    # could be set): refused beside the field before anything is counted.
    wrong = text.problem(email, User.email)
    if wrong is not None:
        return _form("", f"the email {wrong}", target, "email"), 422
    unusable = accounts.unusable_password(password)
    if unusable is not None:
        return _form(email, unusable, target, "password"), 422
    session_ = db.session
    try:
        # Counted (and stored as a failure) first, in its own short write transaction:
        # attempts running at once see each other, in every collector process.
        begin_write(session_)
        attempt = accounts.begin_attempt(session_, email, address, trusted_device(email), utc_now())
        session_.commit()
        matches = accounts.password_matches(attempt, password)  # slow: no transaction held
        begin_write(session_)
        user = accounts.finish_attempt(session_, attempt, matches, utc_now())
    except accounts.LoginRefused as exc:
        session_.rollback()  # the failure stays stored: it is what the limits count
        return _form(email, str(exc), target), 429 if exc.locked else 401
    session_.commit()
    start_session(user)
    # A password an admin set is replaced before anything else (``http.auth``).
    reply = redirect(
        url_for(ACCOUNT_PAGE) if user.must_change_password else target or url_for("pages.home")
    )
    remember_device(reply, user.email)
    return reply


@bp.post("/logout")
def logout() -> Response:
    """Ends this account's sessions everywhere: a copied cookie is worthless after it."""
    if "user_id" in session:
        begin_write(db.session)  # before the lookup: the read and the bump are one write
        user = current_user()
        if user is not None:
            accounts.end_sessions(user)
        db.session.commit()
    session.clear()
    return redirect(url_for("pages.login_form"))


@bp.get("/")
def home() -> Response:
    """Everyone's start page: managers the stats page, a chatter their own page."""
    user = current_user()
    if user is None:
        return redirect(url_for("pages.login_form"))
    if user.must_change_password:
        return redirect(url_for(ACCOUNT_PAGE))
    if user.role == "chatter":
        if user.chatter is None:
            abort(403, description="this login is not linked to a chatter; ask an admin")
        return redirect(url_for("pages.chatter_page", key=user.chatter.key))
    return redirect(url_for("pages.stats_page"))
