"""Bulk loaders of the shop's events: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from bench.conversations_data.parameters import EVENT_COLUMNS, RECEIVED, SOURCE, EventRow
from bench.datasets.rows import POSTGRES_TIME, SQLITE_TIME, PostgresBulk, SqliteBulk, TimeText
from bench.datasets.targets import SqliteTarget, Target


class Loader(Protocol):
    def events(self, rows: Sequence[EventRow]) -> None: ...
    def close(self) -> None: ...


def _stored(row: EventRow, f: TimeText) -> tuple[Any, ...]:
    """The row as the collector stores it: times as text, the source and content hash added."""
    return (*row[:2], f(row[2]), *row[3:], SOURCE, _hash(row[0]), f(RECEIVED))


def _hash(event_id: str) -> str:
    return hashlib.sha256(event_id.encode()).hexdigest()


class SqliteLoader:
    """stdlib sqlite3, one transaction per day, durability off for the load only."""

    def __init__(self, path: Path) -> None:
        self.bulk = SqliteBulk(
            path, ("synchronous=OFF", "cache_size=-1048576", "temp_store=MEMORY")
        )

    def events(self, rows: Sequence[EventRow]) -> None:
        self.bulk.insert("events", EVENT_COLUMNS, [_stored(r, SQLITE_TIME) for r in rows])

    def close(self) -> None:
        self.bulk.close()


class PostgresLoader:
    """One COPY FROM STDIN per day, rows adapted by psycopg (the JSON attributes need it)."""

    def __init__(self, url: str) -> None:
        self.bulk = PostgresBulk(url)

    def events(self, rows: Sequence[EventRow]) -> None:
        sql = f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
        with self.bulk.conn.cursor() as cur, cur.copy(sql) as copy:
            for r in rows:
                copy.write_row(_stored(r, POSTGRES_TIME))
        self.bulk.conn.commit()

    def close(self) -> None:
        self.bulk.close(("events",))


def loader_for(target: Target) -> Loader:
    if isinstance(target, SqliteTarget):
        return SqliteLoader(target.path)
    return PostgresLoader(target.url)
