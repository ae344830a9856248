"""Agent requests: the device key's HMAC signature over method, path, time and body."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, bindparam, func, or_, select
from sqlalchemy.orm import aliased

from collector.db.base import iso
from collector.db.direct import Fixed
from collector.db.models import Device, DeviceKey
from collector.errors import ApiError
from shared import signing


class Headers(Protocol):
    """A request's headers: anything with a case-insensitive ``get``."""

    def get(self, key: str) -> str | None: ...


@dataclass(frozen=True)
class AgentCaller:
    """The verified device, as plain values (read once, used after the read ends).

    ``key_pk`` is the key whose secret matched (not necessarily the one named);
    ``newest_key`` says whether it is the device's newest key, and ``live_keys`` how
    many keys of the device were live, so a first use of a new key can retire the
    older ones (``collector.devices.keys``).
    """

    device_id: int
    device_uid: str
    chatter_id: int
    seq_max: int
    rotate_requested_at: dt.datetime | None
    # When its agent said it was uninstalled (None: in use); presence is refused then.
    retired_at: dt.datetime | None
    key_pk: int
    key_created_at: dt.datetime
    newest_key: bool
    live_keys: int
    # When the agent signed the request (its X-Agent-Timestamp, on its corrected clock).
    signed_at: dt.datetime


_OTHER = aliased(DeviceKey)
_OTHER_LIVE = (_OTHER.device_id == Device.id) & or_(
    _OTHER.expires_at.is_(None), _OTHER.expires_at > bindparam("now")
)
_CALLER = Fixed(
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
        Device.retired_at,
        select(func.max(_OTHER.id)).where(_OTHER_LIVE).scalar_subquery(),
        select(func.count(_OTHER.id)).where(_OTHER_LIVE).scalar_subquery(),
    )
    .join(Device, Device.id == DeviceKey.device_id)
    .where(DeviceKey.key_id == bindparam("key_id"))
)
# Tried only when the named key's secret does not match: during a rotation the agent
# may sign with another of its live keys.
_OTHER_KEYS = select(DeviceKey.id, DeviceKey.secret, DeviceKey.created_at).where(
    DeviceKey.device_id == bindparam("device_id"),
    DeviceKey.id != bindparam("key_pk"),
    or_(DeviceKey.expires_at.is_(None), DeviceKey.expires_at > bindparam("now")),
)
# Checked against when the key id is unknown, so that case costs an HMAC too.
_NO_SECRET = secrets.token_urlsafe(32)
_REFUSED = (
    "signature does not match: sign 'v1\\nMETHOD\\nPATH\\nTIMESTAMP\\nSHA256(body)' "
    "with the device secret (a device whose key is unknown must enroll again)"
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

    ``path`` is the full path the agent signed (script root included).  Nothing about
    the device (unknown, revoked, expired key) is said before the signature matches:
    a wrong signature gets the same 401 whatever the key id names.
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

    found = _CALLER.rows(db, {"key_id": key_id, "now": now})
    if not found:
        signing.verify([_NO_SECRET], signature, method, path, timestamp, body)
        raise ApiError(401, "bad_signature", _REFUSED)
    (
        named_pk,
        named_secret,
        named_created,
        named_expires,
        device_id,
        uid,
        chatter_id,
        revoked,
        seq_max,
        rotate_at,
        retired_at,
        newest_pk,
        live_keys,
    ) = found[0]
    matched: tuple[int, dt.datetime] | None = None
    if signing.verify([named_secret], signature, method, path, timestamp, body):
        matched = (named_pk, named_created)
    else:
        params = {"device_id": device_id, "key_pk": named_pk, "now": now}
        for other in db.execute(_OTHER_KEYS, params):
            if signing.verify([other.secret], signature, method, path, timestamp, body):
                matched = (other.id, other.created_at)
                break
    if matched is None:
        raise ApiError(401, "bad_signature", _REFUSED)

    # The signature holds: from here on the caller may learn about its own device.
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
    key_pk, key_created = matched
    if key_pk == named_pk and named_expires is not None and named_expires <= now:
        raise ApiError(401, "key_expired", f"device key {key_id!r} has expired; enroll again")
    if revoked is not None:
        raise ApiError(403, "device_revoked", f"device {uid} was revoked at {iso(revoked)}")
    return AgentCaller(
        device_id=device_id,
        device_uid=uid,
        chatter_id=chatter_id,
        seq_max=seq_max,
        rotate_requested_at=rotate_at,
        retired_at=retired_at,
        key_pk=key_pk,
        key_created_at=key_created,
        newest_key=key_pk == newest_pk,
        live_keys=int(live_keys or 0),
        signed_at=dt.datetime.fromtimestamp(timestamp, dt.UTC),
    )
