"""Per-connection settings and write transactions, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session


def configure_engine(engine: Engine) -> None:
    """Per-connection settings; SQLite needs WAL and explicit write locking."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that later writes fails at once with
        # SQLITE_BUSY when another process wrote meanwhile; writers take the
        # lock up front (see begin_write) and so wait on busy_timeout instead.
        immediate = conn.get_execution_options().get(_IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_IMMEDIATE = "chattertrack_write"


@contextmanager
def write_transaction(connection: Connection) -> Iterator[None]:
    """A writer's transaction on a Core connection (BEGIN IMMEDIATE on SQLite)."""
    connection.execution_options(**{_IMMEDIATE: True})
    with connection.begin():
        yield


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer; call before any statement."""
    if session.in_transaction():
        raise RuntimeError("begin_write must open the transaction")
    session.connection(execution_options={_IMMEDIATE: True})
