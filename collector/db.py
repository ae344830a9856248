"""Engine, session and column types shared by every model."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Integer,
    MetaData,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only makes INTEGER PRIMARY KEY an auto-incrementing rowid.
BigId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        # SQLite has no time zone type; store naive UTC text there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime}


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


class Database:
    """One engine per app, one session per app context (request or CLI command).

    The pattern of flask-sqlalchemy-lite, synchronous only: that extension's
    async teardown ran an event loop on every request, which cost more than
    the request itself.
    """

    _KEY = "chattertrack.db"

    def init_app(self, app: Flask) -> None:
        options = dict(app.config["DATABASE_ENGINE"])
        engine = create_engine(options.pop("url"), **options)
        configure_engine(engine)
        app.extensions[self._KEY] = sessionmaker(engine)
        app.teardown_appcontext(self._close_session)

    @property
    def _factory(self) -> sessionmaker[Session]:
        factory: sessionmaker[Session] = current_app.extensions[self._KEY]
        return factory

    @property
    def engine(self) -> Engine:
        bind = self._factory.kw["bind"]
        assert isinstance(bind, Engine)
        return bind

    @property
    def session(self) -> Session:
        session: Session | None = g.get("_db_session")
        if session is None:
            session = g._db_session = self._factory()
        return session

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("_db_session", None)
        if session is not None:
            session.close()


db = Database()
