"""The shop's fixed parameters: version, seed, calendar, traffic at scale 1.0, columns."""

from __future__ import annotations

import datetime as dt

# Bump whenever the generated rows change: it names the cache.
GENERATOR_VERSION = 1
SEED = 20261106
TZ_NAME = "Europe/Berlin"
FIRST_DAY = dt.date(2026, 8, 3)
DAYS = 90
LAST_DAY = FIRST_DAY + dt.timedelta(days=DAYS - 1)
# A manager token stored (hashed) in every generated database, so a bench needs no CLI call.
MANAGER_TOKEN = "ctk_bench_conversations_manager"
SOURCE = "bench"
# The collector code (under collector/) that decides what the facts and rollups hold: the
# cached rollups are rebuilt when it changes.
ROLLUP_WRITERS = (
    "conversations/facts.py",
    "conversations/feedback.py",
    "conversations/rebuild.py",
    "conversations/rollups.py",
    "db/buckets.py",
    "db/locks.py",
)

AGENTS = 40
PAGES = 300
TRIGGERS = 12
# At scale 1.0, per day: 11,112 requests (1,000,080 in 90 days) and 55,556 widget events.
REQUESTS_PER_DAY = 11_112
WIDGET_PER_DAY = 55_556
VISITORS_PER_DAY = 30_000  # a day's visitors come from a sliding pool (returning visitors)
# Busier in the afternoon and evening, local time.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 7, 7, 8, 9, 9, 9, 8, 6, 4, 2]
# Every event arrives at one moment after all of them: midnight UTC four days after the last.
RECEIVED = int(dt.datetime.combine(LAST_DAY, dt.time(), tzinfo=dt.UTC).timestamp()) + 86_400 * 4

EVENT_COLUMNS = (
    "event_id",
    "type",
    "occurred_at",
    "chatter_id",
    "contact",
    "kind",
    "ref",
    "amount_minor",
    "attrs",
    "channel",
    "url",
    "rating",
    "source",
    "content_hash",
    "received_at",
)
# A generated event: the columns up to ``rating``, with the time in epoch seconds.
# (event_id, type, epoch, chatter_id, contact, kind, ref, amount, attrs json, channel, url, rating)
EventRow = tuple[
    str, str, int, int | None, str | None, str | None, str | None, int | None, str | None,
    str | None, str | None, int | None,
]  # fmt: skip
