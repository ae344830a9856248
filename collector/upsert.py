"""INSERT ... ON CONFLICT DO NOTHING for both SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from collector.db import Base


def insert_ignoring_conflicts(
    connection: Connection,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    conflict_columns: Sequence[str],
    returning: str,
) -> list[Any]:
    """Insert rows, skipping those that hit the unique key; returns what was inserted.

    Concurrent writers are safe: the database, not a prior SELECT, decides
    which rows are new.  This is a Core statement on purpose: the ORM's bulk
    path splits rows whose None-columns differ into single-row INSERTs.
    """
    if not rows:
        return []
    table = model.__table__
    assert isinstance(table, Table)
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(table.c[returning])
    )
    return list(connection.execute(stmt, list(rows)).scalars())
