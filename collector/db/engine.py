"""Per-connection settings and write transactions, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, exc
from sqlalchemy.orm import Session

from collector.db import liveness
from collector.db.direct import on_driver
from collector.telemetry import meters

BUSY_TIMEOUT_MS = 10000  # how long a SQLite writer waits for the lock


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def configure_engine(engine: Engine) -> None:
    """Per-connection settings; SQLite needs WAL and explicit write locking."""
    if engine.dialect.name == "postgresql":
        liveness.check_on_checkout(engine)
    if engine.dialect.name != "sqlite":
        return
    path = database_file(engine.url.database)

    @event.listens_for(engine, "do_connect")
    def _before_connect(*_args: Any) -> None:
        # A connection opened while the files are read-only stays read-only for
        # its whole life: refuse to open one rather than pool it.
        if path is not None:
            _check_writable(path, "connect")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # No memory-mapped reads of the database file, whatever the SQLite build's
        # default: an I/O error on a mapped page arrives as SIGBUS, not as an error.
        cursor.execute("PRAGMA mmap_size=0")
        cursor.close()
        # SQLite's lower() knows ASCII only; PostgreSQL's knows every letter.  Searches
        # that ignore case (the fan search, stats/fans.py) call this one so both agree.
        dbapi_connection.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if path is not None:
            _check_writable(path, "BEGIN")
        # A deferred transaction that later writes fails at once with
        # SQLITE_BUSY when another process wrote meanwhile; writers take the
        # lock up front (see begin_write) and so wait on busy_timeout instead.
        immediate = conn.get_execution_options().get(_IMMEDIATE)
        if not immediate:
            on_driver(conn, "BEGIN")
            return
        started = time.perf_counter()
        on_driver(conn, "BEGIN IMMEDIATE")
        meters.LOCK_WAIT.labels("sqlite_write").observe(time.perf_counter() - started)


def database_file(database: str | None) -> Path | None:
    """The SQLite file behind a URL; None for in-memory and URI databases."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).absolute()


def _check_writable(path: Path, statement: str) -> None:
    """Refuse to touch a SQLite database whose files this process cannot write.

    WAL mode keeps its index in the ``-shm`` file, which SQLite always maps into
    memory (``mmap_size`` does not cover it; only exclusive locking or leaving WAL
    avoids the mapping, and both cost the concurrency several processes need).
    Writers store into that mapping, and so may readers (their read marks); once the
    file is made immutable the kernel answers such a store with SIGBUS and the
    process dies (issue 12, finding 6).  So each transaction first checks, with
    access(2), that the files are still writable (a few system calls) and
    otherwise raises the driver's OperationalError: the API answers 503, the
    command line an error, and the pooled connections are left untouched so the
    process recovers when the files are writable again.  A change landing inside
    a running transaction can still fault; the check narrows that to its length.
    """
    problem = _unwritable(path)
    if problem is not None:
        raise exc.OperationalError(statement, None, sqlite3.OperationalError(problem))


def _unwritable(path: Path) -> str | None:
    """Why SQLite could not write the database at ``path`` now, or None if it can."""
    for file in (str(path), f"{path}-wal", f"{path}-shm"):
        writable = _writable(file)
        if writable:
            continue
        if writable is not None:
            return f"database file is not writable: {file}"
        # Not there yet: SQLite will create it in the folder.
        if not os.path.isdir(path.parent):
            return f"the database's folder does not exist: {path.parent}"
        if not os.access(path.parent, os.W_OK | os.X_OK, effective_ids=_EFFECTIVE):
            return f"the database's folder is not writable: {path.parent}"
    return None


def _writable(file: str) -> bool | None:
    """Whether ``file`` can be written; None when it does not exist.

    SQLite deletes ``-wal`` and ``-shm`` when a process closes its last connection and
    another process creates them again, so a file can vanish and reappear between two
    calls: only a file seen existing and refused three times in a row counts as unwritable."""
    for _ in range(3):
        if os.access(file, os.R_OK | os.W_OK, effective_ids=_EFFECTIVE):
            return True
        if not os.path.exists(file):
            return None
    return False


# access(2) with the effective ids when the platform can (what open() will see).
_EFFECTIVE = os.access in os.supports_effective_ids


_IMMEDIATE = "chattertrack_write"


@contextmanager
def write_transaction(connection: Connection) -> Iterator[None]:
    """A writer's transaction on a Core connection (BEGIN IMMEDIATE on SQLite)."""
    connection.execution_options(**{_IMMEDIATE: True})
    with connection.begin():
        yield


@contextmanager
def then_write(connection: Connection) -> Iterator[None]:
    """Go on from a read transaction to a writer's one, committed at the end of the block.

    SQLite: the reads end here and BEGIN IMMEDIATE takes the write lock only now, so other
    workers check their requests meanwhile.  PostgreSQL has no database-wide write lock:
    the same transaction goes on (a ROLLBACK and a BEGIN fewer, two round trips).
    """
    if connection.dialect.name == "sqlite":
        connection.rollback()
        with write_transaction(connection):
            yield
        return
    yield
    connection.commit()


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer; call before any statement."""
    if session.in_transaction():
        raise RuntimeError("begin_write must open the transaction")
    session.connection(execution_options={_IMMEDIATE: True})


def writing(session: Session) -> bool:
    """Whether the session's transaction was opened by ``begin_write``."""
    if not session.in_transaction():
        return False
    return bool(session.connection().get_execution_options().get(_IMMEDIATE))


@contextmanager
def quick_write(engine: Engine) -> Iterator[Connection]:
    """A small write on a connection of its own that never waits on a lock: when the
    database is busy it fails at once (OperationalError), and the caller skips it.

    For bookkeeping that may be lost (a token's last use), never for data.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _busy_timeout(connection, 0)
        try:
            with write_transaction(connection):
                if not sqlite:
                    connection.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
                    connection.exec_driver_sql("SET LOCAL statement_timeout = '2s'")
                yield connection
        finally:
            if sqlite:
                _busy_timeout(connection, BUSY_TIMEOUT_MS)


def _busy_timeout(connection: Connection, milliseconds: int) -> None:
    # On the driver's connection: a statement through SQLAlchemy would open a transaction.
    cursor = connection.connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={milliseconds}")
    cursor.close()
