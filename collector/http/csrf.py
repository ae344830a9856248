"""CSRF protection for the dashboard's forms: a per-session token in every POST.

The API is not covered: it takes bearer tokens, which a browser never sends by itself.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

FIELD = "csrf_token"


def token() -> str:
    """The session's token (created on first use), for a hidden form field."""
    value = session.get(FIELD)
    if not isinstance(value, str):
        value = secrets.token_urlsafe(32)
        session[FIELD] = value
    return value


def protect() -> None:
    """A before_request hook: refuse unsafe methods without the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get(FIELD) or request.headers.get("X-CSRF-Token") or ""
    expected = session.get(FIELD)
    if not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        abort(400, description="the form has expired or did not come from this site: reload it")
