"""The scheduled purge: off unless configured, one process at a time, stoppable."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from collector import create_app
from collector.db.engine import begin_write, configure_engine
from collector.db.models import AuditEntry
from collector.http.database import db
from collector.retention.purge import purge
from collector.retention.schedule import PurgeScheduler

SCHEDULER = "chattertrack.purge"


def _purges(url: str) -> list[tuple[str, dict[str, object] | None]]:
    engine = create_engine(url)
    with Session(engine) as session:
        found = [
            (e.actor, e.detail)
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.action == "purge_raw_data")
            )
        ]
    engine.dispose()
    return found


def _wait_for(check: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the scheduled purge did not run"
        time.sleep(0.05)


@pytest.fixture
def apps(database_url: str) -> Iterator[list[Flask]]:
    made = [
        create_app({"DATABASE_URL": database_url, "PURGE_INTERVAL_SECONDS": 0.1}) for _ in range(2)
    ]
    yield made
    for app in made:
        app.extensions[SCHEDULER].stop(10)
        with app.app_context():
            db.engine.dispose()


def test_tests_and_commands_run_no_scheduler(database_url: str) -> None:
    app = create_app({"DATABASE_URL": database_url})
    assert SCHEDULER not in app.extensions
    with app.app_context():
        db.engine.dispose()


def test_two_processes_purge_one_at_a_time(apps: list[Flask], database_url: str) -> None:
    schedulers: list[PurgeScheduler] = [app.extensions[SCHEDULER] for app in apps]
    assert all(s.running for s in schedulers)
    _wait_for(lambda: all(s.rounds >= 2 for s in schedulers))
    # The first round closed the period before the cut (an audited change); the rounds
    # after it found nothing to do and left no entry.  (A round just after midnight UTC
    # moves the cut again: at most one more entry.)
    assert 1 <= len([a for a, _ in _purges(database_url) if a == "system"]) <= 2

    # A purge in progress elsewhere (holding the purge lock): no scheduled round purges
    # until it ends, then they go on.
    engine = create_engine(database_url)
    configure_engine(engine)
    with Session(engine) as holder:
        while True:  # a scheduled round may hold the lock right now: that one skips us
            begin_write(holder)
            if purge(holder, dt.datetime.now(dt.UTC), "cli:test") is not None:
                break
            holder.rollback()
        held = sum(s.rounds for s in schedulers)
        time.sleep(1.0)  # ten intervals of each scheduler
        assert sum(s.rounds for s in schedulers) == held
        holder.commit()
    _wait_for(lambda: sum(s.rounds for s in schedulers) >= held + 3)
    engine.dispose()
    entries = _purges(database_url)
    assert {actor for actor, _ in entries} == {"system", "cli:test"}
    assert all(detail and detail["dry_run"] is False for _, detail in entries)

    for s in schedulers:
        s.stop(10)
        assert not s.running
    stopped = sum(s.rounds + s.skipped for s in schedulers)
    time.sleep(0.5)
    assert sum(s.rounds + s.skipped for s in schedulers) == stopped


def test_a_failing_round_keeps_the_schedule(tmp_path: object) -> None:
    """A database that is not there: the round fails, is logged, the thread lives on."""
    engine = create_engine("sqlite:////nonexistent-dir/x.db")
    scheduler = PurgeScheduler(engine, 0.05)
    scheduler.start()
    time.sleep(0.3)
    assert scheduler.running
    scheduler.stop(5)
    assert not scheduler.running
