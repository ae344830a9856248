"""``/metrics``: the Prometheus text format behind a ``metrics`` token, read back with the
client library's own parser after real ingest (both databases)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from collector.db import audit
from collector.db.models import Device
from collector.http.database import db as database
from collector.http.metrics import MAINTENANCE_ACTIONS, DatabaseFigures
from tests.agent.conftest import free_port
from tests.collector.conftest import Agent, Collector
from tests.conftest import PG_ADMIN_URL

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[3]
Samples = Counter[tuple[str, tuple[tuple[str, str], ...]]]


def scrape(collector: Collector, token: str) -> Samples:
    reply = collector.http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    assert reply.headers["Content-Type"].startswith("text/plain; version=")
    assert reply.headers["Cache-Control"] == "private, no-store"
    samples: Samples = Counter()
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] += sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_metrics_need_a_metrics_token(agency: Collector) -> None:
    anonymous = agency.http.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "unauthorized"
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    manager = agency.token("manager")
    forbidden = agency.http.get("/metrics", headers={"Authorization": f"Bearer {manager}"})
    assert forbidden.status_code == 403
    # Not part of the JSON API's description.
    assert "/metrics" not in agency.http.get("/api/v1/openapi.json").json()["paths"]


def test_a_scrape_after_real_ingest(agency: Collector) -> None:
    token = agency.token("metrics")
    integration = agency.token("integration")
    before = scrape(agency, token)

    alice, bob, carol = agency.enroll("alice"), agency.enroll("bob"), agency.enroll("alice")
    slices = alice.slices(3)
    assert alice.send(slices).json()["accepted"] == 3
    assert alice.send(slices).json()["duplicates"] == 3
    refused = alice.send(alice.slices(2, duration=0))
    assert refused.status_code == 422
    assert bob.send(bob.slices(1)).status_code == 200
    events = [
        {"id": "m1", "type": "tip", "occurred_at": "2026-11-20T10:00:00Z", "creator": "luna"}
        | {"fan": "f1", "amount": "5.00", "chatter": "alice"},
        {"id": "m2", "type": "fan_message", "occurred_at": "2026-11-20T10:01:00Z"}
        | {"creator": "luna", "fan": "f1"},
    ]
    assert agency.post_events(events, integration).json()["accepted"] == 2
    changed = [events[0] | {"amount": "6.00"}, events[1]]
    assert agency.post_events(changed, integration).json()["conflicts"] == ["m1"]
    bad = [events[0] | {"id": "m3", "amount": "-x"}, events[1] | {"id": "m4"}]
    assert agency.post_events(bad, integration).status_code == 422

    engine = create_engine(agency.database_url)
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as session, session.begin():
        audit.record(session, "cli", "rebuild_stats", "stats", now - dt.timedelta(hours=3))
        audit.record(session, "cli", "rebuild_stats", "stats", now - dt.timedelta(hours=1))
        audit.record(session, "scheduler", "purge_raw_data", "slices", now)
        audit.record(session, "cli", "revoke_device", "x", now)  # not a maintenance run
        session.execute(
            update(Device)
            .where(Device.uid == bob.device_id)
            .values(last_seen_at=now - dt.timedelta(hours=2))
        )
    engine.dispose()
    agency.cli("revoke-device", carol.device_id)  # never seen, but revoked: not counted
    agency.enroll("bob")  # never seen
    gone = agency.enroll("alice")  # uninstalled: silent on purpose, not an agent never seen
    assert gone.signed_post("/api/v1/agents/retire", b'{"unsent_slices": 0}').status_code == 200

    after = scrape(agency, token)
    delta = after.copy()
    delta.subtract(before)

    # Per process: what this process counted meanwhile.
    assert value(delta, "chattertrack_heartbeats_total", outcome="accepted") == 4
    assert value(delta, "chattertrack_heartbeats_total", outcome="duplicate") == 3
    assert value(delta, "chattertrack_heartbeats_total", outcome="refused") == 2
    assert value(delta, "chattertrack_events_total", outcome="accepted") == 2
    assert value(delta, "chattertrack_events_total", outcome="duplicate") == 1
    assert value(delta, "chattertrack_events_total", outcome="conflict") == 1
    assert value(delta, "chattertrack_events_total", outcome="refused") == 2
    route = {"endpoint": "ingest.post_heartbeats", "method": "POST"}
    assert value(delta, "chattertrack_http_requests_total", **route, status="2xx") == 3
    assert value(delta, "chattertrack_http_requests_total", **route, status="4xx") == 1
    assert value(delta, "chattertrack_http_request_duration_seconds_count", **route) == 4
    assert value(delta, "chattertrack_http_requests_total", **route, status="5xx") == 0
    # The scrape before this one is counted under its route's name, never a raw path.
    scrapes = {"endpoint": "metrics.scrape", "method": "GET", "status": "2xx"}
    assert value(delta, "chattertrack_http_requests_total", **scrapes) == 1
    assert all("/" not in dict(labels).get("endpoint", "") for _, labels in after)
    waits = "chattertrack_ingest_lock_wait_seconds_count"
    if agency.database_url.startswith("sqlite"):  # every writer takes SQLite's write lock
        assert value(delta, waits, lock="sqlite_write") >= 6
    else:  # the two batches that stored slices, the events request that stored sales
        assert value(delta, waits, lock="activity") == 2
        assert value(delta, waits, lock="events") == 1

    # Global, from the database.
    assert value(after, "chattertrack_database_up") == 1
    ages = {age: value(after, "chattertrack_agents", last_seen=age) for age in AGES}
    assert ages == {
        "under_5m": 1,
        "under_1h": 0,
        "under_24h": 1,
        "older": 0,
        "never": 1,
        "uninstalled": 1,
    }
    runs = {a: value(after, "chattertrack_maintenance_runs_total", action=a) for a in ACTIONS}
    assert runs == {"rebuild_stats": 2, "purge_raw_data": 1}
    purged = {"action": "purge_raw_data"}
    last = value(after, "chattertrack_maintenance_last_run_timestamp_seconds", **purged)
    assert abs(last - now.timestamp()) < 1e-3


AGES = ("under_5m", "under_1h", "under_24h", "older", "never", "uninstalled")
ACTIONS = MAINTENANCE_ACTIONS


def test_gunicorn_workers_add_up_in_multiprocess_mode(agency: Collector, tmp_path: Path) -> None:
    """One scrape of a gunicorn host answers the sum of its workers (README, Operations)."""
    token = agency.token("metrics")
    agents = [agency.enroll("alice") for _ in range(4)]
    folder = tmp_path / "prometheus"
    folder.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "CHATTER_DATABASE_URL": agency.database_url,
        "CHATTER_BIND": f"127.0.0.1:{port}",
        "CHATTER_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
    }
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
        + ["collector:create_app()"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(base + "/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        for agent in agents:  # a connection each: the workers share them out
            with httpx.Client(base_url=base, timeout=30) as http:
                remote = Agent(http, agent.device_id, agent.key_id, agent.secret)
                assert remote.send(remote.slices(2)).status_code == 200
        bearer = {"Authorization": f"Bearer {token}"}
        for _ in range(4):
            with httpx.Client(base_url=base, timeout=30) as http:
                reply = http.get("/metrics", headers=bearer)
            assert reply.status_code == 200, reply.text
            families = {f.name: f for f in text_string_to_metric_families(reply.text)}
            accepted = [
                s.value
                for s in families["chattertrack_heartbeats"].samples
                if s.name == "chattertrack_heartbeats_total" and s.labels["outcome"] == "accepted"
            ]
            assert sum(accepted) == 8
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_database_figures_say_when_the_database_is_down(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'collector.db'}")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseFigures(engine, dt.datetime.now(dt.UTC)))
    text = generate_latest(registry).decode()
    engine.dispose()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert [s.value for s in families["chattertrack_database_up"].samples] == [0]
    assert set(families) == {"chattertrack_database_up"}


def _take_the_database_away(collector: Collector) -> None:
    """An outage: the database is gone, and the app's pooled connections with it."""
    url = make_url(collector.database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        path.rename(path.with_suffix(".gone"))
        path.mkdir()  # SQLite cannot open a directory: every new connection fails
    else:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))
        admin.dispose()
    with collector.app.app_context():
        database.engine.dispose()


def test_a_known_scraper_sees_the_outage(agency: Collector) -> None:
    token = agency.token("metrics")
    assert value(scrape(agency, token), "chattertrack_database_up") == 1
    _take_the_database_away(agency)

    during = scrape(agency, token)  # confirmed before the outage: still let in
    assert value(during, "chattertrack_database_up") == 0
    stranger = agency.http.get("/metrics", headers={"Authorization": "Bearer ctk_unknown"})
    assert stranger.status_code == 503
    assert stranger.json()["message"] == "the database is busy or unreachable; retry later"
