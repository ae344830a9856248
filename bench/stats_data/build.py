"""Generating the whole data set into a loader, and building one cache from scratch."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from bench.stats_data.agency import Agency, Schedule, build_agency
from bench.stats_data.counts import Counts
from bench.stats_data.database import (
    _checks_deferred,
    _devices_seen,
    _engine,
    _people,
    _rebuild_rollups,
    _rollups_fingerprint,
    _schema,
)
from bench.stats_data.events import EventGenerator
from bench.stats_data.loaders import Loader
from bench.stats_data.parameters import DAYS, GENERATOR_VERSION, SEED
from bench.stats_data.slices import SliceGenerator
from bench.stats_data.targets import _Target
from collector import migrate


def generate(
    sink: Loader,
    scale: float,
    seed: int = SEED,
    progress: Callable[[int, Counts], None] | None = None,
) -> tuple[Agency, Counts]:
    """Generate the whole data set into ``sink``, day by day (never all of it in memory)."""
    agency = build_agency(scale, seed)
    schedule = Schedule(agency, seed)
    events = EventGenerator(agency, schedule, scale, seed)
    slices = SliceGenerator(agency, schedule, scale, seed)
    counts = Counts()
    for day in range(DAYS):
        sink.events(events.day(day, counts))
        sink.slices(slices.day(day, counts))
        if progress:
            progress(day, counts)
    return agency, counts


def _build(target: _Target, scale: float, head: str | None) -> dict[str, Any]:
    print(f"[{target.lane}] building {target.shown} (scale {scale})", flush=True)
    t0 = time.monotonic()
    target.reset()
    engine = _engine(target.url)
    try:
        migrate.upgrade(engine)
        schema = _schema(engine)
        agency = build_agency(scale)
        _people(engine, agency)
        with _checks_deferred(target.lane, engine):
            loader = target.loader()
            try:
                _, counts = generate(loader, scale, progress=_progress(target.lane, t0))
            finally:
                loader.close()
        _devices_seen(engine, counts)
        if target.lane == "postgresql":
            target.vacuum()
        if _schema(engine) != schema:
            raise RuntimeError("the loaded schema differs from the one the migrations created")
    finally:
        engine.dispose()
    load_s = time.monotonic() - t0
    fingerprint = _rollups_fingerprint()
    rebuilt = _rebuild_rollups(target)
    marker = {
        "generator": GENERATOR_VERSION,
        "seed": SEED,
        "scale": scale,
        "alembic_revision": head,
        "rollups_rebuilt": rebuilt,
        "rollups_fingerprint": fingerprint,
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": {
            "generate_and_load": round(load_s, 1),
            "total": round(time.monotonic() - t0, 1),
        },
        "summary": _summary(agency, counts),
    }
    target.write_marker(marker)
    return marker


def _progress(lane: str, t0: float) -> Callable[[int, Counts], None]:
    def report(day: int, counts: Counts) -> None:
        if day % 10 == 9 or day == DAYS - 1:
            rows = sum(counts.events.values()) + counts.slices
            elapsed = time.monotonic() - t0
            print(
                f"[{lane}] day {day + 1}/{DAYS}: {sum(counts.events.values()):,} events, "
                f"{counts.slices:,} slices, {rows / elapsed:,.0f} rows/s",
                flush=True,
            )

    return report


def _summary(agency: Agency, counts: Counts) -> dict[str, Any]:
    busiest = counts.direct_by_chatter.most_common(1)
    chatter = agency.chatters[busiest[0][0] - 1] if busiest else agency.chatters[0]
    return {
        "events": sum(counts.events.values()),
        "events_by_type": dict(sorted(counts.events.items())),
        "messages_by_kind": dict(sorted(counts.messages.items())),
        "slices": counts.slices,
        "creators": len(agency.creators),
        "chatters": len(agency.chatters),
        "devices": sum(len(c.devices) for c in agency.chatters),
        "days": DAYS,
        "busy_chatter": chatter.key,
        "busy_creator": agency.creators[0].key,
    }
