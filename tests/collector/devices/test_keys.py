"""Key rotation: only from the newest key, at most one pending, never more than 2 live keys."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, func, or_, select

from collector.db.models import DeviceKey
from tests.collector.conftest import Agent, Collector

ROTATE = "/api/v1/agents/rotate-key"


def live_keys(agency: Collector) -> int:
    engine = create_engine(agency.database_url)
    now = dt.datetime.now(dt.UTC)
    with engine.connect() as conn:
        count = conn.scalar(
            select(func.count()).where(
                or_(DeviceKey.expires_at.is_(None), DeviceKey.expires_at > now)
            )
        )
    engine.dispose()
    return int(count or 0)


def test_the_old_key_cannot_fork_a_second_key(agency: Collector, agent: Agent) -> None:
    old = (agent.key_id, agent.secret)
    first = agent.signed_post(ROTATE, b"")
    assert first.status_code == 200, first.text
    pending = first.json()
    # Asked again with the old key while the new key is unused (the reply was lost):
    # the same pending key again, never a second one.
    again = agent.signed_post(ROTATE, b"")
    assert again.status_code == 200, again.text
    assert (again.json()["key_id"], again.json()["secret"]) == (
        pending["key_id"],
        pending["secret"],
    )
    assert again.json()["previous_key_expires_at"] == pending["previous_key_expires_at"]
    assert live_keys(agency) == 2
    # The new key signs: the old one is retired at once and can rotate no more.
    agent.key_id, agent.secret = pending["key_id"], pending["secret"]
    assert agent.send(agent.slices(1)).status_code == 200
    assert live_keys(agency) == 1
    refused = agent.signed_post(ROTATE, b"", key_id=old[0], secrets=[old[1]])
    assert refused.status_code == 401 and refused.json()["error"] == "key_expired"


def test_rotation_is_bounded_to_two_live_keys(agency: Collector, agent: Agent) -> None:
    for _ in range(30):
        reply = agent.signed_post(ROTATE, b"")
        assert reply.status_code == 200, reply.text
        agent.key_id, agent.secret = reply.json()["key_id"], reply.json()["secret"]
    assert live_keys(agency) == 2  # the newest and the one it replaced (in its grace)
    assert agent.send(agent.slices(1)).status_code == 200
    assert live_keys(agency) == 1


def test_a_key_older_than_the_pending_ones_predecessor_gets_409(
    agency: Collector, agent: Agent
) -> None:
    """Keys left live by earlier versions (several at once): only the newest two count."""
    from sqlalchemy import update

    keys = [(agent.key_id, agent.secret)]
    engine = create_engine(agency.database_url)
    for _ in range(2):
        reply = agent.signed_post(ROTATE, b"").json()
        keys.append((reply["key_id"], reply["secret"]))
        agent.key_id, agent.secret = reply["key_id"], reply["secret"]
    # As an older collector left it: every key still live.
    with engine.begin() as conn:
        conn.execute(update(DeviceKey).values(expires_at=None))
    engine.dispose()
    oldest = agent.signed_post(ROTATE, b"", key_id=keys[0][0], secrets=[keys[0][1]])
    assert oldest.status_code == 409 and oldest.json()["error"] == "stale_key"
    assert "newest" in oldest.json()["message"]
