"""``/metrics`` plumbing: timing every request, and the figures read at scrape time.

Two kinds of figures, and why:

- Per process (``collector.telemetry.meters``): requests and latency per route, slices
  and events accepted, duplicate or refused, lock waits.  Each collector process counts
  its own since it started; Prometheus sums them across targets.  Several ``serve``
  processes are several targets.  Gunicorn's workers share one port, so a scrape would
  reach one worker at random: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
  private to that gunicorn (the client library's multiprocess mode) and every scrape
  answers the sum of the host's workers.
- Global, from the database at scrape time: agents by last-seen age and the
  maintenance runs in the audit trail.  Every process answers the same numbers, so
  take them from one target (or ``max`` them), never ``sum``.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, case, func, select
from sqlalchemy.exc import SQLAlchemyError

from collector.db.models import AuditEntry, Device
from collector.telemetry import meters

# Methods a route can have; anything else is counted as "other" (no unbounded labels).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Audit actions that are maintenance runs (written by the rebuild and the purge).
MAINTENANCE_ACTIONS = ("rebuild_stats", "purge_raw_data")
# Agents (devices not revoked nor uninstalled) by the age of their last heartbeat: label,
# upper bound.
AGE_BUCKETS = (
    ("under_5m", dt.timedelta(minutes=5)),
    ("under_1h", dt.timedelta(hours=1)),
    ("under_24h", dt.timedelta(hours=24)),
)


def register(app: Flask) -> None:
    """Time every request the app answers, labelled by its route, not its path."""

    @app.before_request
    def _start() -> None:
        g._metrics_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.pop("_metrics_started", None)
        rule = request.url_rule
        endpoint = rule.endpoint if rule is not None else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        meters.REQUESTS.labels(endpoint, method, f"{response.status_code // 100}xx").inc()
        if started is not None:
            meters.LATENCY.labels(endpoint, method).observe(time.perf_counter() - started)
        return response


class DatabaseFigures(Collector):
    """Figures every process reads alike from the database when scraped."""

    def __init__(self, engine: Engine, now: dt.datetime) -> None:
        self.engine = engine
        self.now = now

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "chattertrack_database_up", "1 if the database answered this scrape, else 0."
        )
        try:
            agents, runs, last = self._read()
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        ages = GaugeMetricFamily(
            "chattertrack_agents",
            "Enrolled, not revoked devices by the age of their last heartbeat "
            "(under_5m, under_1h, under_24h, older, never), or uninstalled (their agent "
            "said so, and sends no more).",
            labels=["last_seen"],
        )
        for label, count in agents.items():
            ages.add_metric([label], count)
        yield ages
        total = CounterMetricFamily(
            "chattertrack_maintenance_runs",
            "Maintenance runs in the audit trail (rebuild_stats, purge_raw_data).",
            labels=["action"],
        )
        latest = GaugeMetricFamily(
            "chattertrack_maintenance_last_run_timestamp_seconds",
            "When each maintenance action last ran (Unix time); absent if never.",
            labels=["action"],
        )
        for action in MAINTENANCE_ACTIONS:
            total.add_metric([action], runs.get(action, 0))
            if action in last:
                latest.add_metric([action], last[action].timestamp())
        yield total
        yield latest

    def _read(self) -> tuple[dict[str, int], dict[str, int], dict[str, dt.datetime]]:
        seen = Device.last_seen_at
        bucket = case(
            # As management.state says it: revoked (left out below) outranks uninstalled,
            # and an uninstalled agent is silent on purpose, whatever its last heartbeat.
            (Device.retired_at.is_not(None), "uninstalled"),
            (seen.is_(None), "never"),
            *((seen > self.now - age, label) for label, age in AGE_BUCKETS),
            else_="older",
        )
        agents = {label: 0 for label, _ in AGE_BUCKETS} | {"older": 0, "never": 0, "uninstalled": 0}
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(bucket, func.count()).where(Device.revoked_at.is_(None)).group_by(bucket)
            ).all()
            audit = connection.execute(
                select(AuditEntry.action, func.count(), func.max(AuditEntry.at))
                .where(AuditEntry.action.in_(MAINTENANCE_ACTIONS))
                .group_by(AuditEntry.action)
            ).all()
        for label, count in rows:
            agents[str(label)] = int(count)
        runs = {str(action): int(count) for action, count, _ in audit}
        last = {str(action): at for action, _, at in audit if at is not None}
        return agents, runs, last


def exposition(engine: Engine, now: dt.datetime) -> Response:
    """The scrape's answer: this process's (or host's) meters, then the database's figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)  # type: ignore[no-untyped-call]
        body = generate_latest(processes)
    else:
        body = generate_latest(meters.REGISTRY)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(DatabaseFigures(engine, now))
    return Response(body + generate_latest(scrape), content_type=CONTENT_TYPE_LATEST)
