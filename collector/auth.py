"""Who is calling: bearer tokens for people and integrations, signatures for agents."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import request
from sqlalchemy import Connection, bindparam, or_, select
from sqlalchemy.orm import Session

from collector.access import current_user
from collector.credentials import token_hash
from collector.errors import ApiError
from collector.jsonio import iso
from collector.models import ApiToken, Device, DeviceKey
from shared import signing

ROLES = ("admin", "manager", "integration", "chatter")


@dataclass(frozen=True)
class Caller:
    """Who asks a read-only question: an API token, or a person logged in to the dashboard."""

    role: str
    chatter_id: int | None
    name: str


def require_caller(session: Session, *roles: str) -> Caller:
    """A bearer token when one is sent; otherwise the dashboard's logged-in user.

    Only for GET views: the dashboard's pages and export buttons read the same JSON
    and files as the API (SameSite cookies and no CORS keep other sites out).
    """
    if not request.headers.get("Authorization"):
        user = current_user()
        if user is not None:
            if user.role not in roles:
                raise ApiError(
                    403, "forbidden", f"a {user.role} cannot do this; needs {' or '.join(roles)}"
                )
            return _checked(Caller(user.role, user.chatter_id, user.email))
    token = require_token(session, *roles)
    return _checked(Caller(token.role, token.chatter_id, f"token:{token.name}"))


def _checked(caller: Caller) -> Caller:
    # A chatter login or token that lost its chatter must see nothing, not everything.
    if caller.role == "chatter" and caller.chatter_id is None:
        raise ApiError(403, "forbidden", "this chatter login is not linked to a chatter")
    return caller


def require_token(session: Session, *roles: str) -> ApiToken:
    """The caller's API token, which must hold one of ``roles``."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "unauthorized",
            "send an API token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token.strip())))
    if row is None or row.revoked_at is not None:
        raise ApiError(
            401,
            "unauthorized",
            "unknown or revoked API token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if row.role not in roles:
        raise ApiError(
            403, "forbidden", f"a {row.role} token cannot do this; needs {' or '.join(roles)}"
        )
    return row


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


def verify_agent(db: Connection, body: bytes, now: dt.datetime) -> AgentCaller:
    """Check an agent request's signature over the raw body before it is parsed."""
    key_id = request.headers.get(signing.HEADER_KEY)
    raw_ts = request.headers.get(signing.HEADER_TIMESTAMP)
    signature = request.headers.get(signing.HEADER_SIGNATURE)
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

    path = request.script_root + request.path
    if not signing.verify([secret], signature, request.method, path, timestamp, body):
        # During a rotation the agent may sign with another of its live keys.
        params = {"device_id": device_id, "key_pk": key_pk, "now": now}
        others = db.execute(_OTHER_SECRETS, params).scalars().all()
        if not signing.verify(others, signature, request.method, path, timestamp, body):
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
