"""Signed agent requests: what passes, what is refused, and how clients recover."""

from __future__ import annotations

import datetime as dt
import time

from tests.collector.conftest import Agent, Collector

PATH = "/api/v1/heartbeats"


def test_good_signature_is_accepted(agent: Agent) -> None:
    reply = agent.send(agent.slices(2))
    assert reply.status_code == 200, reply.text
    assert reply.json()["accepted"] == 2


def test_tampered_body_is_refused(agent: Agent) -> None:
    body = agent.batch_body(agent.slices(1))
    ts = int(time.time())
    from shared import signing

    headers = signing.signed_headers(agent.key_id, [agent.secret], "POST", PATH, ts, body)
    tampered = body.replace(b'"keystrokes":30', b'"keystrokes":31')
    assert tampered != body
    reply = agent.http.post(PATH, content=tampered, headers=headers)
    assert reply.status_code == 401
    assert reply.json()["error"] == "bad_signature"


def test_tampered_path_is_refused(agent: Agent) -> None:
    body = agent.batch_body(agent.slices(1))
    reply = agent.signed_post(PATH, body, sign_path="/api/v1/agents/rotate-key")
    assert reply.status_code == 401 and reply.json()["error"] == "bad_signature"


def test_wrong_key_is_refused(agency: Collector) -> None:
    alice = agency.enroll("alice")
    bob = agency.enroll("bob")
    body = alice.batch_body(alice.slices(1))
    # Alice's key id with Bob's secret.
    reply = alice.signed_post(PATH, body, secrets=[bob.secret])
    assert reply.status_code == 401 and reply.json()["error"] == "bad_signature"
    # An unknown key id cannot be told from a wrong signature (nothing to enumerate).
    unknown = alice.signed_post(PATH, body, key_id="key_doesnotexist")
    assert unknown.status_code == 401 and unknown.text == reply.text


def test_missing_headers(agent: Agent) -> None:
    reply = agent.http.post(PATH, content=agent.batch_body(agent.slices(1)))
    assert reply.status_code == 401
    body = reply.json()
    assert body["error"] == "missing_signature"
    assert "X-Agent-Signature" in body["message"]


def test_revoked_device_fails_at_once(agency: Collector, agent: Agent) -> None:
    assert agent.send(agent.slices(1)).status_code == 200
    agency.cli("revoke-device", agent.device_id[:8])

    reply = agent.send(agent.slices(1))

    assert reply.status_code == 403
    assert reply.json()["error"] == "device_revoked"
    assert '"revoked_at": null' not in agency.cli("devices", "--json").output


def test_skew_beyond_window_then_corrected_retry(agent: Agent) -> None:
    body = agent.batch_body(agent.slices(3))
    agent_clock = int(time.time()) - 3600  # the agent's clock is an hour slow

    refused = agent.signed_post(PATH, body, timestamp=agent_clock)

    assert refused.status_code == 401
    error = refused.json()
    assert error["error"] == "clock_skew"
    server_time = dt.datetime.fromisoformat(error["details"][0]["server_time"])
    assert error["details"][0]["skew_seconds"] <= -3590
    # The agent learns its offset from the server's time and signs again at once.
    offset = server_time.timestamp() - agent_clock
    retry = agent.signed_post(PATH, body, timestamp=int(agent_clock + offset))
    assert retry.status_code == 200 and retry.json()["accepted"] == 3


def test_skew_inside_window_is_accepted(agent: Agent) -> None:
    reply = agent.signed_post(
        PATH, agent.batch_body(agent.slices(1)), timestamp=int(time.time()) + 250
    )
    assert reply.status_code == 200


def test_replayed_batch_stores_nothing_twice(agent: Agent) -> None:
    body = agent.batch_body(agent.slices(4))
    ts = int(time.time())
    first = agent.signed_post(PATH, body, timestamp=ts)
    replay = agent.signed_post(PATH, body, timestamp=ts)

    assert first.json()["accepted"] == 4
    assert replay.status_code == 200
    assert replay.json()["accepted"] == 0 and replay.json()["duplicates"] == 4


def test_several_signatures_one_valid(agent: Agent) -> None:
    reply = agent.signed_post(
        PATH, agent.batch_body(agent.slices(1)), secrets=["not-the-secret", agent.secret]
    )
    assert reply.status_code == 200


def test_key_rotation_keeps_device_and_queue(agency: Collector, agent: Agent) -> None:
    assert agent.send(agent.slices(2)).json()["accepted"] == 2
    agency.cli("rotate-key", agent.device_id)
    hint = agent.send(agent.slices(1)).json()
    assert hint["rotate_key"] is True

    rotated = agent.signed_post("/api/v1/agents/rotate-key", b"")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    old_key, old_secret = agent.key_id, agent.secret

    # A batch queued before the rotation still goes through, signed with the old key.
    queued = agent.slices(2)
    with_old_key = agent.send(queued[:1]).json()
    # Until the new key is used the agent keeps being asked (it may have lost the reply).
    assert with_old_key["accepted"] == 1 and with_old_key["rotate_key"] is True
    agent.key_id, agent.secret = new["key_id"], new["secret"]
    after = agent.send(queued[1:]).json()
    assert after["accepted"] == 1 and after["rotate_key"] is False and after["gaps"] == []
    devices = agency.cli("devices", "--json").output
    assert devices.count('"device_id"') == 1 and '"slices_received": 5' in devices
    assert old_key != agent.key_id and old_secret != agent.secret


def test_old_key_expires_after_the_grace_period(agency: Collector, agent: Agent) -> None:
    from sqlalchemy import create_engine, update

    from collector.db.models import DeviceKey

    new = agent.signed_post("/api/v1/agents/rotate-key", b"").json()
    # Signing with both secrets during the switch works whichever key id is named.
    both = agent.signed_post(
        PATH,
        agent.batch_body(agent.slices(1)),
        key_id=new["key_id"],
        secrets=[agent.secret, new["secret"]],
    )
    assert both.status_code == 200
    engine = create_engine(agency.database_url)
    with engine.begin() as conn:
        conn.execute(
            update(DeviceKey)
            .where(DeviceKey.key_id == agent.key_id)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    engine.dispose()
    expired = agent.send(agent.slices(1))
    assert expired.status_code == 401 and expired.json()["error"] == "key_expired"
    # Old secret under the new key id no longer counts either.
    stale = agent.signed_post(
        PATH, agent.batch_body(agent.slices(1)), key_id=new["key_id"], secrets=[agent.secret]
    )
    assert stale.status_code == 401 and stale.json()["error"] == "bad_signature"


def test_a_wrong_signature_learns_nothing_of_the_device(agency: Collector) -> None:
    live = agency.enroll("alice")
    revoked = agency.enroll("alice")
    assert revoked.send(revoked.slices(1)).status_code == 200
    agency.cli("revoke-device", revoked.device_id[:8])
    body = live.batch_body(live.slices(1))
    replies = [
        live.signed_post(PATH, body, secrets=["not-the-secret"]),
        revoked.signed_post(PATH, body, secrets=["not-the-secret"]),
        live.signed_post(PATH, body, key_id="key_doesnotexist", secrets=["not-the-secret"]),
    ]
    assert {r.status_code for r in replies} == {401}
    assert len({r.text for r in replies}) == 1, [r.text for r in replies]
    assert revoked.device_id not in replies[1].text
    # With the right signature the revoked device is told why.
    told = revoked.send(revoked.slices(1))
    assert told.status_code == 403 and told.json()["error"] == "device_revoked"
