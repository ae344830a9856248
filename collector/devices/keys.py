"""Device keys: the agent rotating its signing key, and an admin asking it to.

The rule (README, "Key rotation"): a device holds at most two live keys, its newest
and, while a rotation is pending, the one the newest replaced.

- A rotation signed with the newest key issues a new key; the signing key stays valid
  for ``ROTATION_GRACE`` and every older key is retired at once.
- While a rotation is pending (its new key has not signed anything yet), a rotation
  signed with the key it replaced answers that same pending key again: an agent that
  lost the reply gets it back, and no second key is ever forked from the old one.
- The first request signed with the new key retires the older ones (the agent has
  switched), so the old key can neither send nor rotate after that.
- Any other key (older than the newest's predecessor) is refused with 409 ``stale_key``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Update, or_, select, update
from sqlalchemy.orm import Session

from collector.auth import credentials
from collector.auth.signatures import AgentCaller
from collector.db.models import Device, DeviceKey
from collector.errors import DomainError
from shared.protocol import RotateKeyResponse

# Long enough for an agent that lost the rotation reply to retry with the old key.
ROTATION_GRACE = dt.timedelta(hours=24)


def _retire_before(device_id: int, key_pk: int, now: dt.datetime) -> Update:
    return (
        update(DeviceKey)
        .where(
            DeviceKey.device_id == device_id,
            DeviceKey.id < key_pk,
            or_(DeviceKey.expires_at.is_(None), DeviceKey.expires_at > now),
        )
        .values(expires_at=now)
    )


def retire_older_keys(connection: Connection, caller: AgentCaller, now: dt.datetime) -> None:
    """A request signed with the newest key: the keys before it are no longer needed."""
    if caller.newest_key and caller.live_keys > 1:
        connection.execute(_retire_before(caller.device_id, caller.key_pk, now))


def rotate_key(session: Session, caller: AgentCaller, now: dt.datetime) -> RotateKeyResponse:
    """A new key for the device, or the pending one again (see the module's rule).

    The device keeps its identity, sequence and outbox: nothing is re-sent.
    """
    # The device row's lock makes concurrent rotations of one device take turns, so
    # they cannot both see the same newest key and fork two new ones.
    session.execute(select(Device.id).where(Device.id == caller.device_id).with_for_update())
    newest, *previous = session.scalars(
        select(DeviceKey)
        .where(DeviceKey.device_id == caller.device_id)
        .order_by(DeviceKey.id.desc())
        .limit(2)
    ).all()  # the caller signed with one of them: there is at least one
    if caller.key_pk != newest.id:
        replaced = previous[0] if previous else None
        if replaced is not None and caller.key_pk == replaced.id and replaced.expires_at:
            return RotateKeyResponse(
                key_id=newest.key_id,
                secret=newest.secret,
                previous_key_expires_at=replaced.expires_at,
                server_time=now,
            )
        raise DomainError(
            "this key is older than the device's newest key: rotate with the newest key",
            409,
            code="stale_key",
        )
    session.execute(_retire_before(caller.device_id, newest.id, now))
    grace_end = now + ROTATION_GRACE
    if newest.expires_at is None or newest.expires_at > grace_end:
        newest.expires_at = grace_end
    key = DeviceKey(
        key_id=credentials.new_key_id(),
        device_id=caller.device_id,
        secret=credentials.new_device_secret(),
        created_at=now,
    )
    session.add(key)
    return RotateKeyResponse(
        key_id=key.key_id,
        secret=key.secret,
        previous_key_expires_at=newest.expires_at,
        server_time=now,
    )


def request_rotation(device: Device, now: dt.datetime) -> None:
    """The device rotates its key at its next heartbeat; its queue and history are kept."""
    if device.revoked_at is not None:
        raise DomainError(f"device {device.uid} is revoked: it cannot rotate its key", 409)
    device.rotate_requested_at = now
