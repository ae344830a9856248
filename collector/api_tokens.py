"""API tokens: made (shown once, stored hashed), revoked.  Used by the CLI and the pages."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from collector import credentials
from collector.auth import ROLES
from collector.models import ApiToken, Chatter

MAX_NAME = 100


class TokenError(ValueError):
    """Input the caller can fix; ``status`` is the HTTP status a page answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def create(
    session: Session, name: str, role: str, chatter: Chatter | None, now: dt.datetime
) -> tuple[ApiToken, str]:
    """The stored row and the token itself, which is never stored and cannot be shown again."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise TokenError(f"give the token a name of 1 to {MAX_NAME} characters")
    if role not in ROLES:
        raise TokenError(f"{role!r} is not a role; choose one of {', '.join(ROLES)}")
    if role == "chatter" and chatter is None:
        raise TokenError("a chatter token needs a chatter")
    if role != "chatter" and chatter is not None:
        raise TokenError("only a chatter token belongs to a chatter")
    if chatter is not None and not chatter.active:
        raise TokenError(f"chatter {chatter.key!r} is deactivated", 409)
    token = credentials.new_api_token()
    row = ApiToken(
        name=name,
        role=role,
        chatter_id=chatter.id if chatter else None,
        token_hash=credentials.token_hash(token),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row, token


def revoke(session: Session, token_id: int, now: dt.datetime) -> ApiToken:
    """Revoke by id (repeating it changes nothing)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise TokenError(f"no API token with id {token_id}", 404)
    row.revoked_at = row.revoked_at or now
    return row
