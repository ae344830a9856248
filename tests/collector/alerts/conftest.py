"""Alerts against real databases: schedule and presence rows written directly, an
injected clock, a real local HTTP server for webhooks and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from collector.alerts import delivery, mail, rules
from collector.alerts.evaluate import Round, evaluate
from collector.db.alert_models import Alert, AlertDelivery
from collector.db.engine import begin_write, configure_engine
from collector.db.models import Chatter, Creator, Device, Slice
from collector.db.schedule_models import CoverageRule, Presence, Shift
from tests.collector.conftest import Collector

# A Tuesday; tests move the clock themselves.
NOW = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
# The tests' webhook servers listen on 127.0.0.1: private addresses allowed, as with
# CHATTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS=1 (the ``private_webhooks`` fixture below).
FAST = delivery.Policy(
    base_delay=dt.timedelta(0),
    max_attempts=3,
    claim=dt.timedelta(seconds=30),
    timeout=5,
    allow_private=True,
)


@dataclass
class World:
    """The agency fixture's database (alice: luna; bob: luna and nova), written directly."""

    engine: Engine
    url: str
    devices: dict[str, int] = field(default_factory=dict)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def id_of(self, model: type[Chatter] | type[Creator], key: str) -> int:
        with self.session() as s:
            found = s.scalar(select(model.id).where(model.key == key))
            assert found is not None
            return found

    def id_of_creator(self, key: str) -> int:
        return self.id_of(Creator, key)

    def id_of_chatter(self, key: str) -> int:
        return self.id_of(Chatter, key)

    def shift(
        self,
        chatter: str,
        creator: str,
        start: str = "09:00",
        end: str = "17:00",
        *,
        day: dt.date = TODAY,
        zone: str = "UTC",
        weekdays: int = 0,
    ) -> int:
        h1, m1 = map(int, start.split(":"))
        h2, m2 = map(int, end.split(":"))
        with self.session() as s:
            row = Shift(
                chatter_id=self.id_of(Chatter, chatter),
                creator_id=self.id_of(Creator, creator),
                zone=zone,
                weekdays=weekdays,
                start_minute=h1 * 60 + m1,
                end_minute=h2 * 60 + m2,
                first_day=day,
                last_day=None,
                note="",
                created_at=NOW,
                updated_at=NOW,
            )
            s.add(row)
            s.commit()
            return row.id

    def coverage(
        self, creator: str, required: int, start: str = "00:00", end: str = "00:00"
    ) -> None:
        h1, m1 = map(int, start.split(":"))
        h2, m2 = map(int, end.split(":"))
        with self.session() as s:
            s.add(
                CoverageRule(
                    creator_id=self.id_of(Creator, creator),
                    zone="UTC",
                    weekdays=127,
                    start_minute=h1 * 60 + m1,
                    end_minute=h2 * 60 + m2,
                    required=required,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            s.commit()

    def device(self, chatter: str, name: str = "pc") -> int:
        label = f"{chatter}/{name}"
        if label not in self.devices:
            with self.session() as s:
                row = Device(
                    uid=str(uuid.uuid4()),
                    chatter_id=self.id_of(Chatter, chatter),
                    hostname=name,
                    platform="Linux",
                    agent_version="0.1.0",
                    enrolled_at=NOW - dt.timedelta(days=30),
                )
                s.add(row)
                s.commit()
                self.devices[label] = row.id
        return self.devices[label]

    def presence(
        self,
        chatter: str,
        state: str,
        received_at: dt.datetime,
        idle_seconds: int = 0,
        device: str = "pc",
    ) -> None:
        device_id = self.device(chatter, device)
        with self.session() as s:
            row = s.get(Presence, device_id)
            if row is None:
                row = Presence(device_id=device_id, chatter_id=self.id_of(Chatter, chatter))
                s.add(row)
            row.state, row.idle_seconds = state, idle_seconds
            row.sent_at = row.received_at = received_at
            s.commit()

    def slice(self, chatter: str, start: dt.datetime) -> None:
        device_id = self.device(chatter)
        with self.session() as s:
            s.add(
                Slice(
                    device_id=device_id,
                    chatter_id=self.id_of(Chatter, chatter),
                    start=start,
                    slice_seconds=60,
                    duration=60,
                    active_seconds=30,
                    input_seconds=10,
                    paused_seconds=0,
                    keystrokes=5,
                    mouse_events=5,
                    seq=int(start.timestamp()),
                    batch_id="b",
                    received_at=start,
                )
            )
            s.commit()

    def rule(self, kind: str, threshold: int, **more: Any) -> int:
        with self.session() as s:
            begin_write(s)
            row, _ = rules.create(
                s,
                rules.RuleInput(name=f"{kind} {threshold}", kind=kind, threshold=threshold, **more),
                NOW,
                allow_private=True,
            )
            s.commit()
            return row.id

    def evaluate(self, now: dt.datetime) -> Round:
        with self.session() as s:
            begin_write(s)
            result = evaluate(s, now)
            assert result is not None
            s.commit()
            return result

    def alerts(self) -> list[Alert]:
        with self.session() as s:
            return list(s.scalars(select(Alert).order_by(Alert.id)))

    def open_alerts(self) -> list[Alert]:
        return [a for a in self.alerts() if a.resolved_at is None]

    def deliveries(self) -> list[AlertDelivery]:
        with self.session() as s:
            return list(s.scalars(select(AlertDelivery).order_by(AlertDelivery.id)))

    def send(self, smtp: mail.SmtpSettings | None = None, now: dt.datetime = NOW) -> delivery.Sent:
        return delivery.send_due(self.engine, smtp or mail.SmtpSettings(), FAST, lambda: now)


@pytest.fixture(autouse=True)
def private_webhooks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhooks to the tests' local servers: CHATTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS on for
    the command line (which reads the environment) and the test app.  A test of the
    default sets the app's setting back to False itself."""
    monkeypatch.setenv("CHATTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS", "1")
    if "app" in request.fixturenames:
        request.getfixturevalue("app").config["ALERTS_ALLOW_PRIVATE_WEBHOOKS"] = True


@pytest.fixture
def world(agency: Collector, database_url: str) -> Iterator[World]:
    engine = create_engine(database_url)
    configure_engine(engine)
    yield World(engine, database_url)
    engine.dispose()


@dataclass
class Hook:
    """A local HTTP server that records each POST and answers from ``replies`` in turn."""

    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    replies: list[tuple[int, str, bytes]] = field(default_factory=list)


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status, kind, reply = (
                state.replies.pop(0) if state.replies else (200, "text/plain", b"ok")
            )
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/chattertrack"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


@dataclass
class Mailbox:
    settings: mail.SmtpSettings
    messages: list[Any] = field(default_factory=list)


class _Controller(Controller):  # type: ignore[misc]
    """aiosmtpd on an ephemeral port: its start-up check connects to the bound one."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    from email import message_from_bytes, policy

    box = Mailbox(mail.SmtpSettings())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            message = message_from_bytes(envelope.content, policy=policy.default)
            box.messages.append((list(envelope.rcpt_tos), message))
            return "250 Message accepted for delivery"

    controller = _Controller(Handler(), hostname="127.0.0.1", port=0)
    controller.start()
    port = controller.port
    box.settings = mail.SmtpSettings(host="127.0.0.1", port=port, sender="alerts@agency.test")
    yield box
    controller.stop()
