"""Bulk loaders: stdlib sqlite3 ``executemany`` on SQLite, ``COPY ... FROM STDIN`` on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import make_url

from bench.stats_data.parameters import EVENT_COLUMNS, SLICE_COLUMNS, SOURCE, EventTuple, SliceTuple


class _TimeText:
    """Epoch seconds -> the text a database stores for a UTC timestamp."""

    def __init__(self, suffix: str) -> None:
        self._clock = [
            f"{h:02d}:{m:02d}:{s:02d}{suffix}"
            for h in range(24)
            for m in range(60)
            for s in range(60)
        ]
        self._dates: dict[int, str] = {}

    def __call__(self, t: int) -> str:
        day, second = divmod(t, 86400)
        date = self._dates.get(day)
        if date is None:
            date = self._dates[day] = dt.date.fromordinal(719163 + day).isoformat() + " "
        return date + self._clock[second]


# SQLAlchemy's SQLite DateTime stores naive UTC (UTCDateTime strips the zone) with microseconds.
SQLITE_TIME = _TimeText(".000000")
POSTGRES_TIME = _TimeText("+00")


class Loader(Protocol):
    def events(self, rows: Sequence[EventTuple]) -> None: ...
    def slices(self, rows: Sequence[SliceTuple]) -> None: ...
    def close(self) -> None: ...


class SqliteLoader:
    """stdlib sqlite3, one transaction per chunk, durability off for the load only."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=OFF",
            "foreign_keys=ON",
            "cache_size=-1048576",  # 1 GiB: the unique index on event_id stays in memory
            "temp_store=MEMORY",
        ):
            self.conn.execute(f"PRAGMA {pragma}")
        marks = ", ".join("?" * len(EVENT_COLUMNS))
        self._events = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({marks})"
        marks = ", ".join("?" * len(SLICE_COLUMNS))
        self._slices = f"INSERT INTO slices ({', '.join(SLICE_COLUMNS)}) VALUES ({marks})"

    def events(self, rows: Sequence[EventTuple]) -> None:
        f = SQLITE_TIME
        self._write(
            self._events,
            [
                (n, e, ty, f(t), cr, ch, co, k, ref, a, SOURCE, h, f(rec))
                for n, e, ty, t, cr, ch, co, k, ref, a, h, rec in rows
            ],
        )

    def slices(self, rows: Sequence[SliceTuple]) -> None:
        f = SQLITE_TIME
        self._write(
            self._slices,
            [
                (n, d, c, f(s), du, a, i, p, k, m, q, b, f(r))
                for n, d, c, s, du, a, i, p, k, m, q, b, r in rows
            ],
        )

    def _write(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        self.conn.execute("BEGIN")
        self.conn.executemany(sql, params)
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()


class PostgresLoader:
    """COPY FROM STDIN in text format, one COPY per chunk and table.

    Rows are formatted here and sent from a worker thread, so the server stores one
    chunk while the next is generated (the thread waits on the socket without the GIL).
    """

    NULL = "\\N"

    def __init__(self, url: str) -> None:
        import psycopg

        u = make_url(url)
        self.conn = psycopg.connect(
            host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database
        )
        self.conn.execute("SET synchronous_commit = off")
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
        with self.conn.cursor() as cur, cur.copy(sql) as copy:
            for i in range(0, len(data), 1 << 20):
                copy.write(data[i : i + (1 << 20)])
        self.conn.commit()

    def close(self) -> None:
        try:
            for pending in self._pending:
                pending.result()
        finally:
            self._pool.shutdown()
        for table in ("events", "slices"):
            self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        self.conn.commit()
        self.conn.close()
