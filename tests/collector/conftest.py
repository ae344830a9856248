"""A real collector app on each database, an httpx client over WSGI, and signed agents."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
from click.testing import CliRunner, Result
from flask import Flask

from collector import create_app
from collector.cli import main as cli_main
from shared import signing
from shared.protocol import format_time


@dataclass
class Agent:
    """A signed client for one enrolled device, as the real agent behaves on the wire."""

    http: httpx.Client
    device_id: str
    key_id: str
    secret: str
    seq: int = 0
    extra_secrets: list[str] = field(default_factory=list)
    # Where the next generated slice starts: consecutive calls never overlap.
    cursor: dt.datetime = field(
        default_factory=lambda: dt.datetime.fromtimestamp(
            int(time.time()) // 3600 * 3600 - 2 * 86400, dt.UTC
        )
    )

    def signed_post(
        self,
        path: str,
        body: bytes,
        *,
        timestamp: int | None = None,
        sign_path: str | None = None,
        secrets: Sequence[str] | None = None,
        key_id: str | None = None,
    ) -> httpx.Response:
        ts = int(time.time()) if timestamp is None else timestamp
        headers = signing.signed_headers(
            key_id or self.key_id,
            secrets if secrets is not None else [self.secret, *self.extra_secrets],
            "POST",
            sign_path or path,
            ts,
            body,
        )
        headers["Content-Type"] = "application/json"
        return self.http.post(path, content=body, headers=headers)

    def slices(
        self,
        count: int,
        *,
        start: dt.datetime | None = None,
        slice_seconds: int = 60,
        **overrides: Any,
    ) -> list[dict[str, Any]]:
        """``count`` consecutive new slices (after the previous call's), with fresh seqs."""
        if start is None:
            start = self.cursor
            self.cursor = start + dt.timedelta(seconds=count * slice_seconds)
        out = []
        for i in range(count):
            self.seq += 1
            item = {
                "seq": self.seq,
                "start": format_time(start + dt.timedelta(seconds=i * slice_seconds)),
                "duration": slice_seconds,
                "active_seconds": slice_seconds // 2,
                "input_seconds": slice_seconds // 4,
                "keystrokes": 30,
                "mouse_events": 12,
            }
            item.update(overrides)
            out.append(item)
        return out

    def batch_body(
        self, heartbeats: list[dict[str, Any]], batch_id: str | None = None, **extra: Any
    ) -> bytes:
        body = {
            "batch_id": batch_id or uuid.uuid4().hex,
            "sent_at": format_time(dt.datetime.now(dt.UTC)),
            "heartbeats": heartbeats,
            **extra,
        }
        return msgspec.json.encode(body)

    def send(self, heartbeats: list[dict[str, Any]], **extra: Any) -> httpx.Response:
        return self.signed_post("/api/v1/heartbeats", self.batch_body(heartbeats, **extra))


@dataclass
class Collector:
    app: Flask
    http: httpx.Client
    database_url: str

    def cli(self, *args: str, input: str | None = None, expect: int | None = 0) -> Result:
        result = CliRunner().invoke(cli_main, ["--database", self.database_url, *args], input=input)
        if expect is not None:
            assert result.exit_code == expect, (result.exit_code, result.output, result.exception)
        return result

    def token(self, role: str, chatter: str | None = None) -> str:
        args = ["api-token", f"{role}-{uuid.uuid4().hex[:6]}", "--role", role]
        if chatter:
            args += ["--chatter", chatter]
        return self.cli(*args).output.strip()

    def enroll_token(self, chatter: str, ttl: str = "72h") -> str:
        return self.cli("enroll-token", chatter, "--ttl", ttl).output.strip()

    def enroll(self, chatter: str = "alice") -> Agent:
        token = self.enroll_token(chatter)
        reply = self.http.post(
            "/api/v1/agents/enroll",
            json={
                "token": token,
                "hostname": "pc-1",
                "platform": "Linux",
                "agent_version": "0.1.0",
            },
        )
        assert reply.status_code == 201, reply.text
        data = reply.json()
        return Agent(self.http, data["device_id"], data["key_id"], data["secret"])

    def post_events(self, events: Any, token: str, *, ndjson: bool = False) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        if ndjson:
            body = b"\n".join(msgspec.json.encode(e) for e in events)
            headers["Content-Type"] = "application/x-ndjson"
            return self.http.post("/api/v1/events", content=body, headers=headers)
        return self.http.post("/api/v1/events", json=events, headers=headers)


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    application = create_app({"DATABASE_URL": database_url, "TESTING": True})
    yield application
    with application.app_context():
        from collector.http.database import db

        db.engine.dispose()


@pytest.fixture
def collector(app: Flask, database_url: str) -> Iterator[Collector]:
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://collector.test") as http:
        yield Collector(app, http, database_url)


# The agency fixture's people, as the command line adds them.
AGENCY = [
    ["add-creator", "luna", "--name", "Luna"],
    ["add-creator", "nova", "--name", "Nova"],
    ["add-chatter", "alice", "--name", "Alice", "--creator", "luna"],
    ["add-chatter", "bob", "--name", "Bob", "--creator", "luna", "--creator", "nova"],
]


def add_agency(database_url: str) -> None:
    for args in AGENCY:
        result = CliRunner().invoke(cli_main, ["--database", database_url, *args])
        assert result.exit_code == 0, (args, result.output, result.exception)


@pytest.fixture
def agency(collector: Collector) -> Collector:
    """Two creators and two chatters: alice (luna) and bob (luna, nova), added by AGENCY.

    ``database_url`` holds them already: a test using this fixture gets its copy from a
    template to which add_agency added them once per session (tests/conftest.py).
    """
    return collector


@pytest.fixture
def agent(agency: Collector) -> Agent:
    return agency.enroll("alice")


@pytest.fixture
def integration(agency: Collector) -> str:
    """An integration token for pushing events."""
    return agency.token("integration")
