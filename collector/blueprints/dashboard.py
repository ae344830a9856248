"""The browser side: login, logout, and (to come) the manager, chatter and admin pages.

Server-rendered pages with a session cookie; every form carries a CSRF token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from collector import csrf, users
from collector.db import begin_write, db
from collector.models import User
from shared.protocol import utc_now

bp = Blueprint("dashboard", __name__)
bp.before_request(csrf.protect)


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {"csrf_token": csrf.token}


def current_user() -> User | None:
    user_id = session.get("user_id")
    if not isinstance(user_id, int):
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and user.active else None


@bp.get("/login")
def login_form() -> str:
    return render_template("login.html", email="", message=None)


@bp.post("/login")
def login() -> Response | tuple[str, int]:
    email = request.form.get("email", "")
    password = request.form.get("password", "")
    address = request.remote_addr or "unknown"
    session_ = db.session
    begin_write(session_)
    try:
        user = users.authenticate(session_, email, password, address, utc_now())
    except users.LoginRefused as exc:
        session_.commit()  # keep the failure: it is what the limit counts
        status = 429 if exc.locked else 401
        return render_template("login.html", email=email, message=str(exc)), status
    session_.commit()
    session.clear()  # a fresh session on login: no fixation
    session["user_id"] = user.id
    session.permanent = True
    return redirect(url_for("dashboard.home"))


@bp.post("/logout")
def logout() -> Response:
    session.clear()
    return redirect(url_for("dashboard.login_form"))


@bp.get("/")
def home() -> Response | str:
    user = current_user()
    if user is None:
        return redirect(url_for("dashboard.login_form"))
    chatter = user.chatter.name if user.chatter else None
    return render_template("home.html", user=user, chatter=chatter)
