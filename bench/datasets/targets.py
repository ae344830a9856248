"""Where a cached data set lives, and its marker.

On SQLite a file in ``.bench-cache/`` with the marker as a JSON file beside it; on
PostgreSQL a database of its own with the marker as the database's comment, so the
marker lives and dies with the data.  A target without a marker holds nothing usable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bench.lanes import LANES, pg_admin, pg_admin_url
from collector.db.engine import configure_engine

# This file is bench/datasets/targets.py: the cache sits at the repository root (git-ignored).
CACHE_DIR = Path(__file__).resolve().parents[2] / ".bench-cache"

Marker = dict[str, Any]


def scale_tag(scale: float) -> str:
    """A scale as cache names spell it: "1.0", "0.01"."""
    return repr(float(scale))


@contextmanager
def opened(url: str) -> Iterator[Engine]:
    """An engine with the app's own per-connection settings (WAL on SQLite), disposed on exit."""
    engine = create_engine(url)
    configure_engine(engine)
    try:
        yield engine
    finally:
        engine.dispose()


class Target(Protocol):
    lane: str
    url: str
    shown: str  # how messages name it
    key: str  # unique among all caches: names its lock

    def read_marker(self) -> Marker | None: ...
    def write_marker(self, marker: Marker) -> None: ...
    def reset(self) -> None: ...
    def analyze(self, *, sqlite: bool) -> None: ...
    def size_bytes(self) -> int: ...


class SqliteTarget:
    lane = "sqlite"

    def __init__(self, stem: str) -> None:
        self.path = CACHE_DIR / f"{stem}.sqlite"
        self.marker_path = self.path.with_suffix(".json")
        self.url = f"sqlite:///{self.path}"
        self.shown = str(self.path)
        self.key = stem

    def read_marker(self) -> Marker | None:
        if not self.path.exists() or not self.marker_path.exists():
            return None
        try:
            return dict(json.loads(self.marker_path.read_text()))
        except (OSError, ValueError):
            return None

    def write_marker(self, marker: Marker) -> None:
        partial = self.marker_path.with_suffix(".json.tmp")
        partial.write_text(json.dumps(marker, indent=2) + "\n")
        partial.replace(self.marker_path)  # the marker appears whole, after the data

    def reset(self) -> None:
        CACHE_DIR.mkdir(exist_ok=True)
        for path in (self.marker_path, *(Path(f"{self.path}{s}") for s in ("", "-wal", "-shm"))):
            path.unlink(missing_ok=True)

    def analyze(self, *, sqlite: bool) -> None:
        if not sqlite:
            return
        t0 = time.monotonic()
        with opened(self.url) as engine, engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
        print(f"  ANALYZE in {time.monotonic() - t0:.1f} s", flush=True)

    def size_bytes(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0


class PostgresTarget:
    lane = "postgresql"

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = make_url(pg_admin_url()).set(database=name).render_as_string(False)
        self.shown = f"database {name}"
        self.key = name

    def read_marker(self) -> Marker | None:
        with pg_admin() as conn:
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

    def write_marker(self, marker: Marker) -> None:
        literal = json.dumps(marker).replace("'", "''")
        with pg_admin() as conn:
            conn.execute(text(f"COMMENT ON DATABASE \"{self.name}\" IS '{literal}'"))

    def reset(self) -> None:
        with pg_admin() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))

    def analyze(self, *, sqlite: bool) -> None:
        # VACUUM also sets the visibility map that index-only scans need.
        t0 = time.monotonic()
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text("VACUUM (ANALYZE)"))
        finally:
            engine.dispose()
        print(f"  VACUUM ANALYZE in {time.monotonic() - t0:.1f} s", flush=True)

    def size_bytes(self) -> int:
        with pg_admin() as conn:
            size = conn.execute(text("SELECT pg_database_size(:n)"), {"n": self.name})
            return int(size.scalar_one())


def target(lane: str, sqlite_stem: str, postgres_name: str) -> Target:
    """The cache on ``lane``: file ``<sqlite_stem>.sqlite`` or database ``postgres_name``."""
    if lane == "sqlite":
        return SqliteTarget(sqlite_stem)
    if lane == "postgresql":
        return PostgresTarget(postgres_name)
    raise ValueError(f"unknown lane {lane!r}; choose one of {', '.join(LANES)}")
