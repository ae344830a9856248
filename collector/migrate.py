"""Create or migrate the database with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str = "") -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url)
    return cfg


# Revisions after which the derived facts and rollups must be recomputed from raw rows:
# chatter stats appeared in 0002, conversation analytics in 0005 (events from 0004 on).
_REBUILD_STATS_AFTER = {"0001"}
_REBUILD_CONVERSATIONS_AFTER = {"0004"}


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    before = current(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        if revision != "head":
            return
        if before in _REBUILD_STATS_AFTER:
            from collector.stats.rollups import rebuild

            rebuild(connection)
        if before in _REBUILD_STATS_AFTER | _REBUILD_CONVERSATIONS_AFTER:
            from collector.conversations.rebuild import rebuild as rebuild_conversations

            rebuild_conversations(connection)


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
