"""Upgrading a database to the newest schema, with the statistics its new tables need."""

from __future__ import annotations

from sqlalchemy import Engine

from collector.conversations import rebuild as conversations
from collector.db import migrate
from collector.stats import rebuild as stats

# Revisions after which the derived facts and rollups must be recomputed from raw rows:
# chatter stats appeared in 0002, conversation analytics in 0005 (events from 0004 on).
_REBUILD_STATS_AFTER = {"0001"}
_REBUILD_CONVERSATIONS_AFTER = {"0004"}


def upgrade(engine: Engine, revision: str = "head") -> None:
    before = migrate.current(engine)
    with engine.begin() as connection:
        migrate.upgrade(connection, revision)
        if revision != "head":
            return
        if before in _REBUILD_STATS_AFTER:
            stats.rebuild_all(connection)
        if before in _REBUILD_STATS_AFTER | _REBUILD_CONVERSATIONS_AFTER:
            conversations.rebuild(connection)
