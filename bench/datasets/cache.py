"""Keeping a cached data set current, one builder at a time.

A cache is built from scratch when its recipe's identity (generator version, seed,
scale) differs from its marker's, or when asked to; a newer Alembic head is reached by
running the migrations on the cached rows, as production would; the facts and rollups
alone are rebuilt when the collector code that writes them (the recipe's ``writers``)
changed since they were built.  The marker is written once the rows are in, and again
after each later step, so an interrupted build starts over and an interrupted rollup
rebuild is simply done again.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

import collector
from bench.datasets.targets import CACHE_DIR, Marker, Target, opened
from collector.db import migrate
from collector.maintenance import upgrade

COLLECTOR_DIR = Path(collector.__file__).parent


@dataclass(frozen=True)
class Recipe:
    """What one data set is made of and how it is loaded; each builder has one."""

    identity: Marker  # generator, seed, scale: a cache whose marker differs is rebuilt
    # Fill the migrated, empty database; returns what the marker adds (counts, a summary).
    load: Callable[[Target], Marker]
    rebuild: Callable[[Connection], object]  # the collector's rebuild of the facts and rollups
    writers: tuple[str, ...]  # files under collector/ whose code decides what the rollups hold
    # Planner statistics on SQLite too (PostgreSQL always gets VACUUM ANALYZE): each data set
    # keeps the statistics its queries were measured with.
    analyze_sqlite: bool


@contextmanager
def locked(target: Target) -> Iterator[None]:
    """One builder per cache at a time, across processes."""
    CACHE_DIR.mkdir(exist_ok=True)
    with (CACHE_DIR / f"{target.key}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fingerprint(writers: tuple[str, ...]) -> str:
    """The fingerprint of the collector code that writes facts and rollups.

    Read paths (queries, reports) are left out: editing them must not cost a rebuild.
    """
    digest = hashlib.sha256()
    for name in sorted(writers):
        digest.update(name.encode() + b"\0" + (COLLECTOR_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def ensure(target: Target, recipe: Recipe, *, force: bool = False) -> Marker:
    """The marker of the data set at ``target``, built, migrated or rolled up first if needed."""
    with locked(target):
        marker = target.read_marker()
        head = migrate.head()
        if force or marker is None or any(marker.get(k) != v for k, v in recipe.identity.items()):
            marker = _build(target, recipe, head)
        else:
            print(f"[{target.lane}] cached: {target.shown}", flush=True)
            if marker.get("alembic_revision") != head:
                _migrate(target, recipe, marker, head)
        if marker.get("rollups_fingerprint") != fingerprint(recipe.writers):
            _rebuild(target, recipe, marker)
    return marker


def _build(target: Target, recipe: Recipe, head: str | None) -> Marker:
    shown = ", ".join(f"{k} {v}" for k, v in recipe.identity.items())
    print(f"[{target.lane}] building {target.shown} ({shown})", flush=True)
    t0 = time.monotonic()
    target.reset()
    with opened(target.url) as engine:
        upgrade.upgrade(engine)
    marker = {**recipe.identity, "alembic_revision": head, **recipe.load(target)}
    target.analyze(sqlite=recipe.analyze_sqlite)
    loaded = round(time.monotonic() - t0, 1)
    print(f"[{target.lane}] loaded in {loaded} s", flush=True)
    marker |= {
        "rollups_fingerprint": None,  # not built yet
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": {"load": loaded},
    }
    target.write_marker(marker)
    return marker


def _migrate(target: Target, recipe: Recipe, marker: Marker, head: str | None) -> None:
    # A migration that changes what the rollups hold changes their writers too (rebuilt next).
    print(f"[{target.lane}] migrating {target.shown} to revision {head}", flush=True)
    t0 = time.monotonic()
    with opened(target.url) as engine:
        upgrade.upgrade(engine)
    target.analyze(sqlite=recipe.analyze_sqlite)
    marker["alembic_revision"] = head
    marker.setdefault("seconds", {})["migrate"] = round(time.monotonic() - t0, 1)
    target.write_marker(marker)


def _rebuild(target: Target, recipe: Recipe, marker: Marker) -> None:
    print(f"[{target.lane}] building the rollups of {target.shown}", flush=True)
    # Taken first: code edited while the rebuild runs is seen as changed next time.
    writers = fingerprint(recipe.writers)
    t0 = time.monotonic()
    with opened(target.url) as engine, engine.begin() as conn:
        recipe.rebuild(conn)
    seconds = round(time.monotonic() - t0, 1)
    print(f"  rollups rebuilt in {seconds} s", flush=True)
    # The rebuild rewrote many rows: fresh statistics now, not an autovacuum mid-bench.
    target.analyze(sqlite=recipe.analyze_sqlite)
    marker["rollups_fingerprint"] = writers
    marker.setdefault("seconds", {})["rollups"] = seconds
    target.write_marker(marker)
