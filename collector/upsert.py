"""INSERT ... ON CONFLICT DO NOTHING for both SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite

from collector.db import Base


@cache
def _statement(dialect: str, table: Table, conflict: tuple[str, ...], returning: str) -> Insert:
    # Built once per shape: constructing statements costs more than running them.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(table.c[returning])
    )


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
    stmt = _statement(connection.dialect.name, table, tuple(conflict_columns), returning)
    return list(connection.execute(stmt, list(rows)).scalars())
