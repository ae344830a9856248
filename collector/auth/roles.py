"""The roles, once: who logs in, who holds an API token, who sees whose numbers."""

from __future__ import annotations

# Dashboard logins.
LOGIN_ROLES = ("admin", "manager", "chatter")
# API tokens: the login roles plus the integrations that send sales and chat events.
TOKEN_ROLES = ("admin", "manager", "integration", "chatter")
# Who sees every chatter's numbers.
MANAGERS = ("admin", "manager")
# Who reads statistics at all (a chatter only their own).
READERS = LOGIN_ROLES


def may_see_chatter(role: str, own_chatter_id: int | None, chatter_id: int) -> bool:
    """Managers and admins see every chatter; a chatter sees only themself."""
    return role in MANAGERS or own_chatter_id == chatter_id
