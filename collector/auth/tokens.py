"""API tokens: made (shown once, stored hashed), revoked, and checked on every API call.

Making and revoking serve the CLI and the admin pages; ``bearer`` checks a request's
``Authorization`` header and records the use (``last_used_at``, at most once a minute).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from collector.auth import credentials
from collector.auth.callers import forbidden
from collector.auth.roles import TOKEN_ROLES
from collector.db import text
from collector.db.engine import quick_write
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


@dataclass(frozen=True)
class Use:
    """A token was used at ``at``: to be recorded after the answer (``record_use``)."""

    token_id: int
    at: dt.datetime


def bearer(
    session: Session,
    authorization: str,
    roles: tuple[str, ...],
    now: dt.datetime,
    on_use: Callable[[Use], None],
) -> ApiToken:
    """The live API token sent as ``Authorization: Bearer <token>``; it must hold a role.

    Every use counts (reads too, and a refused role): ``on_use`` gets it when the
    stored last use is a minute old or more; the caller records it once the answer
    is sent (``record_use``), so no request waits on that write.
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
    if row.last_used_at is None or row.last_used_at <= now - USE_RECORDED_EVERY:
        on_use(Use(row.id, now))
    if row.role not in roles:
        raise forbidden(row.role, " token", roles)
    return row


def record_use(engine: Engine, use: Use) -> bool:
    """Move ``last_used_at`` to the use's time when it is a minute old or more.

    The condition is in the UPDATE too, so collector processes that saw the same stale
    value write it once.  The write never waits (``quick_write``): a database too busy
    to take it at once skips it, and a later use records it.  True when it was written.
    """
    stale = use.at - USE_RECORDED_EVERY
    touch = (
        update(ApiToken)
        .where(ApiToken.id == use.token_id)
        .where(or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale))
        .values(last_used_at=use.at)
    )
    try:
        with quick_write(engine) as connection:
            return connection.execute(touch).rowcount == 1
    except (OperationalError, PoolTimeout):
        return False
