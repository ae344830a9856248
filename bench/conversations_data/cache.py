"""The shop's cache: its name on each lane, its recipe, and what the bench reads of it."""

from __future__ import annotations

import functools
from typing import Any

from bench.conversations_data import build
from bench.conversations_data.parameters import GENERATOR_VERSION, ROLLUP_WRITERS, SEED
from bench.datasets import cache, targets
from bench.datasets.targets import Target, scale_tag
from collector.conversations.rebuild import rebuild


def target(lane: str, scale: float) -> Target:
    stem = f"conversations-v{GENERATOR_VERSION}-scale{scale_tag(scale)}"
    return targets.target(lane, stem, "ct_bench_" + stem.replace("-", "_").replace(".", "_"))


def recipe(scale: float) -> cache.Recipe:
    return cache.Recipe(
        identity={"generator": GENERATOR_VERSION, "seed": SEED, "scale": float(scale)},
        load=functools.partial(build.load, scale=float(scale)),
        rebuild=rebuild,
        writers=ROLLUP_WRITERS,
        analyze_sqlite=True,
    )


def ensure_dataset(lane: str, scale: float = 1.0, *, force: bool = False) -> str:
    """The SQLAlchemy URL of the cached shop on ``lane``, built first if needed."""
    where = target(lane, scale)
    marker = cache.ensure(where, recipe(scale), force=force)
    print(f"[{lane}] ready: {marker['events']:,} events {marker['events_by_type']}", flush=True)
    return where.url


def describe(lane: str, scale: float) -> dict[str, Any]:
    """The cache's URL, size on disk and marker (event counts, timings)."""
    where = target(lane, scale)
    size = round(where.size_bytes() / 2**20, 1)
    return {"url": where.url, "size_mib": size, "marker": where.read_marker()}
