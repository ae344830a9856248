"""The data set's fixed parameters: version, seed, calendar, the agency at scale 1.0, columns."""

from __future__ import annotations

import datetime as dt
import math
import random

from bench.datasets.rows import local_midnight

# Bump whenever the generated rows change: it names the cache.
GENERATOR_VERSION = "v1"
SEED = 20261031
TZ_NAME = "Europe/Berlin"
FIRST_DAY = dt.date(2026, 8, 3)
LAST_DAY = dt.date(2026, 10, 31)
DAYS = (LAST_DAY - FIRST_DAY).days + 1
# A manager token stored (hashed) in every generated database, so a bench needs no CLI call.
MANAGER_TOKEN = "ctk_bench_stats_manager"
SOURCE = "bench"
# The collector code (under collector/) that decides what the facts and rollups hold: the
# cached rollups are rebuilt when it changes.
ROLLUP_WRITERS = (
    "stats/facts.py",
    "stats/fan_days.py",
    "stats/rebuild.py",
    "stats/repair.py",
    "stats/rollups.py",
    "db/buckets.py",
    "db/locks.py",
)

# --- The agency at scale 1.0 (per creator and local day unless said otherwise) ---
CREATORS = (
    ("luna", "Luna Rivers", 1.6),
    ("nova", "Nova Sky", 1.4),
    ("mira", "Mira Gold", 1.2),
    ("ivy", "Ivy Hart", 1.1),
    ("jade", "Jade Monroe", 1.0),
    ("ruby", "Ruby Vale", 0.9),
    ("aria", "Aria Bloom", 0.8),
    ("zoe", "Zoe Quinn", 0.8),
    ("skye", "Skye Lane", 0.6),
    ("bella", "Bella Noir", 0.6),
)  # key, name, popularity (mean 1.0): fans and messages scale with it
CHATTERS = 200
SECOND_CREATOR_SHARE = 0.2
SECOND_DEVICE_SHARE = 0.1
FAN_POOL = 60_000  # fans across the agency; each creator draws its own from the pool
FANS_PER_CREATOR = 6_000
SESSIONS = 1_450  # conversations fans start
MASS_SENDS = 1.5  # mass messages, each to MASS_REACH of the creator's fans
MASS_REACH = 0.04
AUTOMATED = 300
LONELY_TIPS = 20  # tips outside any conversation
UNKNOWN_REFUNDS = 0.3  # refunds of sales older than the data set
VAULT = 150  # PPVs a creator's chatters send one by one
PRICES = (499, 799, 999, 1299, 1499, 1999, 2499, 2999, 3999, 4999)
PRICE_WEIGHTS = (4, 6, 12, 10, 12, 10, 6, 5, 3, 2)
TIPS = (300, 500, 1000, 1500, 2000, 2500, 5000, 10000, 20000)
TIP_WEIGHTS = (8, 20, 25, 8, 14, 6, 10, 4, 1)

P_FOLLOW_UP = 0.35  # a second direct message after the reply
P_PPV = 0.12  # a round of a conversation ends with a PPV
P_BUY_DIRECT = 0.34  # times the fan's spending factor (mean ~0.9)
P_BUY_MASS = 0.16
P_BUY_AUTOMATED = 0.10
P_SESSION_TIP = 0.06
P_NAMED_TIP = 0.55  # with the lonely tips' 0.3: about half of all tips name a chatter
P_REFUND = 0.01
# Fans write mostly in the (local) evening.
HOUR_WEIGHTS = (5, 4, 3, 2, 2, 2, 2, 3, 4, 5, 5, 6, 6, 6, 6, 6, 7, 8, 9, 10, 10, 9, 8, 6)
WEEKDAY_FACTOR = (0.95, 0.95, 0.97, 1.0, 1.05, 1.12, 1.03)
FIRST_NAMES = (
    "ana", "ben", "cara", "dev", "ela", "finn", "gia", "hugo", "ines", "jon",
    "kai", "lea", "max", "nia", "omar", "pia", "quinn", "rosa", "sam", "tara",
)  # fmt: skip

# Event types and message kinds, as stored.
FAN_MESSAGE, MESSAGE_SENT, PPV_PURCHASE, TIP, REFUND = (
    "fan_message",
    "message_sent",
    "ppv_purchase",
    "tip",
    "refund",
)
DIRECT, MASS, AUTO = "direct", "mass", "automated"
QUARTER = 900  # shifts start and end on quarter hours, so duty is looked up per quarter

EVENT_COLUMNS = (
    "id", "event_id", "type", "occurred_at", "creator_id", "chatter_id", "contact", "kind",
    "ref", "amount_minor", "source", "content_hash", "received_at",
)  # fmt: skip
SLICE_COLUMNS = (
    "id", "device_id", "chatter_id", "start", "duration", "active_seconds", "input_seconds",
    "paused_seconds", "keystrokes", "mouse_events", "seq", "batch_id", "received_at",
)  # fmt: skip
# Generated rows: times are epoch seconds until a loader formats them.
EventTuple = tuple[int, str, str, int, int, int | None, str | None, str | None, str | None,
                   int | None, str, int]  # fmt: skip
SliceTuple = tuple[int, int, int, int, int, int, int, int, int, int, int, str, int]


def _sround(rng: random.Random, x: float) -> int:
    """x rounded up or down at random, so small scales keep the right mean."""
    whole = math.floor(x)
    return whole + (rng.random() < x - whole)


START = local_midnight(FIRST_DAY, TZ_NAME)
END = local_midnight(LAST_DAY + dt.timedelta(days=1), TZ_NAME)
