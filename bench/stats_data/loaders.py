"""Bulk loaders of the agency's events and slices: executemany on SQLite, COPY on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from bench.datasets.rows import POSTGRES_TIME, SQLITE_TIME, PostgresBulk, SqliteBulk
from bench.datasets.targets import SqliteTarget, Target
from bench.stats_data.parameters import EVENT_COLUMNS, SLICE_COLUMNS, SOURCE, EventTuple, SliceTuple


class Loader(Protocol):
    def events(self, rows: Sequence[EventTuple]) -> None: ...
    def slices(self, rows: Sequence[SliceTuple]) -> None: ...
    def close(self) -> None: ...


class SqliteLoader:
    """stdlib sqlite3, one transaction per chunk, durability off for the load only."""

    def __init__(self, path: Path) -> None:
        self.bulk = SqliteBulk(
            path,
            (
                "journal_mode=WAL",
                "synchronous=OFF",
                "foreign_keys=ON",
                "cache_size=-1048576",  # 1 GiB: the unique index on event_id stays in memory
                "temp_store=MEMORY",
            ),
        )

    def events(self, rows: Sequence[EventTuple]) -> None:
        f = SQLITE_TIME
        self.bulk.insert(
            "events",
            EVENT_COLUMNS,
            [
                (n, e, ty, f(t), cr, ch, co, k, ref, a, SOURCE, h, f(rec))
                for n, e, ty, t, cr, ch, co, k, ref, a, h, rec in rows
            ],
        )

    def slices(self, rows: Sequence[SliceTuple]) -> None:
        f = SQLITE_TIME
        self.bulk.insert(
            "slices",
            SLICE_COLUMNS,
            [
                (n, d, c, f(s), du, a, i, p, k, m, q, b, f(r))
                for n, d, c, s, du, a, i, p, k, m, q, b, r in rows
            ],
        )

    def close(self) -> None:
        self.bulk.close()


class PostgresLoader:
    """COPY FROM STDIN in text format, one COPY per chunk and table.

    Rows are formatted here and sent from a worker thread, so the server stores one
    chunk while the next is generated (the thread waits on the socket without the GIL).
    """

    NULL = "\\N"

    def __init__(self, url: str) -> None:
        self.bulk = PostgresBulk(url)
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: list[Future[None]] = []

    def events(self, rows: Sequence[EventTuple]) -> None:
        f, z = POSTGRES_TIME, self.NULL
        data = "".join(
            [
                f"{n}\t{e}\t{ty}\t{f(t)}\t{cr}\t{z if ch is None else ch}"
                f"\t{z if co is None else co}\t{z if k is None else k}"
                f"\t{z if ref is None else ref}\t{z if a is None else a}"
                f"\t{SOURCE}\t{h}\t{f(rec)}\n"
                for n, e, ty, t, cr, ch, co, k, ref, a, h, rec in rows
            ]
        )
        self._submit("events", EVENT_COLUMNS, data)

    def slices(self, rows: Sequence[SliceTuple]) -> None:
        f = POSTGRES_TIME
        data = "".join(
            [
                f"{n}\t{d}\t{c}\t{f(s)}\t{du}\t{a}\t{i}\t{p}\t{k}\t{m}\t{q}\t{b}\t{f(r)}\n"
                for n, d, c, s, du, a, i, p, k, m, q, b, r in rows
            ]
        )
        self._submit("slices", SLICE_COLUMNS, data)

    def _submit(self, table: str, columns: Sequence[str], data: str) -> None:
        # Keys, fan ids and PPV ids never hold tabs, backslashes or newlines: no escaping.
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        while len(self._pending) >= 2:  # bounded: at most two chunks wait in memory
            self._pending.pop(0).result()
        self._pending.append(self._pool.submit(self._copy, sql, data.encode()))

    def _copy(self, sql: str, data: bytes) -> None:
        with self.bulk.conn.cursor() as cur, cur.copy(sql) as copy:
            for i in range(0, len(data), 1 << 20):
                copy.write(data[i : i + (1 << 20)])
        self.bulk.conn.commit()

    def close(self) -> None:
        try:
            for pending in self._pending:
                pending.result()
        finally:
            self._pool.shutdown()
        self.bulk.close(("events", "slices"))


def loader_for(target: Target) -> Loader:
    if isinstance(target, SqliteTarget):
        return SqliteLoader(target.path)
    return PostgresLoader(target.url)
