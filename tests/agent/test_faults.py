"""Delivery survives a failing network and collector, and the agent being killed."""

from __future__ import annotations

import random
import signal
import socket
import threading
import time
from collections.abc import Callable

from tests.agent.conftest import AgentProcess, CollectorProcess, wait_for
from tests.agent.proxy import Fault, RecordingProxy


def stored_seqs(collector: CollectorProcess) -> list[int]:
    return [int(r[0]) for r in collector.rows("SELECT seq FROM slices ORDER BY seq")]


def sealed_total(agent: AgentProcess) -> int:
    """How many slices this agent has ever sealed (its outbox's sequence counter)."""
    rows = agent.outbox_rows("SELECT seq FROM sqlite_sequence WHERE name = 'slices'")
    return int(rows[0][0]) if rows else 0


def assert_every_slice_once(agent: AgentProcess, collector: CollectorProcess) -> None:
    """Each sealed seq is at the collector exactly once, or still queued (sealed at exit)."""
    delivered = stored_seqs(collector)
    queued = [int(r[0]) for r in agent.outbox_rows("SELECT seq FROM slices ORDER BY seq")]
    assert len(delivered) == len(set(delivered))
    assert not set(delivered) & set(queued)
    assert sorted(delivered + queued) == list(range(1, sealed_total(agent) + 1))
    assert len(queued) <= 3  # only what the last stop sealed


def drain(agent: AgentProcess, collector: CollectorProcess) -> None:
    """Run the agent until everything it sealed is at the collector, then stop it."""
    agent.start()
    time.sleep(2)
    agent.stop()
    agent.start()
    wait_for(lambda: agent.status()["queued_slices"] == 0, 60, "the outbox to drain")
    agent.stop()


def test_outage_of_every_kind_loses_nothing(
    collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    phases: list[tuple[str, Fault]] = [
        ("500", (500, {})),
        ("503", (503, {"Retry-After": "1"})),
        ("429", (429, {"Retry-After": "1"})),
    ]
    state = {"fault": None}

    def fault() -> Fault:
        return state["fault"]

    with RecordingProxy(collector_process.url, fault) as proxy:
        agent = make_agent(server=proxy.url)
        agent.start()
        time.sleep(3)
        # Connection refused: nothing listens where the agent sends.
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{blocker.getsockname()[1]}"
        blocker.close()
        agent.stop()
        config = agent.home / "config" / "agent.json"
        config.write_text(config.read_text().replace(proxy.url, dead))
        agent.start()
        time.sleep(6)
        agent.stop()
        assert agent.status()["queued_slices"] > 0
        config.write_text(config.read_text().replace(dead, proxy.url))
        agent.start()
        for name, answer in phases:
            state["fault"] = answer
            time.sleep(5)
            assert name in str(agent.status()["last_error"]) or agent.status()["queued_slices"] > 0
        state["fault"] = None
        agent.stop()
        drain(agent, collector_process)
        statuses = set(proxy.statuses)
    assert {500, 503, 429, 200} <= statuses
    assert_every_slice_once(agent, collector_process)
    assert agent.status()["parked_slices"] == 0


def test_sigkill_during_sends_loses_and_repeats_nothing(
    collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    collector_process.cli("settings", "set", "slice_seconds", "1")
    collector_process.cli("settings", "set", "idle_threshold_seconds", "1")
    # A slow collector keeps requests in flight, so kills land mid-send.
    slow = threading.Event()

    def delay() -> Fault:
        if slow.is_set():
            time.sleep(random.uniform(0.05, 0.3))
        return None

    rng = random.Random(7)
    with RecordingProxy(collector_process.url, delay) as proxy:
        agent = make_agent(server=proxy.url)
        agent.start()  # picks up the 1-second slices from the first reply
        time.sleep(3)
        agent.stop()
        slow.set()
        for _ in range(20):
            agent.start()
            time.sleep(rng.uniform(0.5, 2.5))
            agent.stop(signal.SIGKILL)
        slow.clear()
        drain(agent, collector_process)
        duplicates_sent = len(proxy.bodies) > 0
    assert duplicates_sent
    assert_every_slice_once(agent, collector_process)
    assert sealed_total(agent) > 20
