"""Enrollment tokens, device enrollment, key rotation and revocation."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from collector import credentials
from collector.errors import ApiError
from collector.models import Chatter, Device, DeviceKey, EnrollmentToken
from collector.settings import agent_settings
from shared.protocol import EnrollRequest, EnrollResponse, RotateKeyResponse

DEFAULT_TOKEN_TTL = dt.timedelta(hours=72)
MAX_TOKEN_TTL = dt.timedelta(days=30)
# Long enough for an agent that lost the rotation reply to retry with the old key.
ROTATION_GRACE = dt.timedelta(hours=24)


def create_enroll_token(
    session: Session, chatter: Chatter, now: dt.datetime, ttl: dt.timedelta = DEFAULT_TOKEN_TTL
) -> str:
    if not dt.timedelta(minutes=1) <= ttl <= MAX_TOKEN_TTL:
        raise ValueError(f"token lifetime must be between 1 minute and {MAX_TOKEN_TTL.days} days")
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


def enroll(session: Session, req: EnrollRequest, now: dt.datetime) -> EnrollResponse:
    hashed = credentials.token_hash(req.token)
    row = session.scalar(select(EnrollmentToken).where(EnrollmentToken.token_hash == hashed))
    if row is None:
        raise ApiError(401, "invalid_token", "unknown enrollment token")
    if row.used_at is not None:
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
        .values(used_at=now)
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
    return EnrollResponse(
        device_id=device.uid,
        key_id=key.key_id,
        secret=key.secret,
        server_time=now,
        settings=agent_settings(session, row.chatter_id),
    )


def rotate_key(session: Session, device_id: int, now: dt.datetime) -> RotateKeyResponse:
    """A new key for the device; older keys stay valid for ROTATION_GRACE.

    The device keeps its identity, sequence and outbox: nothing is re-sent.
    """
    grace_end = now + ROTATION_GRACE
    session.execute(
        update(DeviceKey)
        .where(
            DeviceKey.device_id == device_id,
            (DeviceKey.expires_at.is_(None)) | (DeviceKey.expires_at > grace_end),
        )
        .values(expires_at=grace_end)
    )
    key = DeviceKey(
        key_id=credentials.new_key_id(),
        device_id=device_id,
        secret=credentials.new_device_secret(),
        created_at=now,
    )
    session.add(key)
    return RotateKeyResponse(
        key_id=key.key_id, secret=key.secret, previous_key_expires_at=grace_end, server_time=now
    )


def find_device(session: Session, ident: str) -> Device:
    """A device by its full id or an unambiguous prefix of at least 8 characters."""
    ident = ident.strip().lower()
    exact = session.scalar(select(Device).where(Device.uid == ident))
    if exact is not None:
        return exact
    if len(ident) < 8:
        raise LookupError(f"no device {ident!r} (give the full id or at least 8 characters)")
    matches = session.scalars(select(Device).where(Device.uid.startswith(ident))).all()
    if not matches:
        raise LookupError(f"no device {ident!r}")
    if len(matches) > 1:
        raise LookupError(f"{len(matches)} devices start with {ident!r}; give more characters")
    return matches[0]


def revoke_device(device: Device, now: dt.datetime) -> None:
    if device.revoked_at is None:
        device.revoked_at = now
