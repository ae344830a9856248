"""Every derived fact and rollup recomputed from the raw rows, in one transaction."""

from __future__ import annotations

from sqlalchemy import Connection

from collector.conversations import rebuild as conversations
from collector.stats import rebuild as stats


def rebuild_everything(connection: Connection) -> None:
    """The chatter stats, then the conversation analytics."""
    stats.rebuild_all(connection)
    conversations.rebuild(connection)
