"""The runner when the listeners cannot see input: the OS idle clock stands in."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.listeners import InputUnavailable
from tests.agent.test_suspend import FakeClocks, make_runner


class UntrustedListeners:
    """Like pynput on macOS without the Input Monitoring permission."""

    def __init__(self, _counter: object) -> None:
        pass

    def start(self) -> None:
        raise InputUnavailable("macOS has not allowed this program to monitor input")

    def stop(self) -> None:
        raise AssertionError("a listener that never started is not stopped")


def test_os_idle_clock_replaces_blind_listeners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clocks = FakeClocks()
    os_idle = {"seconds": 0.0}
    runner = make_runner(
        tmp_path, monkeypatch, clocks, UntrustedListeners, idle_probe=lambda: os_idle["seconds"]
    )
    assert runner.input_source == "OS idle clock only (no key counts)"
    assert "monitor input" in str(runner.input_problem)
    for second in range(40):
        os_idle["seconds"] = 1.0 if second < 20 else second - 19.0  # input until second 20
        runner.tick()
        clocks.advance(1)
    clocks.advance(60)  # let the idle threshold pass; the gap is offline, not idle
    runner.shutdown()
    rows = runner.outbox._db.execute("SELECT duration, active_seconds, keystrokes FROM slices")
    duration, active, keys = (sum(col) for col in zip(*rows, strict=True))
    assert duration == 39 and keys == 0
    assert 18 <= active <= 22  # active while the OS saw input, idle after


class DeadThread:
    """A pynput listener whose thread died while connecting to the display."""

    _ready = False

    def is_alive(self) -> bool:
        return False


def test_listener_that_dies_while_starting_does_not_hang() -> None:
    from agent.listeners import _wait_ready

    with pytest.raises(InputUnavailable, match="stopped while starting"):
        _wait_ready(DeadThread(), timeout=5)


class FlakyListeners:
    """Starts, dies (the display restarted), and starts again when asked."""

    started = 0

    def __init__(self, _counter: object) -> None:
        pass

    def start(self) -> None:
        FlakyListeners.started += 1

    def alive(self) -> bool:
        return FlakyListeners.started > 1

    def stop(self) -> None:
        pass


def test_dead_listeners_are_restarted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.runner import RETRY_LISTENERS_EVERY

    clocks = FakeClocks()
    runner = make_runner(tmp_path, monkeypatch, clocks, FlakyListeners)
    for _ in range(RETRY_LISTENERS_EVERY):
        runner.tick()
        clocks.advance(1)
    assert FlakyListeners.started == 2
    assert runner.input_source == "keyboard and mouse listeners"
