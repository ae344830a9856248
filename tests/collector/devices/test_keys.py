"""Key rotation: only from the newest key, at most one pending, never more than 2 live keys."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, or_, select

from agent.client import CollectorClient
from agent.config import AgentConfig
from agent.config import DeviceKey as AgentKey
from agent.outbox import Outbox
from agent.sender import RetryPolicy, Sender
from agent.state import SharedState
from agent.timeline import SliceTotals
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


def test_the_real_agent_recovers_a_lost_rotation_reply(
    agency: Collector, agent: Agent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent's sender against this collector: the first rotation reply is lost on the
    way back (the collector made the key); the agent is asked again, gets the same
    pending key, switches to it, and the old key is retired."""
    monkeypatch.setenv("CHATTER_AGENT_HOME", str(tmp_path))
    app_transport = httpx.WSGITransport(app=agency.app)
    lost: list[str] = []

    class LosingFirstRotation(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            reply = app_transport.handle_request(request)
            if request.url.path.endswith("rotate-key") and not lost:
                reply.read()
                lost.append(reply.json()["key_id"])
                raise httpx.ReadTimeout("reply lost", request=request)
            return reply

    agency.cli("rotate-key", agent.device_id)
    state = SharedState(
        config=AgentConfig(server="http://collector.test", device_id=agent.device_id),
        key=AgentKey(key_id=agent.key_id, secret=agent.secret),
    )
    client = CollectorClient("http://collector.test", transport=LosingFirstRotation())
    outbox = Outbox(tmp_path / "outbox.db")
    sender = Sender(
        tmp_path / "outbox.db",
        client,
        state,
        threading.Event(),
        threading.Event(),
        RetryPolicy(base=1, cap=8, refused_wait=99),
    )
    start = int(dt.datetime.now(dt.UTC).timestamp()) // 60 * 60 - 30 * 60
    for step in range(3):
        outbox.add(SliceTotals(start + 60 * step, 60, 60, 30, 10, 0, 5, 2), "today")
        assert sender.step(outbox) == 0.0
    client.close()
    outbox.close()
    assert lost and state.key.key_id == lost[0]  # the pending key, delivered the second time
    assert state.credentials_refused is None and live_keys(agency) == 1
    devices = agency.cli("devices", "--json").output
    assert '"slices_received": 3' in devices


def test_concurrent_rotations_issue_one_key(agency: Collector, agent: Agent) -> None:
    """Eight rotations at once with the same (newest) key, through two app instances:
    one new key, which every one of them gets."""
    from concurrent.futures import ThreadPoolExecutor

    from collector import create_app

    second = create_app({"DATABASE_URL": agency.database_url, "TESTING": True})
    apps = [agency.app, second]
    start = threading.Barrier(8)

    def rotate(i: int) -> tuple[int, str]:
        transport = httpx.WSGITransport(app=apps[i % 2])
        with httpx.Client(transport=transport, base_url="http://collector.test") as http:
            mine = Agent(http, agent.device_id, agent.key_id, agent.secret)
            start.wait()
            reply = mine.signed_post(ROTATE, b"")
            return reply.status_code, reply.json().get("key_id", reply.text)

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(rotate, range(8)))
    with second.app_context():
        from collector.http.database import db

        db.engine.dispose()
    assert {status for status, _ in replies} == {200}, replies
    assert len({key for _, key in replies}) == 1, replies
    assert live_keys(agency) == 2
