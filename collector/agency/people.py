"""Creators, chatters and dashboard logins: adding, editing, deactivating.

Shared by the command line and the admin pages, so both apply the same rules (and find
people by key the same way).  Nothing here commits; the caller owns the transaction (and
writes the audit entry in it).

Deactivating is never deleting: a chatter's slices, sales and stats stay as they are,
and keys stay taken.  It means "no longer works here", so it also stops what would
otherwise keep tracking or opening doors for them, in the same transaction:

- their devices are revoked (the agent's next request is refused; it keeps its queue);
- their dashboard logins are deactivated and their chatter API tokens revoked;
- their unused enrollment tokens expire, and no new ones can be made for them.

Reactivating only flips the chatter back: devices need a new enrollment token and
logins are reactivated one by one on the logins page, so nothing reopens by surprise.
A deactivated creator keeps its history and its chatters' assignments; it can no longer
be newly assigned.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from collector.auth.accounts import end_sessions, normalise_email
from collector.db import text
from collector.db.models import ApiToken, Chatter, Creator, Device, EnrollmentToken, User
from collector.devices import management
from collector.errors import DomainError
from shared.events import KEY_PATTERN


def check_key(value: str) -> str:
    # fullmatch: the pattern's "$" would let a trailing newline (one character too many) in.
    if not re.fullmatch(KEY_PATTERN, value):
        raise DomainError(
            f"{value!r}: use 1-63 lowercase letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return value


def _name(name: str, key: str) -> str:
    # Creators' and chatters' names are the same column.
    cleaned = text.check_label(" ".join(name.split()), "the name", Creator.name)
    return cleaned or key


def find_creator(session: Session, key: str) -> Creator:
    text.check(key, "creator")
    creator = session.scalar(select(Creator).where(Creator.key == key))
    if creator is None:
        raise DomainError(f"no creator {key!r}", 404)
    return creator


def find_chatter(session: Session, key: str) -> Chatter:
    text.check(key, "chatter")
    chatter = session.scalar(select(Chatter).where(Chatter.key == key))
    if chatter is None:
        raise DomainError(f"no chatter {key!r}", 404)
    return chatter


def _assignable(session: Session, keys: Iterable[str], current: Iterable[Creator]) -> list[Creator]:
    """Creators by key, in the order given; a deactivated one only if already assigned."""
    kept = {c.key for c in current}
    out = []
    for key in dict.fromkeys(keys):
        try:
            creator = find_creator(session, key)
        except DomainError as exc:
            raise DomainError(str(exc)) from None  # a bad form value, not a missing page
        if not creator.active and key not in kept:
            raise DomainError(f"creator {key!r} is deactivated and cannot be assigned")
        out.append(creator)
    return out


def add_creator(session: Session, key: str, name: str, now: dt.datetime) -> Creator:
    key = check_key(key)
    if session.scalar(select(Creator.id).where(Creator.key == key)) is not None:
        raise DomainError(f"creator {key!r} already exists", 409)
    creator = Creator(key=key, name=_name(name, key), active=True, created_at=now)
    session.add(creator)
    session.flush()
    return creator


def add_chatter(
    session: Session, key: str, name: str, creator_keys: Iterable[str], now: dt.datetime
) -> Chatter:
    key = check_key(key)
    if session.scalar(select(Chatter.id).where(Chatter.key == key)) is not None:
        raise DomainError(f"chatter {key!r} already exists", 409)
    chatter = Chatter(key=key, name=_name(name, key), active=True, created_at=now)
    chatter.creators = _assignable(session, creator_keys, [])
    session.add(chatter)
    session.flush()
    return chatter


def edit_creator(creator: Creator, name: str) -> dict[str, object]:
    """Rename; the changes made, for the audit trail (empty: nothing changed)."""
    new = _name(name, creator.key)
    if new == creator.name:
        return {}
    old, creator.name = creator.name, new
    return {"name": [old, new]}


def edit_chatter(
    session: Session, chatter: Chatter, name: str, creator_keys: Iterable[str]
) -> dict[str, object]:
    """Rename and reassign; the changes made, for the audit trail."""
    changes: dict[str, object] = {}
    new_name = _name(name, chatter.key)
    creators = _assignable(session, creator_keys, chatter.creators)
    if new_name != chatter.name:
        changes["name"] = [chatter.name, new_name]
        chatter.name = new_name
    before = sorted(c.key for c in chatter.creators)
    after = sorted(c.key for c in creators)
    if before != after:
        changes["creators"] = [before, after]
        chatter.creators = creators
    return changes


def set_creator_active(creator: Creator, active: bool) -> bool:
    """True when it changed."""
    if creator.active == active:
        return False
    creator.active = active
    return True


@dataclass(frozen=True)
class Deactivation:
    devices: int
    logins: int
    tokens: int
    enrollment_tokens: int


def deactivate_chatter(session: Session, chatter: Chatter, now: dt.datetime) -> Deactivation:
    """Mark inactive, revoke devices and tokens, close logins; history is kept."""
    if not chatter.active:
        raise DomainError(f"chatter {chatter.key!r} is already deactivated", 409)
    chatter.active = False
    devices = session.scalars(
        select(Device).where(Device.chatter_id == chatter.id, Device.revoked_at.is_(None))
    ).all()
    for device in devices:
        management.revoke(device, now)
    logins = session.execute(
        update(User)
        .where(User.chatter_id == chatter.id, User.active)
        .values(active=False, session_epoch=User.session_epoch + 1)
    )
    tokens = session.execute(
        update(ApiToken)
        .where(ApiToken.chatter_id == chatter.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    unused = session.execute(
        update(EnrollmentToken)
        .where(
            EnrollmentToken.chatter_id == chatter.id,
            EnrollmentToken.used_at.is_(None),
            EnrollmentToken.expires_at > now,
        )
        .values(expires_at=now)
    )
    return Deactivation(
        devices=len(devices),
        logins=logins.rowcount,  # type: ignore[attr-defined]
        tokens=tokens.rowcount,  # type: ignore[attr-defined]
        enrollment_tokens=unused.rowcount,  # type: ignore[attr-defined]
    )


def reactivate_chatter(chatter: Chatter) -> None:
    if chatter.active:
        raise DomainError(f"chatter {chatter.key!r} is already active", 409)
    chatter.active = True


def set_user_active(user: User, active: bool, by: User) -> None:
    """Open or close a login; an admin cannot close their own (so one admin always remains)."""
    if user.active == active:
        raise DomainError(f"{user.email} is already {'active' if active else 'deactivated'}", 409)
    if active:
        if user.chatter is not None and not user.chatter.active:
            raise DomainError(
                f"{user.email} belongs to the deactivated chatter {user.chatter.key!r}: "
                "reactivate the chatter first",
                409,
            )
        user.active = True
        return
    if user.id == by.id:
        raise DomainError("you cannot deactivate your own login", 409)
    user.active = False
    end_sessions(user)  # reopening the login later does not revive old sessions


def find_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise DomainError(f"no login {normalise_email(email)!r}", 404)
    return user


def set_user_creators(session: Session, user: User, keys: Iterable[str]) -> dict[str, object]:
    """Limit a manager login to these creators (a team lead); no keys: every creator.

    Read on every request, so the change applies at the login's next click.  Returns
    the change for the audit entry (empty: nothing changed).
    """
    wanted = list(dict.fromkeys(k.strip() for k in keys if k.strip()))
    if wanted and user.role != "manager":
        raise DomainError(
            f"only a manager login is limited to creators; {user.email} is a {user.role}"
        )
    creators = []
    for key in wanted:
        try:
            creators.append(find_creator(session, key))
        except DomainError as exc:
            raise DomainError(str(exc)) from None  # a bad value, not a missing page
    before = sorted(c.key for c in user.creators)
    after = sorted(wanted)
    if before == after:
        return {}
    user.creators = creators
    return {"creators": [before, after]}  # [] is every creator
