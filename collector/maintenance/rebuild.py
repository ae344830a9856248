"""Every derived fact and rollup recomputed from the raw rows, in one transaction."""

from __future__ import annotations

from sqlalchemy import Connection

from collector.attendance import store as attendance
from collector.conversations import rebuild as conversations
from collector.stats import rebuild as stats
from collector.stats.repair import SliceRepair


def rebuild_everything(connection: Connection, *, actor: str = "system") -> SliceRepair:
    """The chatter stats (overlapping slices removed first), then the conversation analytics."""
    repaired = stats.rebuild_all(connection, actor=actor)
    conversations.rebuild(connection)
    attendance.rebuild(connection)
    return repaired
