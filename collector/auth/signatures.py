"""Agent requests: the device key's HMAC signature over method, path, time and body."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, bindparam, or_, select

from collector.db.base import iso
from collector.db.models import Device, DeviceKey
from collector.errors import ApiError
from shared import signing


class Headers(Protocol):
    """A request's headers: anything with a case-insensitive ``get``."""

    def get(self, key: str) -> str | None: ...


@dataclass(frozen=True)
class AgentCaller:
    """The verified device, as plain values (read once, used after the read ends)."""

    device_id: int
    device_uid: str
    chatter_id: int
    seq_max: int
    rotate_requested_at: dt.datetime | None
    key_pk: int
    key_created_at: dt.datetime


_CALLER = (
    select(
        DeviceKey.id,
        DeviceKey.secret,
        DeviceKey.created_at,
        DeviceKey.expires_at,
        Device.id,
        Device.uid,
        Device.chatter_id,
        Device.revoked_at,
        Device.seq_max,
        Device.rotate_requested_at,
    )
    .join(Device, Device.id == DeviceKey.device_id)
    .where(DeviceKey.key_id == bindparam("key_id"))
)
_OTHER_SECRETS = select(DeviceKey.secret).where(
    DeviceKey.device_id == bindparam("device_id"),
    DeviceKey.id != bindparam("key_pk"),
    or_(DeviceKey.expires_at.is_(None), DeviceKey.expires_at > bindparam("now")),
)


def verify_agent(
    db: Connection,
    headers: Headers,
    method: str,
    path: str,
    body: bytes,
    now: dt.datetime,
) -> AgentCaller:
    """Check an agent request's signature over the raw body before it is parsed.

    ``path`` is the full path the agent signed (script root included).
    """
    key_id = headers.get(signing.HEADER_KEY)
    raw_ts = headers.get(signing.HEADER_TIMESTAMP)
    signature = headers.get(signing.HEADER_SIGNATURE)
    missing = [
        name
        for name, value in (
            (signing.HEADER_KEY, key_id),
            (signing.HEADER_TIMESTAMP, raw_ts),
            (signing.HEADER_SIGNATURE, signature),
        )
        if not value
    ]
    if missing or key_id is None or raw_ts is None or signature is None:
        raise ApiError(401, "missing_signature", f"missing header(s): {', '.join(missing)}")
    try:
        timestamp = int(raw_ts)
    except ValueError:
        raise ApiError(
            401, "bad_timestamp", f"{signing.HEADER_TIMESTAMP} must be unix seconds"
        ) from None

    row = db.execute(_CALLER, {"key_id": key_id}).first()
    if row is None:
        raise ApiError(401, "unknown_key", f"no device key {key_id!r}; enroll again")
    (
        key_pk,
        secret,
        key_created,
        key_expires,
        device_id,
        uid,
        chatter_id,
        revoked,
        seq_max,
        rotate_at,
    ) = row
    if key_expires is not None and key_expires <= now:
        raise ApiError(401, "key_expired", f"device key {key_id!r} has expired; enroll again")
    if revoked is not None:
        raise ApiError(403, "device_revoked", f"device {uid} was revoked at {iso(revoked)}")

    if not signing.verify([secret], signature, method, path, timestamp, body):
        # During a rotation the agent may sign with another of its live keys.
        params = {"device_id": device_id, "key_pk": key_pk, "now": now}
        others = db.execute(_OTHER_SECRETS, params).scalars().all()
        if not signing.verify(others, signature, method, path, timestamp, body):
            raise ApiError(
                401,
                "bad_signature",
                "signature does not match: sign 'v1\\nMETHOD\\nPATH\\nTIMESTAMP\\nSHA256(body)' "
                "with the device secret",
            )
    skew = timestamp - int(now.timestamp())
    if abs(skew) > signing.TOLERANCE_SECONDS:
        raise ApiError(
            401,
            "clock_skew",
            f"request timestamp is {abs(skew)} s {'ahead of' if skew > 0 else 'behind'} the "
            f"server clock (allowed ±{signing.TOLERANCE_SECONDS} s); correct the clock with "
            "server_time and sign again",
            details=[{"server_time": iso(now), "skew_seconds": skew}],
        )
    return AgentCaller(
        device_id=device_id,
        device_uid=uid,
        chatter_id=chatter_id,
        seq_max=seq_max,
        rotate_requested_at=rotate_at,
        key_pk=key_pk,
        key_created_at=key_created,
    )
