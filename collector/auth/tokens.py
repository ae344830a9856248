"""API tokens: made (shown once, stored hashed), revoked, and checked on every API call.

Making and revoking serve the CLI and the admin pages; ``bearer`` checks a request's
``Authorization`` header and records the use (``last_used_at``, at most once a minute).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from collector.auth import credentials
from collector.auth.callers import forbidden
from collector.auth.roles import TOKEN_ROLES
from collector.db import text
from collector.db.engine import side_write
from collector.db.models import ApiToken, Chatter
from collector.errors import ApiError, DomainError

# How stale ``last_used_at`` may be: a token used every second costs a write a minute.
USE_RECORDED_EVERY = dt.timedelta(minutes=1)


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


def bearer(
    session: Session, authorization: str, roles: tuple[str, ...], now: dt.datetime
) -> ApiToken:
    """The live API token sent as ``Authorization: Bearer <token>``; it must hold a role.

    Every use counts (reads too, and a refused role), recorded by ``record_use``.
    """
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
    record_use(session, row, now)
    if row.role not in roles:
        raise forbidden(row.role, " token", roles)
    return row


def record_use(session: Session, row: ApiToken, now: dt.datetime) -> None:
    """Move ``last_used_at`` to ``now`` when it is a minute old or more.

    The condition is in the UPDATE too, so collector processes that see the same stale
    value at once write it once; the write is beside the request's transaction
    (``side_write``), which stays as it was.  A database (or connection pool) too busy
    to take the write skips it: the next use records it, and the request goes on.
    """
    stale = now - USE_RECORDED_EVERY
    if row.last_used_at is not None and row.last_used_at > stale:
        return
    touch = (
        update(ApiToken)
        .where(ApiToken.id == row.id)
        .where(or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale))
        .values(last_used_at=now)
    )
    try:
        with side_write(session) as connection:
            connection.execute(touch)
    except (OperationalError, PoolTimeout):
        return
