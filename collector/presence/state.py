"""What a presence row means now: the one definition of online and offline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from collector.db.models import Device
from collector.db.schedule_models import Presence

_Row = TypeVarTuple("_Row")

# The agent sends presence every 30 s; three missed messages make a device offline.
INTERVAL = dt.timedelta(seconds=30)
OFFLINE_AFTER = dt.timedelta(seconds=90)
# The least time between two messages of one device the collector takes (a message sooner
# after the last one stored is refused, 429): half the interval, so a message delayed on
# the way (the agent waits at most 11 s for an answer) is never refused, and a refused
# one costs the agent one wait (60 s at least), well inside OFFLINE_AFTER.
MIN_INTERVAL = dt.timedelta(seconds=15)
STATES = ("active", "idle", "paused")
OFFLINE = "offline"


def live_state(state: str, received_at: dt.datetime | None, now: dt.datetime) -> str:
    """``state`` while the last message is fresh, else ``offline``."""
    if received_at is None or now - received_at >= OFFLINE_AFTER:
        return OFFLINE
    return state


def in_use(query: Select[*_Row]) -> Select[*_Row]:
    """``query`` over presence rows, limited to devices still in use: not revoked, not
    uninstalled, still the chatter's.  An agent that stopped just before its uninstall
    message (or a message landing after it) would otherwise count as online for up to
    ``OFFLINE_AFTER``; the board and the alert conditions read presence through this."""
    return query.join(Device, Device.id == Presence.device_id).where(
        Device.revoked_at.is_(None),
        Device.retired_at.is_(None),
        Device.chatter_id == Presence.chatter_id,
    )


def last_batches(
    session: Session, chatter_ids: Collection[int] | None = None
) -> dict[int, dt.datetime]:
    """Chatter -> the last batch of slices any of their devices not revoked sent
    (``Device.last_seen_at``).  With their presence, it says when the chatter was last
    heard from (an agent older than presence sends slices only); the board and the alert
    conditions both read it here.  An uninstalled device's last batch still counts."""
    query = select(Device.chatter_id, func.max(Device.last_seen_at)).where(
        Device.revoked_at.is_(None), Device.last_seen_at.is_not(None)
    )
    if chatter_ids is not None:
        query = query.where(Device.chatter_id.in_(sorted(chatter_ids)))
    return {
        chatter_id: seen
        for chatter_id, seen in session.execute(query.group_by(Device.chatter_id))
        if seen is not None
    }
