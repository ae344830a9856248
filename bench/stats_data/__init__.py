"""The big data set for the chatter-stats benchmark: a seeded agency, loaded fast, cached.

A deterministic agency (10 creators, 200 chatters, 90 local days in Europe/Berlin ending
2026-10-31) with about 10 million events and 8 million heartbeat slices at ``scale=1.0``.
``scale`` shrinks fans, messages and recorded online time proportionally; days, creators and
chatters stay.  The rows are those the collector itself would store (same columns, same
datetime text on SQLite), written with the fastest honest path of each database: one
``executemany`` transaction per day on SQLite, ``COPY ... FROM STDIN`` on PostgreSQL.

``ensure_dataset(lane, scale)`` builds the database once (bench/datasets/cache.py) and
returns its URL; later calls reuse it until the generator version changes, migrate it to a
newer Alembic head, and rebuild its rollups when the collector code that writes them
(``ROLLUP_WRITERS``) changed.  Try it with ``python -m bench.stats_data --lane sqlite
--scale 0.01``.  The modules mirror bench/conversations_data/: ``parameters``, the
generators (``agency``, ``events``, ``slices``, ``counts``), ``loaders``, ``database``,
``build`` and ``cache``.

What the rows look like (identical on both databases):

- ids: creators 1-10 (luna ... bella), chatters 1-200 (keys ``ana-001`` ... ``tara-200``),
  devices 1-220; events and slices numbered from 1 in load order (roughly by time);
  ``event_id`` is ``ev-`` and the event's id on nine digits.
- fans ``u1xxxxxxx`` (per creator conversation: creator, fan); ``s...`` fans only tip.
  PPV ids: ``vCC-NNN`` vault items sent one by one (one fan gets an item once),
  ``mCC-DD-K`` mass PPVs, ``aCC-K`` automated ones; refunds name ``ev-...`` (or
  ``pre-...``, a sale older than the data set: an unmatched refund).
- times are whole seconds; SQLite holds ``YYYY-MM-DD HH:MM:SS.000000`` naive UTC text, as
  SQLAlchemy writes it through ``UTCDateTime``; PostgreSQL ``timestamptz``.
- a manager token ``MANAGER_TOKEN`` exists in every database; settings: USD, Europe/Berlin.
"""

from __future__ import annotations

from bench.stats_data.agency import Agency, ChatterSpec, CreatorSpec, Schedule, build_agency
from bench.stats_data.build import generate, load
from bench.stats_data.cache import describe, ensure_dataset, recipe, sample_queries, target
from bench.stats_data.counts import Counts
from bench.stats_data.events import EventGenerator
from bench.stats_data.loaders import Loader, PostgresLoader, SqliteLoader
from bench.stats_data.parameters import (
    DAYS,
    FIRST_DAY,
    GENERATOR_VERSION,
    LAST_DAY,
    MANAGER_TOKEN,
    SEED,
    TZ_NAME,
)
from bench.stats_data.slices import SliceGenerator

__all__ = [
    "DAYS",
    "FIRST_DAY",
    "GENERATOR_VERSION",
    "LAST_DAY",
    "MANAGER_TOKEN",
    "SEED",
    "TZ_NAME",
    "Agency",
    "ChatterSpec",
    "Counts",
    "CreatorSpec",
    "EventGenerator",
    "Loader",
    "PostgresLoader",
    "Schedule",
    "SliceGenerator",
    "SqliteLoader",
    "build_agency",
    "describe",
    "ensure_dataset",
    "generate",
    "load",
    "recipe",
    "sample_queries",
    "target",
]
