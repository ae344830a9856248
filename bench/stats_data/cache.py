"""The cache: one builder at a time, when a cache is usable, and what the benches read of it."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.stats_data.build import _build
from bench.stats_data.database import _rebuild_rollups, _rollups_fingerprint
from bench.stats_data.parameters import (
    CACHE_DIR,
    CREATORS,
    FIRST_DAY,
    GENERATOR_VERSION,
    LAST_DAY,
    MANAGER_TOKEN,
    SEED,
    TZ_NAME,
)
from bench.stats_data.targets import _scale_tag, _Target, _target
from collector import migrate
from collector.db import configure_engine


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """One builder per cache at a time, across processes."""
    CACHE_DIR.mkdir(exist_ok=True)
    with (CACHE_DIR / f"{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _usable(marker: dict[str, Any] | None, scale: float) -> bool:
    return (
        marker is not None
        and marker.get("generator") == GENERATOR_VERSION
        and marker.get("seed") == SEED
        and marker.get("scale") == scale
    )


def _upgrade(target: _Target, marker: dict[str, Any], head: str | None) -> None:
    """A newer schema: migrate the cached data forward, as production would be."""
    print(f"[{target.lane}] migrating {target.shown} to revision {head}", flush=True)
    engine = create_engine(target.url)
    configure_engine(engine)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    marker["alembic_revision"] = head
    target.write_marker(marker)


def ensure_dataset(
    lane: str, scale: float = 1.0, *, force: bool = False, require_rollups: bool = False
) -> str:
    """The SQLAlchemy URL of the cached data set on ``lane``, built first if needed.

    The data set is regenerated from scratch when the generator version changed (or
    ``force``); a newer schema is reached by running the migrations on the cached
    data.  The rollups alone are rebuilt when the code that writes them (see
    database.ROLLUP_WRITERS) changed since the last attempt, or when
    ``require_rollups`` and they are missing; ``require_rollups`` raises if they
    still cannot be built.
    """
    scale = float(scale)
    target = _target(lane, scale)
    with _locked(f"stats-{GENERATOR_VERSION}-{lane}-{_scale_tag(scale)}"):
        marker = target.read_marker()
        head = migrate.head()
        if force or marker is None or not _usable(marker, scale):
            marker = _build(target, scale, head)
        else:
            if marker.get("alembic_revision") != head:
                _upgrade(target, marker, head)
            fingerprint = _rollups_fingerprint()
            stale = marker.get("rollups_fingerprint") != fingerprint
            if stale or (require_rollups and not marker.get("rollups_rebuilt")):
                print(f"[{lane}] rebuilding the rollups of {target.shown}", flush=True)
                marker["rollups_rebuilt"] = _rebuild_rollups(target)
                marker["rollups_fingerprint"] = fingerprint
                target.write_marker(marker)
            print(f"[{lane}] cached: {target.shown}", flush=True)
        print(f"[{lane}] ready: {_one_line(marker)}", flush=True)
        if not marker.get("rollups_rebuilt"):
            print(f"WARNING: {target.shown} has no rollups", flush=True)
            if require_rollups:
                raise RuntimeError(f"{target.shown}: the rollups could not be built")
    return target.url


def _one_line(marker: dict[str, Any]) -> str:
    summary, seconds = marker.get("summary") or {}, marker.get("seconds") or {}
    types = ", ".join(f"{k} {v:,}" for k, v in (summary.get("events_by_type") or {}).items())
    return (
        f"{summary.get('events', 0):,} events ({types}), {summary.get('slices', 0):,} slices, "
        f"{summary.get('chatters')} chatters, {summary.get('creators')} creators, "
        f"{summary.get('days')} days; built in {seconds.get('generate_and_load')} s "
        f"({seconds.get('total')} s with the first rollups)"
    )


def describe(lane: str, scale: float) -> dict[str, Any]:
    """The cache's marker (summary, timings) and its size on disk."""
    target = _target(lane, float(scale))
    return {"marker": target.read_marker(), "size_bytes": target.size_bytes(), "url": target.url}


def sample_queries(url: str) -> dict[str, Any]:
    """Parameters for the bench queries on the data set at ``url``."""
    marker = _marker_of(url)
    summary = marker.get("summary") if marker else None
    return {
        "start": FIRST_DAY.isoformat(),
        "end": LAST_DAY.isoformat(),
        "tz": TZ_NAME,
        "chatter": summary["busy_chatter"] if summary else _busiest_chatter(url),
        "creator": summary["busy_creator"] if summary else CREATORS[0][0],
        "manager_token": MANAGER_TOKEN,
    }


def _marker_of(url: str) -> dict[str, Any] | None:
    if url.startswith("sqlite:///"):
        sidecar = Path(url.removeprefix("sqlite:///")).with_suffix(".json")
        return dict(json.loads(sidecar.read_text())) if sidecar.exists() else None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            comment = conn.execute(
                text(
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                    "WHERE datname = current_database()"
                )
            ).scalar()
    finally:
        engine.dispose()
    try:
        return None if comment is None else dict(json.loads(comment))
    except ValueError:
        return None


def _busiest_chatter(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(
                conn.execute(
                    text(
                        "SELECT c.key FROM events e JOIN chatters c ON c.id = e.chatter_id "
                        "WHERE e.type = 'message_sent' AND e.kind = 'direct' "
                        "GROUP BY c.key ORDER BY count(*) DESC, c.key LIMIT 1"
                    )
                ).scalar()
            )
    finally:
        engine.dispose()
