"""INSERT ... ON CONFLICT DO NOTHING for both SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite

from collector.db.base import Base
from collector.db.direct import Fixed


@cache
def _statement(
    dialect: str, table: Table, conflict: tuple[str, ...], returning: str | None
) -> Insert:
    # Built once per shape: constructing statements costs more than running them.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).on_conflict_do_nothing(index_elements=list(conflict))
    return statement if returning is None else statement.returning(table.c[returning])


@cache
def _counted(dialect: str, table: Table, conflict: tuple[str, ...]) -> Fixed:
    # On the driver's cursor (collector/db/direct.py), without RETURNING.
    return Fixed(_statement(dialect, table, conflict, None))


def count_inserted(
    connection: Connection,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    conflict_columns: Sequence[str],
) -> int:
    """Insert rows as ``insert_ignoring_conflicts`` does; how many were new.

    For a caller that needs only the count (the heartbeat ingest): on SQLite the rows go
    through the driver's executemany, without RETURNING, which costs a fraction of it.
    """
    if not rows:
        return 0
    table = model.__table__
    assert isinstance(table, Table)
    conflict = tuple(conflict_columns)
    if connection.dialect.name == "postgresql" and len(rows) > 1:
        return len(_postgres_unnest(connection, table, rows, conflict, conflict[0]))
    return _counted(connection.dialect.name, table, conflict).run_many(connection, rows)


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
    if connection.dialect.name == "postgresql" and len(rows) > 1:
        return _postgres_unnest(connection, table, rows, tuple(conflict_columns), returning)
    stmt = _statement(connection.dialect.name, table, tuple(conflict_columns), returning)
    return list(connection.execute(stmt, list(rows)).scalars())


def _postgres_unnest(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    conflict: tuple[str, ...],
    returning: str,
) -> list[Any]:
    """One array per column through unnest(): a short statement whatever the batch size.

    A multi-row VALUES list of thousands of placeholders is re-parsed by the
    driver on every call; this costs a fraction of that.
    """
    names = list(rows[0])
    quote = connection.dialect.identifier_preparer.quote
    casts = ", ".join(
        f"%s::{table.c[name].type.compile(dialect=connection.dialect)}[]" for name in names
    )
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"SELECT * FROM unnest({casts}) "
        f"ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO NOTHING "
        f"RETURNING {quote(returning)}"
    )
    columns = tuple([_pg_value(row[name]) for row in rows] for name in names)
    return [r[0] for r in connection.exec_driver_sql(sql, columns)]


def _pg_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        from psycopg.types.json import Json

        return Json(value)
    return value
