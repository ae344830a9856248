"""The runner: the OS idle clock stands in for blind listeners; slice lengths change cleanly."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agent.listeners import InputUnavailable
from agent.runner import Runner
from shared.protocol import AgentSettings
from tests.agent.test_suspend import T0, FakeClocks, NoListeners, make_runner, typing_for


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
    fault = runner.state.faults.snapshot()["input listeners"]
    assert fault["failures"] == 1 and fault["restart_at"] is None


class CrashedThread:
    """pynput keeps the exception that ended a listener thread and raises it from join()."""

    def join(self, _timeout: float) -> None:
        raise OSError("X connection broken")


class CrashingListeners(FlakyListeners):
    def threads(self) -> list[CrashedThread]:
        return [CrashedThread()]


def test_a_listener_crash_is_a_fault_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    FlakyListeners.started = 0
    clocks = FakeClocks()
    runner = make_runner(tmp_path, monkeypatch, clocks, CrashingListeners)
    runner.tick()
    fault = runner.state.faults.snapshot()["input listeners"]
    assert fault["last_error"] == "OSError: X connection broken"
    assert fault["restart_at"] is not None  # waiting to start them again
    assert "X connection broken" in str(runner.input_problem)
    for _ in range(3):
        clocks.advance(1)
        runner.tick()
    assert FlakyListeners.started == 2
    assert runner.state.faults.snapshot()["input listeners"]["restart_at"] is None
    assert runner.input_problem is None


def test_an_error_in_the_counting_loop_is_survived(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tick that raises is logged, recorded and the loop goes on (the agent keeps running)."""
    clocks = FakeClocks()
    runner = make_runner(tmp_path, monkeypatch, clocks, NoListeners)
    runner.state.faults.base = 0.01
    calls = {"n": 0}
    real_tick = runner.tick

    def tick() -> None:
        calls["n"] += 1
        clocks.advance(1)
        if calls["n"] in (2, 3):
            raise ZeroDivisionError("a bug")
        real_tick()
        if calls["n"] >= 6:
            runner.stop.set()

    runner.tick = tick  # type: ignore[method-assign]
    runner._start_input = lambda: None  # type: ignore[method-assign]
    runner.run()  # returns once the sixth tick stops it
    assert calls["n"] == 7  # six in the loop, one more by the shutdown
    fault = runner.state.faults.snapshot()["counting"]
    assert fault["failures"] == 2 and "ZeroDivisionError: a bug" in str(fault["last_error"])


# One slice length at a time: a new length starts on a minute boundary, a boundary of
# every allowed length, and no slice ever overlaps another (issue 12, finding 1).


def _spans(r: Runner) -> list[tuple[int, int]]:
    rows = r.outbox._db.execute("SELECT start, slice_seconds FROM slices ORDER BY start")
    return [(int(start), int(length)) for start, length in rows]


def _assert_one_length_at_a_time(spans: list[tuple[int, int]]) -> None:
    for (start, length), (after, other) in zip(spans, spans[1:], strict=False):
        assert start % length == 0 and start + length <= after, (start, length, after)
        if other != length:
            assert after % 60 == 0, (start, length, after, other)


def _settings(seconds: int) -> AgentSettings:
    return AgentSettings(slice_seconds=seconds, idle_threshold_seconds=30)


def test_a_new_slice_length_starts_at_the_next_minute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clocks = FakeClocks()
    clocks.advance(25)  # mid-minute
    r = make_runner(tmp_path, monkeypatch, clocks, NoListeners, settings=_settings(10))
    typing_for(r, clocks, 40)
    for seconds in (60, 1, 30, 20):  # as replies from the collector would change it
        assert r.state.apply_settings(_settings(seconds))
        typing_for(r, clocks, 95)
    r.shutdown()
    spans = _spans(r)
    assert [length for _, length in spans][0] == 10 and {60, 1, 30, 20} <= {s[1] for s in spans}
    _assert_one_length_at_a_time(spans)


def test_a_restart_with_another_length_never_overlaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The length changed while the agent was stopped (a reply after its last tick)."""
    clocks = FakeClocks()
    r = make_runner(tmp_path, monkeypatch, clocks, NoListeners, settings=_settings(60))
    typing_for(r, clocks, 20)
    r.shutdown()  # seals [T0, T0 + 60) with 20 s in it
    r.outbox.close()
    clocks.advance(5)
    again = make_runner(tmp_path, monkeypatch, clocks, NoListeners, settings=_settings(1))
    typing_for(again, clocks, 100)
    again.shutdown()
    spans = _spans(again)
    assert spans[0] == (T0, 60) and spans[1][0] == T0 + 60
    _assert_one_length_at_a_time(spans)


def test_a_restart_with_the_same_length_continues_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clocks = FakeClocks()
    r = make_runner(tmp_path, monkeypatch, clocks, NoListeners, settings=_settings(10))
    typing_for(r, clocks, 23)
    r.shutdown()  # seals [T0 + 20, T0 + 30) with 3 s in it
    r.outbox.close()
    clocks.advance(10)
    again = make_runner(tmp_path, monkeypatch, clocks, NoListeners, settings=_settings(10))
    typing_for(again, clocks, 30)
    again.shutdown()
    spans = _spans(again)
    assert [start - T0 for start, _ in spans] == [0, 10, 20, 30, 40, 50, 60]
    _assert_one_length_at_a_time(spans)


def test_a_stop_requested_by_a_signal_takes_no_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM's handler runs in the main thread, maybe while Event.wait there holds the
    event's lock: setting the event from the handler would deadlock (seen under load in
    the fault suite). The handler only raises a flag, which the loop sees within a second."""
    clocks = FakeClocks()
    ticks = {"n": 0}
    stopped: list[bool] = []

    def main() -> None:  # the runner and its outbox live in one thread, as in the agent
        runner = make_runner(tmp_path, monkeypatch, clocks, NoListeners)
        runner._start_input = lambda: None  # type: ignore[method-assign]
        real_tick = runner.tick

        def tick() -> None:
            ticks["n"] += 1
            clocks.advance(1)
            real_tick()
            if ticks["n"] == 2:
                # As the handler would be: while this thread holds the event's lock.
                with runner.stop._cond:  # type: ignore[attr-defined]
                    runner.request_stop()

        runner.tick = tick  # type: ignore[method-assign]
        runner.run()
        stopped.append(runner.stop.is_set())

    loop = threading.Thread(target=main, daemon=True)  # a deadlock fails, never hangs
    loop.start()
    loop.join(20)
    assert not loop.is_alive(), "the loop is stuck after a stop request"
    assert stopped == [True] and ticks["n"] == 3  # two in the loop, one by the shutdown


def test_todays_status_includes_what_is_not_sealed_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """status shows now: the outbox's day plus the open slices (60-s slices and a 180-s
    idle threshold would otherwise keep the last four minutes out of it)."""
    clocks = FakeClocks()
    settings = AgentSettings(slice_seconds=60, idle_threshold_seconds=180)
    runner = make_runner(tmp_path, monkeypatch, clocks, NoListeners, settings=settings)
    typing_for(runner, clocks, 150)  # two and a half minutes of typing, a key a second
    sealed = runner.outbox.day(runner._today()["date"])  # type: ignore[arg-type]
    today = runner._today()
    assert sealed["keystrokes"] < 150 // 2  # most of it is not sealed yet
    assert today["keystrokes"] == 150
    assert today["online"] == 149 and today["active"] == 149  # 150 ticks, 149 s between
    runner.shutdown()  # everything sealed now: the same totals, from the outbox alone
    final = runner.outbox.day(str(today["date"]))
    assert final["keystrokes"] == 150
    assert final["online"] == today["online"] + 1  # the second from the last tick to the stop
