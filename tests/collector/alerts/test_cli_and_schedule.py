"""``chatter-collector alerts ...`` and the evaluator thread of serving processes."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from flask import Flask

from collector import create_app
from collector.http.database import db
from tests.collector.alerts.conftest import Hook, Mailbox, World
from tests.collector.conftest import Collector

SCHEDULER = "chattertrack.alerts"


def _started_an_hour_ago(world: World) -> None:
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(hours=1)
    end = now + dt.timedelta(hours=1)
    # A one-off shift around the real clock (the CLI and the scheduler use it).
    world.shift("alice", "luna", f"{start:%H:%M}", f"{end:%H:%M}", day=start.date())


def test_cli_evaluate_list_ack_resolve(agency: Collector, world: World, hook: Hook) -> None:
    _started_an_hour_ago(world)
    world.rule("no_show", 10, webhook_url=hook.url)
    first = agency.cli("alerts", "evaluate").output
    assert "opened 1, resolved 0, still open 0; 1 message queued" in first
    assert "sent 1, to retry 0, given up 0" in first
    again = agency.cli("alerts", "evaluate").output
    assert "opened 0, resolved 0, still open 1; 0 messages queued" in again
    assert len(hook.received) == 1
    [alert] = world.alerts()
    listed = agency.cli("alerts", "list").output
    assert f"{alert.id}\topen\t" in listed and "Alice: no-show" in listed
    assert "acknowledged" in agency.cli("alerts", "ack", str(alert.id)).output
    refused = agency.cli("alerts", "ack", str(alert.id), expect=1).output
    assert "already acknowledged" in refused
    assert "resolved" in agency.cli("alerts", "resolve", str(alert.id)).output
    assert "no alerts" in agency.cli("alerts", "list").output
    assert f"{alert.id}\tresolved" in agency.cli("alerts", "list", "--state", "all").output
    assert "no alert 999" in agency.cli("alerts", "ack", "999", expect=1).output
    assert agency.cli("alerts", "ack", "x", expect=2).exit_code == 2
    assert agency.cli("alerts", "ack", str(10**30), expect=2).exit_code == 2
    assert agency.cli("alerts", "list", "--state", "maybe", expect=2).exit_code == 2


def test_cli_evaluate_without_sending(agency: Collector, world: World) -> None:
    _started_an_hour_ago(world)
    world.rule("no_show", 10, emails=["lead@agency.test"])
    out = agency.cli("alerts", "evaluate", "--no-send").output
    assert "1 message queued" in out and "sent" not in out
    assert [d.status for d in world.deliveries()] == ["pending"]


def test_commands_start_no_scheduler(database_url: str) -> None:
    app = create_app({"DATABASE_URL": database_url})
    assert SCHEDULER not in app.extensions
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def apps(database_url: str, world: World, mailbox: Mailbox) -> Iterator[list[Flask]]:
    smtp = mailbox.settings
    config = {
        "DATABASE_URL": database_url,
        "ALERTS_INTERVAL_SECONDS": 0.2,
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": smtp.port,
        "SMTP_FROM": smtp.sender,
    }
    made = [create_app(config) for _ in range(2)]
    yield made
    for app in made:
        app.extensions[SCHEDULER].stop(10)
        with app.app_context():
            db.engine.dispose()


def test_two_serving_processes_send_one_email(
    apps: list[Flask], world: World, mailbox: Mailbox
) -> None:
    _started_an_hour_ago(world)
    world.rule("no_show", 10, emails=["lead@agency.test"])
    schedulers = [app.extensions[SCHEDULER] for app in apps]
    deadline = time.monotonic() + 60
    while not (mailbox.messages and all(s.rounds + s.skipped >= 3 for s in schedulers)):
        assert time.monotonic() < deadline, "the scheduled evaluation did not send"
        time.sleep(0.1)
    time.sleep(0.5)  # more rounds: still one message
    assert len(mailbox.messages) == 1 and len(world.alerts()) == 1
    assert mailbox.messages[0][1]["Subject"].startswith("[ChatterTrack] no_show 10: Alice")
