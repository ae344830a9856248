"""Rows whose key is one of a long list of keys, on both databases.

SQLite: ``IN (...)`` lists of up to 500 keys (its parameter limit).  PostgreSQL: the keys
as one array parameter, joined with ``unnest()``.  An IN list of hundreds of keys on a
table the planner has no statistics for yet (a new database's first imports) made
PostgreSQL scan the table and compare every row with every key: 0.5 s for 500 event ids
at 30,000 events.  The join reads the index, or hashes the keys, whatever the statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, String, bindparam, func, select
from sqlalchemy.dialects import postgresql

CHUNK = 500
_KEYS = select(
    func.unnest(bindparam("listed_keys", type_=postgresql.ARRAY(String))).label("key")
).subquery("listed")


def rows_with(
    connection: Connection, query: Select[Any], column: Any, keys: Sequence[str]
) -> list[Any]:
    """The rows of ``query`` whose ``column`` is one of ``keys``."""
    if not keys:
        return []
    if connection.dialect.name == "postgresql":
        # Each key once: a key listed twice would join its rows twice.
        joined = query.join(_KEYS, column == _KEYS.c.key)
        return list(connection.execute(joined, {"listed_keys": list(dict.fromkeys(keys))}))
    found: list[Any] = []
    for i in range(0, len(keys), CHUNK):
        found += connection.execute(query.where(column.in_(keys[i : i + CHUNK]))).all()
    return found
