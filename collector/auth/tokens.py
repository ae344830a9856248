"""API tokens: made (shown once, stored hashed), revoked, and checked on every API call.

Making and revoking serve the CLI and the admin pages; ``bearer`` checks a request's
``Authorization`` header.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.auth import credentials
from collector.auth.callers import forbidden
from collector.auth.roles import TOKEN_ROLES
from collector.db import text
from collector.db.models import ApiToken, Chatter
from collector.errors import ApiError, DomainError


def create(
    session: Session, name: str, role: str, chatter: Chatter | None, now: dt.datetime
) -> tuple[ApiToken, str]:
    """The stored row and the token itself, which is never stored and cannot be shown again."""
    name = text.check(name.strip(), "the token name", ApiToken.name)
    if not name:
        raise DomainError(f"give the token a name of 1 to {text.length(ApiToken.name)} characters")
    if role not in TOKEN_ROLES:
        raise DomainError(f"{role!r} is not a role; choose one of {', '.join(TOKEN_ROLES)}")
    if role == "chatter" and chatter is None:
        raise DomainError("a chatter token needs a chatter")
    if role != "chatter" and chatter is not None:
        raise DomainError("only a chatter token belongs to a chatter")
    if chatter is not None and not chatter.active:
        raise DomainError(f"chatter {chatter.key!r} is deactivated", 409)
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
        raise DomainError(f"no API token with id {token_id}", 404)
    row.revoked_at = row.revoked_at or now
    return row


def bearer(session: Session, authorization: str, roles: tuple[str, ...]) -> ApiToken:
    """The live API token sent as ``Authorization: Bearer <token>``; it must hold a role."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "unauthorized",
            "send an API token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    hashed = credentials.token_hash(token.strip())
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hashed))
    if row is None or row.revoked_at is not None:
        raise ApiError(
            401,
            "unauthorized",
            "unknown or revoked API token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if row.role not in roles:
        raise forbidden(row.role, " token", roles)
    return row
