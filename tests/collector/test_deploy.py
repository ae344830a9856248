"""Production pieces: the gunicorn config loads, and signing works behind a proxy prefix."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from collector import create_app
from collector.http.database import db
from shared import signing
from tests.collector.conftest import Agent, Collector

ROOT = Path(__file__).resolve().parents[2]


def test_gunicorn_config_is_valid(database_url: str) -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--check-config",
            "-c",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "collector:create_app()",
        ],
        env={"CHATTER_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_signature_behind_a_proxy_prefix(agency: Collector, agent: Agent) -> None:
    proxied = create_app({"DATABASE_URL": agency.database_url, "PROXY_HOPS": 1, "TESTING": True})
    body = agent.batch_body(agent.slices(1))
    ts = int(time.time())
    # The agent talks to https://host/track/api/v1/heartbeats; the proxy strips /track.
    headers = signing.signed_headers(
        agent.key_id, [agent.secret], "POST", "/track/api/v1/heartbeats", ts, body
    )
    headers["X-Forwarded-Prefix"] = "/track"
    headers["X-Forwarded-Proto"] = "https"
    with httpx.Client(transport=httpx.WSGITransport(app=proxied), base_url="http://c") as http:
        reply = http.post("/api/v1/heartbeats", content=body, headers=headers)
    with proxied.app_context():
        db.engine.dispose()
    assert reply.status_code == 200, reply.text
    assert reply.json()["accepted"] == 1
