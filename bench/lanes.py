"""Database lanes: a fresh SQLite file or a fresh PostgreSQL database, always removed."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pg_admin_url() -> str:
    return (
        os.environ.get("CHATTER_BENCH_PG_URL")
        or os.environ.get("CHATTER_TEST_PG_URL")
        or DEFAULT_PG_ADMIN_URL
    )


def _admin_engine(admin_url: str) -> Any:
    return create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )


def pg_unreachable(admin_url: str) -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers."""
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means the lane cannot run
        shown = make_url(admin_url).render_as_string(hide_password=True)
        return f"cannot reach {shown} ({exc.__class__.__name__}: {str(exc).splitlines()[0]})"
    finally:
        engine.dispose()
    return None


def sqlite_url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'collector.db'}"


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A new empty database ``ct_bench_<random>``, dropped (even if still in use) on exit."""
    name = f"ct_bench_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def scalar(url: str, sql: str, **params: Any) -> Any:
    """One value from the lane's database, read on a short-lived connection."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()
