"""What a presence row means now: the one definition of online and offline."""

from __future__ import annotations

import datetime as dt

# The agent sends presence every 30 s; three missed messages make a device offline.
INTERVAL = dt.timedelta(seconds=30)
OFFLINE_AFTER = dt.timedelta(seconds=90)
STATES = ("active", "idle", "paused")
OFFLINE = "offline"


def live_state(state: str, received_at: dt.datetime | None, now: dt.datetime) -> str:
    """``state`` while the last message is fresh, else ``offline``."""
    if received_at is None or now - received_at >= OFFLINE_AFTER:
        return OFFLINE
    return state
