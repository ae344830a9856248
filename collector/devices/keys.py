"""Device keys: the agent rotating its signing key, and an admin asking it to."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from collector.auth import credentials
from collector.db.models import Device, DeviceKey
from collector.errors import DomainError
from shared.protocol import RotateKeyResponse

# Long enough for an agent that lost the rotation reply to retry with the old key.
ROTATION_GRACE = dt.timedelta(hours=24)


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


def request_rotation(device: Device, now: dt.datetime) -> None:
    """The device rotates its key at its next heartbeat; its queue and history are kept."""
    if device.revoked_at is not None:
        raise DomainError(f"device {device.uid} is revoked: it cannot rotate its key", 409)
    device.rotate_requested_at = now
