"""Where a cache lives: a SQLite file with a JSON sidecar, or a PostgreSQL database."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.stats_data.loaders import Loader, PostgresLoader, SqliteLoader
from bench.stats_data.parameters import CACHE_DIR, GENERATOR_VERSION, LANES


def _scale_tag(scale: float) -> str:
    return repr(float(scale))


class _Target(Protocol):
    lane: str
    url: str
    shown: str

    def read_marker(self) -> dict[str, Any] | None: ...
    def write_marker(self, marker: dict[str, Any]) -> None: ...
    def reset(self) -> None: ...
    def loader(self) -> Loader: ...
    def vacuum(self) -> None: ...
    def size_bytes(self) -> int: ...


class SqliteTarget:
    lane = "sqlite"

    def __init__(self, scale: float) -> None:
        self.path = CACHE_DIR / f"stats-{GENERATOR_VERSION}-scale{_scale_tag(scale)}.sqlite"
        self.marker_path = self.path.with_suffix(".json")
        self.url = f"sqlite:///{self.path}"
        self.shown = str(self.path)

    def read_marker(self) -> dict[str, Any] | None:
        if not self.path.exists() or not self.marker_path.exists():
            return None
        try:
            found: dict[str, Any] = json.loads(self.marker_path.read_text())
        except (OSError, ValueError):
            return None
        return found

    def write_marker(self, marker: dict[str, Any]) -> None:
        partial = self.marker_path.with_suffix(".json.tmp")
        partial.write_text(json.dumps(marker, indent=2) + "\n")
        partial.replace(self.marker_path)  # the marker appears whole, after the data

    def reset(self) -> None:
        CACHE_DIR.mkdir(exist_ok=True)
        for path in (self.marker_path, *(Path(f"{self.path}{s}") for s in ("", "-wal", "-shm"))):
            path.unlink(missing_ok=True)

    def loader(self) -> Loader:
        return SqliteLoader(self.path)

    def vacuum(self) -> None:
        pass

    def size_bytes(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0


class PostgresTarget:
    lane = "postgresql"

    def __init__(self, scale: float) -> None:
        from bench.lanes import pg_admin_url

        self.admin_url = pg_admin_url()
        tag = re.sub(r"[^a-z0-9]", "_", _scale_tag(scale).lower())
        self.name = f"ct_bench_stats_{GENERATOR_VERSION}_s{tag}"
        self.url = make_url(self.admin_url).set(database=self.name).render_as_string(False)
        self.shown = f"database {self.name}"

    @contextmanager
    def _admin(self) -> Iterator[Any]:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def read_marker(self) -> dict[str, Any] | None:
        # The marker is the database's comment: it lives and dies with the data.
        with self._admin() as conn:
            comment = conn.execute(
                text(
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                    "WHERE datname = :name"
                ),
                {"name": self.name},
            ).scalar()
        try:
            return None if comment is None else dict(json.loads(comment))
        except ValueError:
            return None

    def write_marker(self, marker: dict[str, Any]) -> None:
        literal = json.dumps(marker).replace("'", "''")
        with self._admin() as conn:
            conn.execute(text(f"COMMENT ON DATABASE \"{self.name}\" IS '{literal}'"))

    def reset(self) -> None:
        with self._admin() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))

    def loader(self) -> Loader:
        return PostgresLoader(self.url)

    def vacuum(self) -> None:
        t0 = time.monotonic()
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text("VACUUM (ANALYZE)"))
        finally:
            engine.dispose()
        print(f"  VACUUM ANALYZE in {time.monotonic() - t0:.1f} s", flush=True)

    def size_bytes(self) -> int:
        with self._admin() as conn:
            return int(conn.execute(text("SELECT pg_database_size(:n)"), {"n": self.name}).scalar())


def _target(lane: str, scale: float) -> _Target:
    if lane == "sqlite":
        return SqliteTarget(scale)
    if lane == "postgresql":
        return PostgresTarget(scale)
    raise ValueError(f"unknown lane {lane!r}; choose one of {', '.join(LANES)}")
