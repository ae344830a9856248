"""The request's side of ``collector.auth``: who is calling, read from Flask's request.

Pages answer in HTML: not logged in sends the browser to the login form, a role that
may not see a page gets a 403 page (never the page with the numbers hidden).  The API
answers JSON errors (``collector.errors.ApiError``).

A login whose password an admin reset (``User.must_change_password``) reaches only the
account page, where its owner chooses a new one: every other page sends the browser
there, and the API refuses its session with 403 until then.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import (
    abort,
    after_this_request,
    current_app,
    g,
    redirect,
    request,
    session,
    url_for,
)
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from collector.auth import accounts, callers, device_cookies, sessions, signatures, tokens
from collector.db.models import ApiToken, User
from collector.errors import ApiError
from collector.http.database import db
from shared.protocol import utc_now

P = ParamSpec("P")
R = TypeVar("R")

# Where a login chooses its password (``collector.pages.account``).
ACCOUNT_PAGE = "pages.account_page"


def current_user() -> User | None:
    """The active user of this browser session, if any (looked up once per request)."""
    if "user" not in g:
        g.user = sessions.user_of(db.session, session)
    user: User | None = g.user
    return user


def start_session(user: User) -> None:
    """After a login: a fresh session bound to the account's epoch, kept 12 hours."""
    sessions.start(session, user)
    session.permanent = True


def trusted_device(email: str) -> str | None:
    """The nonce of this browser's valid device cookie for that login, if it has one."""
    cookie = request.cookies.get(device_cookies.NAME)
    login = accounts.normalise_email(email)
    return device_cookies.nonce_for(current_app.secret_key or b"", cookie, login)


def remember_device(response: Response, email: str) -> None:
    """After a login: this browser is trusted for the account (a fresh device cookie)."""
    cookie = request.cookies.get(device_cookies.NAME)
    value = device_cookies.issue(current_app.secret_key or b"", cookie, email)
    response.set_cookie(
        device_cookies.NAME,
        value,
        max_age=int(device_cookies.LIFETIME.total_seconds()),
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE", True)),
        httponly=True,
        samesite="Lax",
    )


def login_required(
    *roles: str, before_password_change: bool = False
) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """A page for these roles; others get 403, strangers the login form.

    A login that must change its password is sent to the account page, unless the page
    is open ``before_password_change`` (the account page itself).
    """

    def decorate(view: Callable[P, R]) -> Callable[P, R | Response]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            user = current_user()
            if user is None:
                return redirect(url_for("pages.login_form", next=request.full_path))
            if user.must_change_password and not before_password_change:
                return redirect(url_for(ACCOUNT_PAGE))
            if user.role not in roles:
                abort(403, description=f"this page is not open to a {user.role}")
            return view(*args, **kwargs)

        return wrapper

    return decorate


def require_token(session: Session, *roles: str) -> ApiToken:
    """The caller's API token, which must hold one of ``roles``."""
    header = request.headers.get("Authorization", "")
    return tokens.bearer(session, header, roles, utc_now(), _record_after_answer)


def _record_after_answer(use: tokens.Use) -> None:
    # Once the answer is sent and the request's connection is back in the pool: the
    # caller never waits on this bookkeeping, whatever the request did (a refusal or a
    # rolled-back write included).
    engine = db.engine

    def schedule(response: Response) -> Response:
        response.call_on_close(lambda: tokens.record_use(engine, use))
        return response

    after_this_request(schedule)


def require_caller(session: Session, *roles: str) -> callers.Caller:
    """A bearer token when one is sent; otherwise the dashboard's logged-in user.

    Only for GET views: the dashboard's pages and export buttons read the same JSON
    and files as the API (SameSite cookies and no CORS keep other sites out).
    """
    if not request.headers.get("Authorization"):
        user = current_user()
        if user is not None:
            if user.must_change_password:
                raise ApiError(
                    403,
                    "password_change_required",
                    "this login must choose a new password first, on the account page",
                )
            return callers.of_user(user, roles)
    return callers.of_token(require_token(session, *roles))


def verify_agent(connection: Connection, body: bytes, now: dt.datetime) -> signatures.AgentCaller:
    """The signed agent request's device (see ``collector.auth.signatures``)."""
    path = request.script_root + request.path
    return signatures.verify_agent(connection, request.headers, request.method, path, body, now)
