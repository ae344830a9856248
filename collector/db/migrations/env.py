"""Alembic environment; run through collector.db.migrate, not the alembic CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from collector.config import normalise_database_url

# Every table in the metadata: autogenerate compares the migrations with all of them.
from collector.db import (  # noqa: F401
    alert_models,
    conversation_models,
    models,
    payroll_models,
    schedule_models,
)
from collector.db.base import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = normalise_database_url(context.config.get_main_option("sqlalchemy.url") or "")
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
