"""The account page: every login changes its own password here.

The current password is checked the way a login checks it (``auth.accounts``): counted
against the same limits first, the slow hash outside any transaction.  The change ends
every other session of the account (the epoch goes up) and starts this browser's
session afresh in the new epoch, so whoever changed it stays logged in here.  A login
an admin reset lands here after logging in and may go nowhere else until it is done.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from collector.auth import accounts, sessions
from collector.auth.roles import LOGIN_ROLES
from collector.db import audit
from collector.db.engine import begin_write
from collector.http.auth import current_user, login_required, start_session, trusted_device
from collector.http.database import db
from collector.http.inputs import checks_own_text
from collector.pages import bp
from shared.protocol import utc_now

Page = tuple[str, int]
FIELDS = ("current", "new", "repeat")  # in the form's order


def _page(errors: dict[str, str] | None = None, status: int = 200) -> Page:
    user = current_user()
    assert user is not None  # login_required ran
    errors = errors or {}
    page = render_template(
        "account.html",
        must_change=user.must_change_password,
        min_password=accounts.MIN_PASSWORD,
        errors=errors,
        focus=next((name for name in FIELDS if name in errors), None),  # the first to fix
    )
    return page, status


@bp.get("/account")
@login_required(*LOGIN_ROLES, before_password_change=True)
def account_page() -> Page:
    return _page()


@bp.post("/account/password")
@checks_own_text(*FIELDS)  # passwords: checked below, never stored as text
@login_required(*LOGIN_ROLES, before_password_change=True)
def change_password() -> Response | Page:
    me = current_user()
    assert me is not None
    email, user_id = me.email, me.id
    # After an admin's reset the password being replaced is the temporary one they gave.
    replaced = "temporary" if me.must_change_password else "current"
    current = request.form.get("current", "")
    new, repeat = request.form.get("new", ""), request.form.get("repeat", "")
    problems = accounts.new_password_problems(current, new, repeat, replaced)
    if not current:
        problems["current"] = (
            "type the temporary password you were given"
            if me.must_change_password
            else "type your current password"
        )
    elif (unusable := accounts.unusable_password(current)) is not None:
        problems["current"] = unusable  # no password holds one: not counted as a guess
    if problems:
        return _page(problems, 400)
    db_session = db.session
    db_session.rollback()  # the read that found the logged-in user
    try:
        begin_write(db_session)
        attempt = accounts.begin_attempt(
            db_session, email, request.remote_addr or "unknown", trusted_device(email), utc_now()
        )
        db_session.commit()
        matches = accounts.password_matches(attempt, current)  # slow: no transaction held
        begin_write(db_session)
        user = accounts.confirm_attempt(db_session, attempt, matches)
    except accounts.LoginRefused as exc:
        db_session.rollback()  # a wrong password stays counted, as at the login form
        message = str(exc) if exc.locked else f"the {replaced} password is wrong"
        return _page({"current": message}, 429 if exc.locked else 400)
    # Still this browser's account, and its session still current (not ended meanwhile).
    if user.id != user_id or sessions.user_of(db_session, session) is None:
        db_session.rollback()
        session.clear()
        return redirect(url_for("pages.login_form"))
    accounts.set_password(user, new, must_change=False)
    audit.record(db_session, user.email, "change_password", user.email, utc_now())
    db_session.commit()
    start_session(user)  # this browser stays logged in, in the new epoch
    flash("Password changed. Every other session of this login has ended.")
    return redirect(url_for("pages.home"))
