"""The per-process instruments behind ``/metrics``.

Counters and histograms count what this process did since it started, as Prometheus
expects of a process it scrapes: with several collector processes side by side, each is
its own target (or one gunicorn host aggregates its workers, see ``collector.http.metrics``).
Labels take values from small fixed sets (a route's endpoint name, never its path) so
no request can grow the number of series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

# Seconds: from a fast read to a request that waited out SQLite's 10 s busy timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LOCK_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)

REQUESTS = Counter(
    "chattertrack_http_requests",
    "HTTP requests answered, by route (its endpoint name), method and status class.",
    ["endpoint", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "chattertrack_http_request_duration_seconds",
    "Time to answer an HTTP request, by route (its endpoint name) and method.",
    ["endpoint", "method"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
HEARTBEATS = Counter(
    "chattertrack_heartbeats",
    "Heartbeat slices read from signed batches: accepted (stored), duplicate (stored "
    "before, acknowledged again) or refused (in a batch answered 4xx, nothing stored).",
    ["outcome"],
    registry=REGISTRY,
)
EVENTS = Counter(
    "chattertrack_events",
    "Integration events received: accepted (stored), duplicate (same id and content), "
    "conflict (same id, other content; the first is kept) or refused (in a request "
    "answered 4xx, nothing stored).",
    ["outcome"],
    registry=REGISTRY,
)
LOCK_WAIT = Histogram(
    "chattertrack_ingest_lock_wait_seconds",
    "Time a writer waited for a lock: a PostgreSQL advisory lock of the ingest "
    "(events, activity, conversations) or SQLite's write lock (sqlite_write).",
    ["lock"],
    buckets=LOCK_BUCKETS,
    registry=REGISTRY,
)

# Pre-create the fixed label values, so a scrape shows 0 rather than nothing.
for _outcome in ("accepted", "duplicate", "refused"):
    HEARTBEATS.labels(_outcome)
for _outcome in ("accepted", "duplicate", "conflict", "refused"):
    EVENTS.labels(_outcome)
