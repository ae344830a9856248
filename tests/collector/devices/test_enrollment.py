"""Enrollment with single-use, expiring tokens (both databases)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, update

from collector.db.models import EnrollmentToken
from tests.collector.conftest import Agent, Collector

BODY = {"hostname": "laptop-7", "platform": "Windows-11", "agent_version": "0.1.0"}


def test_enroll_returns_device_key_and_settings(agency: Collector) -> None:
    token = agency.enroll_token("alice")
    assert token.startswith("cte_") and "\n" not in token

    reply = agency.http.post("/api/v1/agents/enroll", json={"token": token, **BODY})

    assert reply.status_code == 201, reply.text
    data = reply.json()
    assert set(data) == {
        "device_id",
        "key_id",
        "secret",
        "server_time",
        "settings",
        "chatter_name",
        "stats_path",
    }
    assert data["chatter_name"] == "Alice"
    assert data["stats_path"] == "/chatters/alice"
    assert data["settings"] == {
        "slice_seconds": 60,
        "idle_threshold_seconds": 180,
        "outbox_max_days": 14,  # 30 by default, capped by the 14 days slices are kept
    }
    server_time = dt.datetime.fromisoformat(data["server_time"])
    assert abs((server_time - dt.datetime.now(dt.UTC)).total_seconds()) < 5
    listing = agency.cli("devices", "--json").output
    assert data["device_id"] in listing and "laptop-7" in listing and "Windows-11" in listing


def test_reused_token_is_refused(agency: Collector) -> None:
    token = agency.enroll_token("alice")
    first = agency.http.post("/api/v1/agents/enroll", json={"token": token, **BODY})
    assert first.status_code == 201

    again = agency.http.post("/api/v1/agents/enroll", json={"token": token, **BODY})

    assert again.status_code == 401
    assert again.json()["error"] == "token_used"
    assert agency.cli("devices", "--json").output.count('"device_id"') == 1


def test_expired_token_is_refused(agency: Collector) -> None:
    token = agency.enroll_token("alice", ttl="1h")
    engine = create_engine(agency.database_url)
    with engine.begin() as conn:
        conn.execute(
            update(EnrollmentToken).values(
                expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
    engine.dispose()

    reply = agency.http.post("/api/v1/agents/enroll", json={"token": token, **BODY})

    assert reply.status_code == 401
    assert reply.json()["error"] == "token_expired"


def test_withdrawn_tokens_are_refused(agency: Collector) -> None:
    first, second = agency.enroll_token("alice"), agency.enroll_token("alice")
    other = agency.enroll_token("bob")
    out = agency.cli("withdraw-enroll-tokens", "alice").output
    assert "2 unused enrollment tokens of alice withdrawn" in out
    for token in (first, second):
        reply = agency.http.post("/api/v1/agents/enroll", json={"token": token, **BODY})
        assert reply.status_code == 401 and reply.json()["error"] == "token_expired"
    assert (
        agency.http.post("/api/v1/agents/enroll", json={"token": other, **BODY}).status_code == 201
    )
    assert "no chatter" in agency.cli("withdraw-enroll-tokens", "ghost", expect=1).output


def test_unknown_token_and_bad_bodies(agency: Collector) -> None:
    unknown = agency.http.post("/api/v1/agents/enroll", json={"token": "cte_nope", **BODY})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_token"

    missing = agency.http.post("/api/v1/agents/enroll", json={"token": "x"})
    assert missing.status_code == 422
    assert "hostname" in missing.json()["message"]

    garbage = agency.http.post("/api/v1/agents/enroll", content=b"{not json")
    assert garbage.status_code == 400 and garbage.json()["error"] == "malformed_json"


def test_enroll_token_cli_errors(agency: Collector) -> None:
    unknown = agency.cli("enroll-token", "nobody", expect=1)
    assert "no chatter 'nobody'" in unknown.output
    bad_ttl = agency.cli("enroll-token", "alice", "--ttl", "soon", expect=2)
    assert "72h" in bad_ttl.output
    too_long = agency.cli("enroll-token", "alice", "--ttl", "90d", expect=2)
    assert "30 days" in too_long.output
    beyond = agency.cli("enroll-token", "alice", "--ttl", "99999999999h", expect=2)
    assert "longer than any duration" in beyond.output


def test_an_agent_keeps_no_more_than_the_collector_keeps(agency: Collector) -> None:
    """Slices older than the retention would be refused: the outbox bound follows it."""
    agency.cli("settings", "set", "retention_slice_days", "5")
    token = agency.enroll_token("alice")
    reply = agency.http.post("/api/v1/agents/enroll", json={"token": token, **BODY})
    assert reply.status_code == 201, reply.text
    assert reply.json()["settings"]["outbox_max_days"] == 5
    agency.cli("settings", "set", "outbox_max_days", "3", "--chatter", "alice")
    token = agency.enroll_token("alice")
    reply = agency.http.post("/api/v1/agents/enroll", json={"token": token, **BODY})
    assert reply.json()["settings"]["outbox_max_days"] == 3


def test_a_lost_enrollment_reply_can_be_asked_again_with_its_request_id(
    agency: Collector,
) -> None:
    """The agent timed out while the collector enrolled it: the same request id gets the
    same device and key again; another id, or the same id once the device has sent, gets
    'token used' (only the agent that made the request can repeat it, and only until it
    has evidently got its key)."""
    token = agency.enroll_token("alice")
    body = {
        "token": token,
        "hostname": "pc-1",
        "platform": "Linux",
        "agent_version": "0.1.0",
        "request_id": "r" * 32,
    }
    first = agency.http.post("/api/v1/agents/enroll", json=body)
    assert first.status_code == 201, first.text
    again = agency.http.post("/api/v1/agents/enroll", json=body)
    assert again.status_code == 201, again.text
    assert {k: again.json()[k] for k in ("device_id", "key_id", "secret")} == {
        k: first.json()[k] for k in ("device_id", "key_id", "secret")
    }
    assert agency.cli("devices", "--json").output.count('"device_id"') == 1

    other = agency.http.post("/api/v1/agents/enroll", json={**body, "request_id": "s" * 32})
    assert other.status_code == 401 and other.json()["error"] == "token_used"
    bare = {k: v for k, v in body.items() if k != "request_id"}
    assert agency.http.post("/api/v1/agents/enroll", json=bare).json()["error"] == "token_used"

    agent = Agent(
        agency.http, first.json()["device_id"], first.json()["key_id"], first.json()["secret"]
    )
    assert agent.send(agent.slices(1)).status_code == 200
    seen = agency.http.post("/api/v1/agents/enroll", json=body)
    assert seen.status_code == 401 and seen.json()["error"] == "token_used"

    for bad in ("short", "x" * 65, "has space in it!!", "\u0000" * 20):
        refused = agency.http.post("/api/v1/agents/enroll", json={**body, "request_id": bad})
        assert refused.status_code == 422, refused.text
