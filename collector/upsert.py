"""INSERT ... ON CONFLICT DO NOTHING for both SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from collector.db import Base


def insert_ignoring_conflicts(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    conflict_columns: Sequence[str],
    returning: str,
) -> list[Any]:
    """Insert rows, skipping those that hit the unique key; returns what was inserted.

    Concurrent writers are safe: the database, not a prior SELECT, decides
    which rows are new.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(model)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(model.__table__.c[returning])
    )
    return list(session.scalars(stmt, list(rows)))
