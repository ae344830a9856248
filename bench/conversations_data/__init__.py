"""The data set for the conversation analytics benchmark: a seeded shop, loaded fast, cached.

A deterministic shop (40 agents, 300 product pages, 12 auto-message triggers, 90 local
days in Europe/Berlin from 2026-08-03) with, at ``scale=1.0``, 1 million chat requests
and 5 million widget events, and the messages, calls, orders and surveys they bring.
``scale`` shrinks the traffic and the visitor pool; days and agents stay.  The rows are
those the collector itself would store, written with the fastest honest path of each
database: one ``executemany`` transaction per day on SQLite, ``COPY ... FROM STDIN`` on
PostgreSQL; then collector/conversations/rebuild.py builds the facts and rollups.

``ensure_dataset(lane, scale)`` builds the database once (bench/datasets/cache.py) and
returns its URL; later calls reuse it until the generator version changes, migrate it to a
newer Alembic head, and rebuild its rollups when the collector code that writes them
(``ROLLUP_WRITERS``) changed.  Try it with ``python -m bench.conversations_data --lane
sqlite --scale 0.01``.  The modules mirror bench/stats_data/: ``parameters``, the
generator (``events``), ``loaders``, ``database``, ``build`` and ``cache``.

What the rows look like: ``event_id`` is ``cv-`` and a nine-digit number in generation
order; agents are chatters 1-40 (``agent-01`` ...); visitors ``vis-N`` (a day's pool
overlaps the day before by half); requests ``req-N``, orders ``ord-N``; a manager token
``MANAGER_TOKEN`` exists in every database; setting: Europe/Berlin.
"""

from __future__ import annotations

from bench.conversations_data.build import generate, load
from bench.conversations_data.cache import describe, ensure_dataset, recipe, target
from bench.conversations_data.events import EventGenerator
from bench.conversations_data.loaders import Loader, PostgresLoader, SqliteLoader
from bench.conversations_data.parameters import (
    DAYS,
    FIRST_DAY,
    GENERATOR_VERSION,
    LAST_DAY,
    MANAGER_TOKEN,
    SEED,
    TZ_NAME,
)

__all__ = [
    "DAYS",
    "FIRST_DAY",
    "GENERATOR_VERSION",
    "LAST_DAY",
    "MANAGER_TOKEN",
    "SEED",
    "TZ_NAME",
    "EventGenerator",
    "Loader",
    "PostgresLoader",
    "SqliteLoader",
    "describe",
    "ensure_dataset",
    "generate",
    "load",
    "recipe",
    "target",
]
