"""Building the agency's rows: ``generate`` them into a loader, ``load`` a migrated database."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from bench.datasets import rows
from bench.datasets.targets import Marker, Target, opened
from bench.stats_data.agency import Agency, Schedule, build_agency
from bench.stats_data.counts import Counts
from bench.stats_data.database import add_people, checks_deferred, devices_seen, schema
from bench.stats_data.events import EventGenerator
from bench.stats_data.loaders import Loader, loader_for
from bench.stats_data.parameters import DAYS, SEED
from bench.stats_data.slices import SliceGenerator


def generate(
    sink: Loader,
    scale: float,
    seed: int = SEED,
    progress: Callable[[int, Mapping[str, int]], None] | None = None,
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
            progress(day, {"events": sum(counts.events.values()), "slices": counts.slices})
    return agency, counts


def load(target: Target, scale: float) -> Marker:
    """Fill the migrated, empty database at ``target``; the marker's ``summary``."""
    t0 = time.monotonic()
    with opened(target.url) as engine:
        migrated = schema(engine)
        agency = build_agency(scale)
        add_people(engine, agency)
        with checks_deferred(target.lane, engine):
            loader = loader_for(target)
            try:
                _, counts = generate(loader, scale, progress=rows.progress(target.lane, t0, DAYS))
            finally:
                loader.close()
        devices_seen(engine, counts)
        if schema(engine) != migrated:
            raise RuntimeError("the loaded schema differs from the one the migrations created")
    return {"summary": _summary(agency, counts)}


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
