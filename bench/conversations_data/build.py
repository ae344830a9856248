"""Building the shop's rows: ``generate`` them into a loader, ``load`` a migrated database."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from bench.conversations_data.database import add_people
from bench.conversations_data.events import EventGenerator
from bench.conversations_data.loaders import Loader, loader_for
from bench.conversations_data.parameters import DAYS, SEED
from bench.datasets import rows
from bench.datasets.targets import Marker, Target, opened


def generate(
    sink: Loader,
    scale: float,
    seed: int = SEED,
    progress: Callable[[int, Mapping[str, int]], None] | None = None,
) -> dict[str, int]:
    """Generate the whole data set into ``sink``, day by day; the events by type."""
    events = EventGenerator(scale, seed)
    for day, day_rows in enumerate(events.days()):
        sink.events(day_rows)
        if progress:
            progress(day, {"events": events.n})
    return events.counts


def load(target: Target, scale: float) -> Marker:
    """Fill the migrated, empty database at ``target``; the marker's event counts."""
    t0 = time.monotonic()
    with opened(target.url) as engine:
        add_people(engine)
    loader = loader_for(target)
    try:
        counts = generate(loader, scale, progress=rows.progress(target.lane, t0, DAYS))
    finally:
        loader.close()
    return {"events": sum(counts.values()), "events_by_type": counts}
