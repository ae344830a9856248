"""Sleep, suspend and frozen processes never become online time."""

from __future__ import annotations

import datetime as dt
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.client import CollectorClient
from agent.config import AgentConfig, DeviceKey
from agent.runner import Runner
from agent.state import SharedState
from shared.protocol import AgentSettings
from tests.agent.conftest import AgentProcess, CollectorProcess, wait_for

T0 = 1_795_000_020


class FakeClocks:
    """Wall, monotonic (stops in a suspend) and boot (counts a suspend) clocks."""

    def __init__(self) -> None:
        self.wall = float(T0)
        self.mono = 1000.0
        self.boot = 5000.0

    def advance(self, wall: float, mono: float | None = None) -> None:
        self.wall += wall
        self.boot += wall
        self.mono += wall if mono is None else mono

    def change(self, by: float) -> None:
        """Someone sets the computer's clock: only the wall clock moves."""
        self.wall += by


class NoListeners:
    def __init__(self, _counter: object) -> None:
        pass

    def start(self) -> None:
        pass

    def alive(self) -> bool:
        return True

    def stop(self) -> None:
        pass


def make_runner(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clocks: FakeClocks,
    listeners: Any,
    idle_probe: Any = lambda: None,
    settings: AgentSettings | None = None,
) -> Runner:
    """A real Runner on fake clocks, its outbox under tmp_path, input started."""
    monkeypatch.setenv("CHATTER_AGENT_HOME", str(tmp_path))
    config = AgentConfig(
        server="http://unused.invalid",
        device_id="d",
        settings=settings or AgentSettings(slice_seconds=10, idle_threshold_seconds=30),
    )
    runner = Runner(
        SharedState(config=config, key=DeviceKey(key_id="k", secret="s")),
        CollectorClient("http://unused.invalid"),
        wall=lambda: clocks.wall,
        mono=lambda: clocks.mono,
        boot=lambda: clocks.boot,
        idle_probe=idle_probe,
        listeners=listeners,
    )
    runner._start_input()
    return runner


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Runner, FakeClocks]:
    clocks = FakeClocks()
    return make_runner(tmp_path, monkeypatch, clocks, NoListeners), clocks


def typing_for(r: Runner, clocks: FakeClocks, seconds: int) -> None:
    for _ in range(seconds):
        r.counter.key()
        r.tick()
        clocks.advance(1)


def online_seconds(r: Runner) -> list[tuple[int, int, int]]:
    return [
        (int(row[0]), int(row[1]), int(row[2]))
        for row in r.outbox._db.execute(
            "SELECT start, duration, active_seconds FROM slices ORDER BY start"
        )
    ]


def test_wall_clock_jump_is_not_online(runner: tuple[Runner, FakeClocks]) -> None:
    r, clocks = runner
    typing_for(r, clocks, 30)
    clocks.advance(3600, mono=1)  # suspended for an hour: the monotonic clock stood still
    typing_for(r, clocks, 30)
    r.shutdown()
    rows = online_seconds(r)
    # 29 s between the first 30 ticks, 30 s after the wake-up (the exit tick closes the
    # last second); the second in which the machine fell asleep is not known to have run.
    assert sum(d for _, d, _ in rows) == 59
    assert all(start < T0 + 30 or start >= T0 + 3630 for start, _, _ in rows)
    assert sum(a for _, _, a in rows) == 59


@pytest.mark.parametrize("by", [3600, -3600, 600, -90])
def test_a_clock_change_is_absorbed_not_a_gap(runner: tuple[Runner, FakeClocks], by: int) -> None:
    """Setting the computer's clock is not time passing: the agent's time goes on (the
    offset absorbs the change), every second is online once, and the collector is asked."""
    r, clocks = runner
    typing_for(r, clocks, 30)
    r.state.time_check.clear()
    clocks.change(by)
    typing_for(r, clocks, 30)
    assert r.state.time_check.is_set()
    assert r.state.clock_offset == -by
    r.shutdown()
    rows = online_seconds(r)
    assert sum(d for _, d, _ in rows) == 60
    assert [start for start, _, _ in rows] == [T0 + 10 * i for i in range(len(rows))]


def test_frozen_process_is_not_online(runner: tuple[Runner, FakeClocks]) -> None:
    r, clocks = runner
    typing_for(r, clocks, 20)
    clocks.advance(45)  # SIGSTOP or a VM pause: both clocks moved, no tick ran
    typing_for(r, clocks, 20)
    r.shutdown()
    assert sum(d for _, d, _ in online_seconds(r)) == 39


def test_sigstop_under_a_real_agent(
    collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    agent = make_agent()
    started = time.time()
    agent.start()
    time.sleep(4)
    assert agent.proc is not None
    agent.proc.send_signal(signal.SIGSTOP)
    time.sleep(15)
    agent.proc.send_signal(signal.SIGCONT)
    time.sleep(4)
    agent.stop()
    stopped = time.time()
    agent.start()  # delivers what the stop sealed
    wait_for(lambda: agent.status()["queued_slices"] == 0, 30, "the outbox to drain")
    agent.stop()
    rows = collector_process.rows("SELECT start, duration FROM slices")
    first_run = [
        int(duration)
        for start, duration in rows
        if dt.datetime.fromisoformat(str(start)).replace(tzinfo=dt.UTC).timestamp() < stopped
    ]
    elapsed = stopped - started
    # Everything but the 15 s freeze ran (start-up included); the freeze never counts.
    assert sum(first_run) <= elapsed - 13, (sum(first_run), elapsed)
    assert sum(first_run) >= 6
