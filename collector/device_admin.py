"""Enrollment tokens and devices as an admin manages them (the CLI and the admin pages).

The protocol side (enrolling, verifying, rotating) is collector/enrollment.py; this is
the people side: issuing tokens, telling which were used or expired, asking for a key
rotation, and judging the queue health an agent reports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from collector import enrollment
from collector.models import Chatter, Device, EnrollmentToken

# An agent delivers within seconds when it can; these mean it has not for a while.
QUEUE_WARN_AGE = dt.timedelta(hours=2)
QUEUE_WARN_SLICES = 120
CLOCK_WARN_SECONDS = 60.0


class DeviceError(ValueError):
    """Input the caller can fix; ``status`` is the HTTP status a page answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def issue_enroll_token(
    session: Session, chatter: Chatter, now: dt.datetime, ttl: dt.timedelta
) -> str:
    """A single-use token for one of the chatter's computers (only its hash is stored)."""
    if not chatter.active:
        raise DeviceError(f"chatter {chatter.key!r} is deactivated: reactivate them first", 409)
    try:
        return enrollment.create_enroll_token(session, chatter, now, ttl)
    except ValueError as exc:
        raise DeviceError(str(exc)) from None


@dataclass(frozen=True)
class TokenState:
    token: EnrollmentToken
    state: str  # unused | used | expired
    device: Device | None


def enroll_tokens(session: Session, now: dt.datetime, limit: int = 200) -> list[TokenState]:
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


def find_device(session: Session, ident: str) -> Device:
    try:
        return enrollment.find_device(session, ident)
    except LookupError as exc:
        raise DeviceError(str(exc), 404) from None


def revoke(device: Device, now: dt.datetime) -> bool:
    """True when this revoked it (False: it already was)."""
    if device.revoked_at is not None:
        return False
    enrollment.revoke_device(device, now)
    return True


def request_rotation(device: Device, now: dt.datetime) -> None:
    """The device rotates its key at its next heartbeat; its queue and history are kept."""
    if device.revoked_at is not None:
        raise DeviceError(f"device {device.uid} is revoked: it cannot rotate its key", 409)
    device.rotate_requested_at = now


@dataclass(frozen=True)
class QueueReport:
    """The agent's last report on its outbox, and what in it needs a look."""

    queued: int | None
    parked: int | None
    dropped: int | None
    oldest: dt.datetime | None
    level: str  # ok | warn | bad | unknown
    problems: list[str]


def _count(report: dict[str, Any], name: str) -> int | None:
    value = report.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def queue_health(report: dict[str, Any] | None, reported_at: dt.datetime | None) -> QueueReport:
    """Judge an agent's report as of when it was sent (the device's last-seen time)."""
    if not report:
        return QueueReport(None, None, None, None, "unknown", [])
    queued, parked, dropped = (_count(report, n) for n in ("queued", "parked", "dropped"))
    oldest = None
    if isinstance(report.get("oldest"), str):
        try:
            oldest = dt.datetime.fromisoformat(report["oldest"].replace("Z", "+00:00"))
        except ValueError:
            oldest = None
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.UTC)
    problems = []
    level = "ok"
    if dropped:
        problems.append(f"{dropped} slices dropped (older than the outbox keeps)")
        level = "bad"
    if parked:
        problems.append(f"{parked} slices parked (refused by the collector)")
    if queued is not None and queued >= QUEUE_WARN_SLICES:
        problems.append(f"{queued} slices waiting to be sent")
    if queued and oldest and reported_at and reported_at - oldest >= QUEUE_WARN_AGE:
        problems.append("the oldest waiting slice is more than 2 hours old")
    if problems and level == "ok":
        level = "warn"
    return QueueReport(queued, parked, dropped, oldest, level, problems)


def devices(session: Session) -> list[Device]:
    return list(
        session.scalars(
            select(Device)
            .options(selectinload(Device.chatter))
            .order_by(Device.revoked_at.is_not(None), Device.enrolled_at.desc(), Device.id)
        )
    )
