"""The agency's cache: its name on each lane, its recipe, and what the benches read of it."""

from __future__ import annotations

import functools
import re
from typing import Any

from bench.datasets import cache, targets
from bench.datasets.targets import Marker, Target, scale_tag
from bench.stats_data import build
from bench.stats_data.parameters import (
    FIRST_DAY,
    GENERATOR_VERSION,
    LAST_DAY,
    MANAGER_TOKEN,
    ROLLUP_WRITERS,
    SEED,
    TZ_NAME,
)
from collector.stats.rebuild import rebuild_all


def target(lane: str, scale: float) -> Target:
    tag = scale_tag(scale)
    return targets.target(
        lane,
        f"stats-{GENERATOR_VERSION}-scale{tag}",
        f"ct_bench_stats_{GENERATOR_VERSION}_s{re.sub(r'[^a-z0-9]', '_', tag.lower())}",
    )


def recipe(scale: float) -> cache.Recipe:
    return cache.Recipe(
        identity={"generator": GENERATOR_VERSION, "seed": SEED, "scale": float(scale)},
        load=functools.partial(build.load, scale=float(scale)),
        rebuild=rebuild_all,
        writers=ROLLUP_WRITERS,
        analyze_sqlite=False,
    )


def ensure_dataset(lane: str, scale: float = 1.0, *, force: bool = False) -> str:
    """The SQLAlchemy URL of the cached agency on ``lane``, built first if needed."""
    where = target(lane, scale)
    marker = cache.ensure(where, recipe(scale), force=force)
    print(f"[{lane}] ready: {_one_line(marker)}", flush=True)
    return where.url


def _one_line(marker: Marker) -> str:
    summary, seconds = marker.get("summary") or {}, marker.get("seconds") or {}
    # Caches built before bench/datasets/ named their load time "generate_and_load".
    loaded = seconds.get("load", seconds.get("generate_and_load", "?"))
    types = ", ".join(f"{k} {v:,}" for k, v in (summary.get("events_by_type") or {}).items())
    return (
        f"{summary.get('events', 0):,} events ({types}), {summary.get('slices', 0):,} slices, "
        f"{summary.get('chatters')} chatters, {summary.get('creators')} creators, "
        f"{summary.get('days')} days; loaded in {loaded} s, "
        f"rollups built in {seconds.get('rollups', '?')} s"
    )


def describe(lane: str, scale: float) -> dict[str, Any]:
    """The cache's URL, size on disk and marker (summary, timings)."""
    where = target(lane, scale)
    size = round(where.size_bytes() / 2**20, 1)
    return {"url": where.url, "size_mib": size, "marker": where.read_marker()}


def sample_queries(lane: str, scale: float) -> dict[str, Any]:
    """Parameters for the bench queries on the cached agency (built by ensure_dataset)."""
    where = target(lane, scale)
    marker = where.read_marker()
    if marker is None:
        raise RuntimeError(f"{where.shown} is not built yet")
    return {
        "start": FIRST_DAY.isoformat(),
        "end": LAST_DAY.isoformat(),
        "tz": TZ_NAME,
        "chatter": marker["summary"]["busy_chatter"],
        "creator": marker["summary"]["busy_creator"],
        "manager_token": MANAGER_TOKEN,
    }
