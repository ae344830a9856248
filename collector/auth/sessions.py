"""Dashboard sessions: a signed cookie bound to the account's session epoch.

Raising the epoch (``accounts.end_sessions``) ends every session of the account at once,
so logout and deactivation reach copied cookies too.  The cookie is any mutable mapping
(Flask's ``session`` in a request).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from sqlalchemy.orm import Session

from collector.db.models import User


def user_of(db: Session, cookie: MutableMapping[str, Any]) -> User | None:
    """The active user a session cookie belongs to, if it is still current."""
    user_id = cookie.get("user_id")
    user = db.get(User, user_id) if isinstance(user_id, int) else None
    fresh = user is not None and user.active and cookie.get("epoch") == user.session_epoch
    return user if fresh else None


def start(cookie: MutableMapping[str, Any], user: User) -> None:
    """After a login: a fresh session (no fixation) bound to the account's epoch."""
    cookie.clear()
    cookie["user_id"] = user.id
    cookie["epoch"] = user.session_epoch
