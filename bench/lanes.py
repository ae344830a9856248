"""Database lanes: the lane names, a fresh SQLite file or a fresh PostgreSQL database (always
removed), the PostgreSQL server's admin connection, and one-value reads."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

LANES = ("sqlite", "postgresql")
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pg_admin_url() -> str:
    return (
        os.environ.get("CHATTER_BENCH_PG_URL")
        or os.environ.get("CHATTER_TEST_PG_URL")
        or DEFAULT_PG_ADMIN_URL
    )


@contextmanager
def pg_admin(admin_url: str | None = None) -> Iterator[Connection]:
    """An autocommit connection to the server's admin database (CREATE/DROP/COMMENT DATABASE)."""
    engine = create_engine(
        admin_url or pg_admin_url(),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
    )
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def pg_unreachable(admin_url: str) -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers."""
    try:
        with pg_admin(admin_url) as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means the lane cannot run
        shown = make_url(admin_url).render_as_string(hide_password=True)
        return f"cannot reach {shown} ({exc.__class__.__name__}: {str(exc).splitlines()[0]})"
    return None


def sqlite_url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'collector.db'}"


def database_prefix() -> str:
    """The name prefix of the lane's throw-away databases (CHATTER_BENCH_DB_PREFIX): on a
    shared PostgreSQL server each engineer's runs keep to names of their own."""
    prefix = os.environ.get("CHATTER_BENCH_DB_PREFIX") or "ct_bench_"
    if not prefix.replace("_", "").isalnum() or not prefix.islower():
        raise ValueError(f"CHATTER_BENCH_DB_PREFIX {prefix!r}: lower-case letters, digits, _")
    return prefix


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A new empty database ``<prefix><random>``, dropped (even if still in use) on exit."""
    name = f"{database_prefix()}{uuid.uuid4().hex[:12]}"
    with pg_admin(admin_url) as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with pg_admin(admin_url) as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def scalar(url: str, sql: str, **params: Any) -> Any:
    """One value from the lane's database, read on a short-lived connection."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()
