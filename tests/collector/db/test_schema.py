"""Migrations build exactly the models' schema, and upgrading twice changes nothing."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from collector.db import (
    alert_models,  # noqa: F401  (its tables in Base.metadata)
    conversation_models,  # noqa: F401  (its tables in Base.metadata)
    migrate,
    payroll_models,  # noqa: F401  (its tables in Base.metadata)
    schedule_models,  # noqa: F401  (its tables in Base.metadata)
)
from collector.db.models import Base
from tests.collector.conftest import Collector


def test_migrations_match_models(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert migrate.current(engine) == migrate.head()
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_db_upgrade_is_idempotent(collector: Collector) -> None:
    first = collector.cli("db", "upgrade").output
    second = collector.cli("db", "upgrade").output
    assert f"revision {migrate.head()}" in first and first == second
