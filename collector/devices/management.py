"""Devices as people see and manage them: found, listed, summarised, judged, revoked,
retired.

Revoking refuses the device's next request (``auth.signatures.verify_agent`` answers
403 ``device_revoked``); its queue stays on the computer.  Deactivating a chatter
(``agency.people``) revokes their devices too.  The queue
health judges what the agent last reported about its outbox.  A device is *retired*
when its agent says it is being uninstalled (a signed message); it can still send (a
reinstall keeps the device), and its next batch or presence message *signed after the
retirement* makes it current again (``signed_after_retirement``): an older request sent
again (a signature holds for 300 s) leaves the device uninstalled (a batch is still
stored as ever, a presence message is refused).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Table, bindparam, case, null, select, update
from sqlalchemy.orm import Session, selectinload

from collector.db import audit, text
from collector.db.base import UTCDateTime, iso
from collector.db.models import Device
from collector.db.text import count_of
from collector.errors import DomainError

# An agent delivers within seconds when it can; these mean it has not for a while.
QUEUE_WARN_AGE = dt.timedelta(hours=2)
QUEUE_WARN_SLICES = 120
CLOCK_WARN_SECONDS = 60.0
# How much earlier than the device's last batch (server time) a retire may be signed (the
# agent's corrected clock) and still count: the signed time is whole seconds, and the
# uninstaller's offset is the one the agent last saved (within a second of the one it
# signs batches with), so a true retire, sent after the last batch, is at most a few
# seconds "earlier"; an old one sent again after a reinstall is older than that.
RETIRE_SIGNED_BEFORE_BATCH = dt.timedelta(seconds=10)
# A signature's time is whole seconds: a request signed in the second its device's
# retirement arrived in may have been signed after it, and counts as signed after.
SIGNED_TIME_RESOLUTION = dt.timedelta(seconds=1)


def unretired_before(signed_at: dt.datetime) -> dt.datetime:
    """An agent request signed at ``signed_at`` (its X-Agent-Timestamp,
    ``AgentCaller.signed_at``) was signed after a retirement recorded before this moment:
    such a request says the agent is back (reinstalled).  The one rule, in Python
    (``signed_after_retirement``) and in SQL (``reinstalled_values``)."""
    return signed_at + SIGNED_TIME_RESOLUTION


def signed_after_retirement(retired_at: dt.datetime | None, signed_at: dt.datetime) -> bool:
    """Whether a request signed at ``signed_at`` ends the retirement ``retired_at`` (None:
    the device is in use, nothing to end)."""
    return retired_at is not None and retired_at < unretired_before(signed_at)


def reinstalled_values(devices: Table) -> dict[str, ColumnElement[Any]]:
    """The devices table's SET values by which an agent request ends its device's
    retirement when it was signed after it (``signed_after_retirement``, decided on the
    row the update locks), and else leaves it; bind ``unretired_before`` to
    ``unretired_before(caller.signed_at)``."""
    back = devices.c.retired_at < bindparam("unretired_before", type_=UTCDateTime)
    return {
        "retired_at": case((back, null()), else_=devices.c.retired_at),
        "retired_unsent": case((back, null()), else_=devices.c.retired_unsent),
    }


_devices = cast(Table, Device.__table__)
_REINSTALLED = (
    update(_devices)
    .where(_devices.c.id == bindparam("device"), _devices.c.retired_at.is_not(None))
    .values(**reinstalled_values(_devices))
)


def reinstalled(connection: Connection, device_id: int, signed_at: dt.datetime) -> None:
    """A request signed at ``signed_at`` came from the device: end its retirement when
    it was signed after it (a reinstalled agent), else leave it.  Batches do the same in
    their own update of the device (``collector.ingest.heartbeats``)."""
    connection.execute(
        _REINSTALLED, {"device": device_id, "unretired_before": unretired_before(signed_at)}
    )


def find_device(session: Session, ident: str) -> Device:
    """A device by its full id or an unambiguous prefix of at least 8 characters."""
    ident = text.check(ident.strip().lower(), "device")
    exact = session.scalar(select(Device).where(Device.uid == ident))
    if exact is not None:
        return exact
    if len(ident) < 8:
        raise DomainError(f"no device {ident!r} (give the full id or at least 8 characters)", 404)
    matches = session.scalars(select(Device).where(Device.uid.startswith(ident))).all()
    if not matches:
        raise DomainError(f"no device {ident!r}", 404)
    if len(matches) > 1:
        raise DomainError(f"{len(matches)} devices start with {ident!r}; give more characters", 404)
    return matches[0]


def revoke(device: Device, now: dt.datetime) -> bool:
    """True when this revoked it (False: it already was)."""
    if device.revoked_at is not None:
        return False
    device.revoked_at = now
    return True


def retire(
    session: Session, device_id: int, unsent: int | None, now: dt.datetime, signed_at: dt.datetime
) -> str:
    """Mark the device uninstalled, with the slices left unsent on the computer; its uid.

    Refused (409) when signed well before the device's last batch arrived: the agent
    retires after it stopped sending, so such a message is an old one sent again (a
    signature holds for 300 s), which would mark a reinstalled device uninstalled."""
    device = session.get(Device, device_id, with_for_update=True)
    if device is None:  # verified a moment ago in this transaction
        raise DomainError("no such device", 404)
    seen = device.last_seen_at
    if seen is not None and signed_at < seen - RETIRE_SIGNED_BEFORE_BATCH:
        raise DomainError(
            f"this uninstall message was signed at {iso(signed_at)}, before the device's "
            f"last batch arrived ({iso(seen)}): an old message sent again is ignored, "
            "and the device stays in use",
            409,
            code="stale_retire",
        )
    device.retired_at = now
    device.retired_unsent = unsent
    audit.record(
        session, f"device {device.uid[:8]}", "device_retired", device.uid, now, unsent=unsent
    )
    return device.uid


def devices(session: Session, *, newest_live_first: bool = False) -> list[Device]:
    """Every device with its chatter: in enrollment order (the API and the command line),
    or live ones first, newest first (the admin page)."""
    order = (
        (Device.revoked_at.is_not(None), Device.enrolled_at.desc(), Device.id)
        if newest_live_first
        else (Device.enrolled_at,)
    )
    return list(
        session.scalars(select(Device).options(selectinload(Device.chatter)).order_by(*order))
    )


@dataclass(frozen=True)
class DeviceState:
    """What a device is now, as every list says it: the admin Devices page, a chatter's
    page, the Enrollment page's tokens, ``chatter-collector devices`` and the API."""

    name: str  # active | revoked | uninstalled
    since: dt.datetime | None = None  # when it was revoked or uninstalled
    unsent: int | None = None  # uninstalled: slices the agent said it left unsent

    @property
    def badge(self) -> str:
        """The pages' badge colour: ok, warn or bad."""
        return {"active": "ok", "uninstalled": "warn"}.get(self.name, "bad")

    @property
    def unsent_note(self) -> str:
        """ "3 slices unsent at uninstall" for an uninstalled device, else "" (not "left on the
        computer": the uninstaller may have purged them since)."""
        if self.name != "uninstalled" or self.unsent is None:
            return ""
        if self.unsent == 0:
            return "nothing unsent at uninstall"
        return f"{count_of(self.unsent, 'slice')} unsent at uninstall"

    def describe(self, when: Callable[[dt.datetime], str]) -> str:
        """One line, with the time as the caller shows times (``when``): "active",
        "revoked 2026-11-24 14:05:00 UTC", "uninstalled …, 3 slices unsent at
        uninstall"."""
        line = self.name if self.since is None else f"{self.name} {when(self.since)}"
        return ", ".join(part for part in (line, self.unsent_note) if part)


def state(device: Device) -> DeviceState:
    """The device's state.  Revoked outranks uninstalled: a revoked device is refused
    whatever it said before; an uninstalled one may still send (and is then active)."""
    if device.revoked_at is not None:
        return DeviceState("revoked", device.revoked_at)
    if device.retired_at is not None:
        return DeviceState("uninstalled", device.retired_at, device.retired_unsent)
    return DeviceState("active")


def device_summary(device: Device) -> dict[str, Any]:
    # Slices the agent numbered but the collector never stored (lost or dropped).
    missing = max(device.seq_max - device.slices_received, 0)
    return {
        "device_id": device.uid,
        "chatter": device.chatter.key,
        "hostname": device.hostname,
        "platform": device.platform,
        "agent_version": device.agent_version,
        "enrolled_at": iso(device.enrolled_at),
        "last_seen_at": iso(device.last_seen_at),
        "revoked_at": iso(device.revoked_at),
        "retired_at": iso(device.retired_at),
        "retired_unsent": device.retired_unsent,
        "state": state(device).name,
        "slices_received": device.slices_received,
        "missing_slices": missing,
        "queue": device.queue_health,
        "clock_skew_seconds": device.clock_skew_seconds,
    }


@dataclass(frozen=True)
class QueueReport:
    """The agent's last report on its outbox, and what in it needs a look."""

    queued: int | None
    parked: int | None
    dropped: int | None
    oldest: dt.datetime | None
    level: str  # ok | warn | bad | unknown
    problems: list[str]
    # Slices the agent sealed and then lost (a damaged outbox, a full disk at exit),
    # by its own count; older agents do not report it (None).
    lost: int | None = None


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
    lost = _count(report, "lost")
    reason = report.get("lost_reason")
    if lost or isinstance(reason, str):
        why = f": {reason}" if isinstance(reason, str) else ""
        problems.append(f"{lost or 0} slices lost on the computer{why}")
        level = "bad"
    if parked:
        problems.append(f"{parked} slices parked (refused by the collector)")
    if queued is not None and queued >= QUEUE_WARN_SLICES:
        problems.append(f"{queued} slices waiting to be sent")
    if queued and oldest and reported_at and reported_at - oldest >= QUEUE_WARN_AGE:
        problems.append("the oldest waiting slice is more than 2 hours old")
    if problems and level == "ok":
        level = "warn"
    return QueueReport(queued, parked, dropped, oldest, level, problems, lost)
