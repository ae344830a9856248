"""Enrollment: single-use tokens that IT hands out, and a device enrolling with one.

A token is stored hashed and works once, for one chatter's computer, until it expires;
enrolling gives the device its id and its first signing key.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from collector.auth import credentials
from collector.db import text
from collector.db.models import Chatter, Device, DeviceKey, EnrollmentToken
from collector.db.settings import agent_settings
from collector.errors import ApiError, DomainError
from shared.protocol import EnrollRequest, EnrollResponse

DEFAULT_TOKEN_TTL = dt.timedelta(hours=72)
MIN_TOKEN_TTL = dt.timedelta(minutes=1)
MAX_TOKEN_TTL = dt.timedelta(days=30)

_DURATION = re.compile(r"\s*(\d+)\s*([smhd])\s*")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> dt.timedelta:
    """A duration as people write it: 90m, 72h, 7d (s, m, h or d)."""
    match = _DURATION.fullmatch(text.lower())
    if not match:
        raise DomainError(f"{text!r}: write a duration such as 90m, 72h or 7d")
    try:
        return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise DomainError(f"{text!r} is longer than any duration can be") from None


def check_lifetime(ttl: dt.timedelta) -> dt.timedelta:
    if not MIN_TOKEN_TTL <= ttl <= MAX_TOKEN_TTL:
        raise DomainError(f"token lifetime must be between 1 minute and {MAX_TOKEN_TTL.days} days")
    return ttl


def issue_token(
    session: Session, chatter: Chatter, now: dt.datetime, ttl: dt.timedelta = DEFAULT_TOKEN_TTL
) -> str:
    """A single-use token for one of the chatter's computers (only its hash is stored)."""
    if not chatter.active:
        raise DomainError(f"chatter {chatter.key!r} is deactivated: reactivate them first", 409)
    check_lifetime(ttl)
    token = credentials.new_enroll_token()
    session.add(
        EnrollmentToken(
            token_hash=credentials.token_hash(token),
            chatter_id=chatter.id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


@dataclass(frozen=True)
class TokenState:
    token: EnrollmentToken
    state: str  # unused | used | expired
    device: Device | None


def tokens(session: Session, now: dt.datetime, limit: int = 200) -> list[TokenState]:
    """The newest enrollment tokens with their state (never the tokens themselves)."""
    rows = session.scalars(
        select(EnrollmentToken)
        .options(selectinload(EnrollmentToken.chatter))
        .order_by(EnrollmentToken.created_at.desc(), EnrollmentToken.id.desc())
        .limit(limit)
    ).all()
    used_ids = {r.device_id for r in rows if r.device_id is not None}
    devices = {
        d.id: d for d in session.scalars(select(Device).where(Device.id.in_(used_ids))).all()
    }
    out = []
    for row in rows:
        if row.used_at is not None:
            state = "used"
        elif row.expires_at <= now:
            state = "expired"
        else:
            state = "unused"
        device = devices.get(row.device_id) if row.device_id is not None else None
        out.append(TokenState(row, state, device))
    return out


def withdraw(session: Session, token_id: int, now: dt.datetime) -> EnrollmentToken:
    """End an unused token now (it then shows as expired), e.g. one handed to the wrong
    person.  One statement, so a computer enrolling with it at the same moment either got
    in first (the token is then used: 409, revoke the device) or is refused."""
    done = session.execute(
        update(EnrollmentToken)
        .where(
            EnrollmentToken.id == token_id,
            EnrollmentToken.used_at.is_(None),
            EnrollmentToken.expires_at > now,
        )
        .values(expires_at=now)
    )
    row = session.get(EnrollmentToken, token_id)
    if row is None:
        raise DomainError(f"no enrollment token {token_id}", 404)
    if done.rowcount != 1:  # type: ignore[attr-defined]
        if row.used_at is not None:
            raise DomainError(
                "that token was already used to enroll a computer: revoke the device instead",
                409,
            )
        raise DomainError("that token has already expired", 409)
    return row


def withdraw_chatter(session: Session, chatter: Chatter, now: dt.datetime) -> int:
    """End every unused token of one chatter now; how many there were."""
    done = session.execute(
        update(EnrollmentToken)
        .where(
            EnrollmentToken.chatter_id == chatter.id,
            EnrollmentToken.used_at.is_(None),
            EnrollmentToken.expires_at > now,
        )
        .values(expires_at=now)
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


def enroll(session: Session, req: EnrollRequest, now: dt.datetime) -> EnrollResponse:
    # The wire schema's lengths are the protocol's; these are the columns'.
    text.check(req.hostname, "hostname", Device.hostname)
    text.check(req.platform, "platform", Device.platform)
    text.check(req.agent_version, "agent_version", Device.agent_version)
    hashed = credentials.token_hash(req.token)
    row = session.scalar(select(EnrollmentToken).where(EnrollmentToken.token_hash == hashed))
    if row is None:
        raise ApiError(401, "invalid_token", "unknown enrollment token")
    if row.used_at is not None:
        again = _repeat(session, row, req, now)
        if again is not None:
            return again
        raise ApiError(
            401, "token_used", "this enrollment token was already used; ask IT for a new one"
        )
    if row.expires_at <= now:
        raise ApiError(
            401, "token_expired", "this enrollment token has expired; ask IT for a new one"
        )
    if not row.chatter.active:
        raise ApiError(403, "chatter_inactive", f"chatter {row.chatter.key} is deactivated")

    # Claim the token atomically so two concurrent enrollments cannot both win.
    claimed = session.execute(
        update(EnrollmentToken)
        .where(EnrollmentToken.id == row.id, EnrollmentToken.used_at.is_(None))
        .values(used_at=now, request_id=req.request_id)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ApiError(401, "token_used", "this enrollment token was already used")

    device = Device(
        uid=str(uuid.uuid4()),
        chatter_id=row.chatter_id,
        hostname=req.hostname,
        platform=req.platform,
        agent_version=req.agent_version,
        enrolled_at=now,
    )
    session.add(device)
    session.flush()
    key = DeviceKey(
        key_id=credentials.new_key_id(),
        device_id=device.id,
        secret=credentials.new_device_secret(),
        created_at=now,
    )
    session.add(key)
    session.execute(
        update(EnrollmentToken).where(EnrollmentToken.id == row.id).values(device_id=device.id)
    )
    return _reply(session, row, device, key, now)


def _reply(
    session: Session, row: EnrollmentToken, device: Device, key: DeviceKey, now: dt.datetime
) -> EnrollResponse:
    return EnrollResponse(
        chatter_name=row.chatter.name,
        stats_path=f"/chatters/{quote(row.chatter.key, safe='')}",
        device_id=device.uid,
        key_id=key.key_id,
        secret=key.secret,
        server_time=now,
        settings=agent_settings(session, row.chatter_id),
    )


def _repeat(
    session: Session, row: EnrollmentToken, req: EnrollRequest, now: dt.datetime
) -> EnrollResponse | None:
    """The same enrollment asked again (its reply was lost): the same device and key, if
    the request id matches the one that used the token and that device has never sent
    anything (once it has, its agent has the key and nobody needs it again)."""
    if req.request_id is None or row.request_id is None or row.device_id is None:
        return None
    if not hmac.compare_digest(req.request_id, row.request_id):
        return None
    device = session.get(Device, row.device_id)
    if device is None or device.revoked_at is not None or device.last_seen_at is not None:
        return None
    key = session.scalar(
        select(DeviceKey).where(DeviceKey.device_id == device.id).order_by(DeviceKey.id.desc())
    )
    return None if key is None else _reply(session, row, device, key, now)
