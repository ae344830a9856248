"""Real input under Xvfb, typed by xdotool, counted by the agent, stored by a real collector."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.agent.conftest import AgentProcess, CollectorProcess, wait_for, xdotool


def totals(collector: CollectorProcess) -> tuple[int, int, int, int, int]:
    row = collector.rows(
        "SELECT COUNT(*), COALESCE(SUM(keystrokes), 0), COALESCE(SUM(mouse_events), 0), "
        "COALESCE(SUM(duration), 0), COALESCE(SUM(active_seconds), 0) FROM slices"
    )[0]
    return tuple(int(v) for v in row)  # type: ignore[return-value]


def test_keystrokes_and_mouse_arrive_exactly(
    display: str, collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    agent = make_agent()
    agent.start()
    time.sleep(1)
    # xdotool types about twice as fast as --delay suggests; 60 ms gives ~30 keys a second,
    # fast typing but under the collector's plausibility cap of 50 a second.
    xdotool(display, "type", "--delay", "60", "x" * 200)
    for x in range(5):
        xdotool(display, "mousemove", str(100 + 50 * x), "200", "click", "1")
    # Slices of 2 s become final 3 s (the idle threshold) after their end.
    wait_for(lambda: totals(collector_process)[1] == 200, 30, "200 key presses at the collector")
    agent.stop()
    agent.start()  # sends what was sealed at exit
    wait_for(lambda: agent.status()["queued_slices"] == 0, 30, "the outbox to drain")
    agent.stop()
    count, keys, mouse, _, _ = totals(collector_process)
    assert keys == 200
    # Five clicks, plus moves counted at most ten a second.
    assert 5 <= mouse <= 5 + 10 * 5
    seqs = [r[0] for r in collector_process.rows("SELECT seq FROM slices ORDER BY seq")]
    assert seqs == list(range(1, count + 1))  # nothing lost, nothing twice
    assert agent.status()["today"]["keystrokes"] == 200  # type: ignore[index]


def test_idle_is_backdated_to_the_last_input(
    display: str, collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    agent = make_agent()
    agent.start()
    time.sleep(1)
    xdotool(display, "type", "--delay", "50", "y" * 20)  # about one second of typing
    time.sleep(9)  # longer than the 3 s idle threshold
    xdotool(display, "type", "--delay", "50", "y" * 20)
    time.sleep(1)
    agent.stop()
    agent.start()
    wait_for(lambda: agent.status()["queued_slices"] == 0, 30, "the outbox to drain")
    agent.stop()
    _, keys, _, online, active = totals(collector_process)
    assert keys == 40
    idle = online - active
    # The 9 s pause is idle from the last key of the first burst: at least 8 s of it,
    # and the typing itself (about 2 s) plus the short stretches around it are active.
    assert idle >= 8, (online, active)
    assert active >= 2, (online, active)


def test_no_key_or_text_is_recorded(
    tmp_path: Path,
    display: str,
    collector_process: CollectorProcess,
    make_agent: Callable[..., AgentProcess],
) -> None:
    from tests.agent.proxy import RecordingProxy

    secret = "hunter2 Correct-Horse_battery STAPLE 8461"
    with RecordingProxy(collector_process.url) as proxy:
        agent = make_agent(server=proxy.url)
        agent.start()
        time.sleep(1)
        xdotool(display, "type", "--delay", "60", secret)
        xdotool(display, "key", "Return", "BackSpace", "ctrl+a", "F5")
        wait_for(lambda: totals(collector_process)[1] >= len(secret) + 4, 30, "the key presses")
        agent.stop()
        bodies = b"\n".join(proxy.bodies)
    assert bodies
    haystacks = {"request bodies": bodies}
    for path in agent.home.rglob("*"):
        if path.is_file():
            haystacks[str(path)] = path.read_bytes()
    haystacks["collector database"] = collector_process.database.read_bytes()
    # Long enough never to occur by chance in ids, tokens or timestamps; pynput's own
    # names for the special keys would show a key object that leaked into a string.
    needles = [
        secret,
        "hunter2",
        "Correct-Horse",
        "battery",
        "STAPLE",
        "BackSpace",
        "Key.backspace",
        "Key.enter",
        "Key.f5",
        "Key.ctrl",
    ]
    for where, data in haystacks.items():
        lowered = data.lower()
        for needle in needles:
            assert needle.lower().encode() not in lowered, f"{needle!r} found in {where}"
