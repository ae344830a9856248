"""Writing generated rows fast: timestamps as the collector's text, local midnights, bulk
connections (stdlib sqlite3 ``executemany``, psycopg ``COPY``), the load's progress line."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url


class TimeText:
    """Epoch seconds -> the text a database stores for a UTC timestamp."""

    def __init__(self, suffix: str) -> None:
        # Millions of rows: a table of the day's 86,400 clock texts beats strftime per row.
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
SQLITE_TIME = TimeText(".000000")
POSTGRES_TIME = TimeText("+00")


def local_midnight(day: dt.date, tz_name: str) -> int:
    """Epoch seconds of ``day``'s local midnight in zone ``tz_name``."""
    tz = zoneinfo.ZoneInfo(tz_name)
    return int(dt.datetime.combine(day, dt.time(), tzinfo=tz).timestamp())


class SqliteBulk:
    """stdlib sqlite3 in autocommit mode (each insert is its own explicit transaction)."""

    def __init__(self, path: Path, pragmas: Sequence[str]) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in pragmas:
            self.conn.execute(f"PRAGMA {pragma}")

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Many rows in one transaction."""
        marks = ", ".join("?" * len(columns))
        self.conn.execute("BEGIN")
        self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()


class PostgresBulk:
    """A psycopg connection for COPY, without waiting for the WAL flush at each commit."""

    def __init__(self, url: str) -> None:
        u = make_url(url)
        self.conn = psycopg.connect(
            host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database
        )
        self.conn.execute("SET synchronous_commit = off")

    def close(self, tables: Sequence[str]) -> None:
        """Commit, and move each table's id sequence past the ids the load wrote itself."""
        for table in tables:
            self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        self.conn.commit()
        self.conn.close()


def progress(lane: str, t0: float, days: int) -> Callable[[int, Mapping[str, int]], None]:
    """A line every ten generated days: the rows so far by kind, and rows per second."""

    def report(day: int, rows: Mapping[str, int]) -> None:
        if day % 10 == 9 or day == days - 1:
            counted = ", ".join(f"{n:,} {kind}" for kind, n in rows.items())
            rate = sum(rows.values()) / (time.monotonic() - t0)
            print(f"[{lane}] day {day + 1}/{days}: {counted}, {rate:,.0f} rows/s", flush=True)

    return report
