"""Who is logged in to the dashboard, and which pages their role opens.

Pages answer in HTML: not logged in sends the browser to the login form, a role
that may not see a page gets a 403 page (never the page with the numbers hidden).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import abort, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from collector.db import db
from collector.models import User

P = ParamSpec("P")
R = TypeVar("R")

ROLES = ("admin", "manager", "chatter")
MANAGERS = ("admin", "manager")


def current_user() -> User | None:
    """The active user of this browser session, if any (looked up once per request)."""
    if "user" in g:
        cached: User | None = g.user
        return cached
    user_id = session.get("user_id")
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    fresh = user is not None and user.active and session.get("epoch") == user.session_epoch
    g.user = user if fresh else None
    return g.user  # type: ignore[no-any-return]


def start_session(user: User) -> None:
    """After a login: a fresh session (no fixation) bound to the account's epoch."""
    session.clear()
    session["user_id"] = user.id
    session["epoch"] = user.session_epoch
    session.permanent = True


def end_sessions(user: User) -> None:
    """Every session of this account ends, here and in every other browser."""
    user.session_epoch += 1


def login_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """A page for these roles; others get 403, strangers the login form."""

    def decorate(view: Callable[P, R]) -> Callable[P, R | Response]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            user = current_user()
            if user is None:
                return redirect(url_for("dashboard.login_form", next=request.full_path))
            if user.role not in roles:
                abort(403, description=f"this page is not open to a {user.role}")
            return view(*args, **kwargs)

        return wrapper

    return decorate


def may_see_chatter(user: User, chatter_id: int) -> bool:
    """Managers and admins see every chatter; a chatter sees only themself."""
    return user.role in MANAGERS or user.chatter_id == chatter_id
