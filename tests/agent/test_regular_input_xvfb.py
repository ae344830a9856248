"""Regular input under Xvfb: an xdotool jiggler is flagged by the collector, a person is not.

Two agents run at once, each on its own X server, for a little over five minutes (the
rule needs a run of five minutes; METRICS.md "Regular (machine-like) input"), with
10-second slices and a 60-second idle threshold: on one, a shell loop moves the mouse
every 30 s exactly; on the other, a person-like script types with random delays and
moves the mouse at random moments, including a mouse-only stretch longer than five
minutes, so that what tells them apart is the spread of the intervals, not the keys.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import os
import random
import subprocess
import threading
import time
import typing
from collections.abc import Iterator
from pathlib import Path

import httpx

from agent.counting import InputCounter
from shared.protocol import TIMING_FIELDS, Heartbeat
from tests.agent.conftest import AgentProcess, CollectorProcess, running_collector, wait_for

PERIOD = 30  # the jiggler's, as in the issue
RUN = 345  # seconds of input: more than the rule's five minutes plus a slice on each side
SLICE = 10
IDLE = 60


@contextlib.contextmanager
def x_server() -> Iterator[str]:
    """Another private X server (the session's one is the other agent's)."""
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24"]
        + ["-nolisten", "tcp", "-noreset"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(write,),
    )
    os.close(write)
    with os.fdopen(read) as announced:
        number = announced.readline().strip()
    try:
        assert number.isdigit(), "Xvfb did not start"
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _xdotool(display: str, *args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, env={**os.environ, "DISPLAY": display})


def _person(display: str, until: float, seed: int) -> None:
    """Types and moves at random moments; from 20 s to 20 s before the end, mouse only."""
    rng = random.Random(seed)
    words = ["hello", "thanks babe", "see you", "sure", "what are you up to", "lol"]
    started = time.monotonic()
    while (now := time.monotonic()) < until:
        mouse_only = started + 20 < now < until - 20
        if not mouse_only and rng.random() < 0.6:
            delay = str(rng.randint(60, 250))
            _xdotool(display, "type", "--delay", delay, rng.choice(words))
        else:
            x, y = rng.randint(0, 1279), rng.randint(0, 799)
            _xdotool(display, "mousemove", str(x), str(y))
        time.sleep(rng.uniform(1.5, 20) if mouse_only else rng.uniform(0.3, 4))


def _agent(home: Path, display: str, collector: CollectorProcess, chatter: str) -> AgentProcess:
    agent = AgentProcess(home, display, collector.url)
    agent.enroll(collector.cli("enroll-token", chatter))
    return agent


def _slices(collector: CollectorProcess, chatter: str) -> list[tuple[int, ...]]:
    found = collector.rows(
        "SELECT CAST(strftime('%s', s.start) AS INTEGER), s.slice_seconds, s.active_seconds, "
        "s.keystrokes, s.keyed_bursts, s.gaps, s.gap_ms_sum, s.gap_ms_sum_sq, s.regular "
        "FROM slices s JOIN chatters c ON c.id = s.chatter_id WHERE c.key = ? ORDER BY s.start",
        chatter,
    )
    return [tuple(int(v) if v is not None else -1 for v in r) for r in found]


def _drain(agent: AgentProcess) -> None:
    wait_for(lambda: agent.status()["queued_slices"] == 0, 60, "the outbox to drain")
    agent.stop()


def _longest_mouse_only_run(rows: list[tuple[int, ...]]) -> int:
    """Seconds of the longest run of contiguous mouse-only, active slices."""
    best = length = 0
    end = None
    for start, seconds, active, keys, keyed, *_ in rows:
        if active > 0 and keys == 0 and keyed == 0:
            length = length + seconds if start == end else seconds
            best = max(best, length)
        else:
            length = 0
        end = start + seconds
    return best


def test_a_jiggler_is_flagged_and_a_person_is_not(tmp_path: Path, display: str) -> None:
    with running_collector(tmp_path / "collector") as collector, x_server() as other:
        for args in (
            ["add-chatter", "bob", "--name", "Bob", "--creator", "luna"],
            ["settings", "set", "slice_seconds", str(SLICE)],
            ["settings", "set", "idle_threshold_seconds", str(IDLE)],
        ):
            collector.cli(*args)
        jiggled = _agent(tmp_path / "jiggled", display, collector, "alice")
        person = _agent(tmp_path / "person", other, collector, "bob")
        jiggled.start()
        person.start()
        moves = RUN // PERIOD + 1
        loop = (
            f"x=400; for i in $(seq {moves}); do xdotool mousemove $x 300; "
            f"x=$((801 - x)); sleep {PERIOD}; done"
        )
        jiggler = subprocess.Popen(["bash", "-c", loop], env={**os.environ, "DISPLAY": display})
        human = threading.Thread(target=_person, args=(other, time.monotonic() + RUN, 15))
        human.start()
        try:
            human.join()
            jiggler.wait(timeout=PERIOD + 30)
        finally:
            jiggler.kill()
            jiggler.wait()
        for agent in (jiggled, person):
            agent.stop()  # seals the current slice
            agent.start()  # and sends what was sealed at exit
        for agent in (jiggled, person):
            _drain(agent)

        machine = _slices(collector, "alice")
        human_rows = _slices(collector, "bob")
        # The jiggler: mouse only, intervals of 30 s give or take a few milliseconds.
        gaps = sum(r[5] for r in machine)
        total = sum(r[6] for r in machine)
        squares = sum(r[7] for r in machine)
        assert gaps >= RUN // PERIOD - 1 and all(r[3] == 0 for r in machine)
        mean = total / gaps
        assert abs(mean - PERIOD * 1000) < 200, mean
        assert (squares / gaps - mean**2) ** 0.5 / mean < 0.01
        active = [r for r in machine if r[2] > 0]
        flagged = [r for r in active if r[8]]
        assert len(flagged) * SLICE >= 300 and len(flagged) >= len(active) - 1, machine
        # The person: a mouse-only stretch of five minutes too, but irregular; never flagged.
        assert _longest_mouse_only_run(human_rows) >= 300, human_rows
        assert sum(r[4] for r in human_rows) > 0  # and typed
        assert not any(r[8] for r in human_rows), human_rows
        sums = dict(
            collector.rows(
                "SELECT c.key, SUM(a.regular_seconds) FROM activity_days a "
                "JOIN chatters c ON c.id = a.chatter_id GROUP BY c.key"
            )
        )
        assert sums["alice"] == sum(r[2] for r in flagged) and sums["bob"] == 0
        _check_the_api(collector, sums["alice"])


def _check_the_api(collector: CollectorProcess, regular: object) -> None:
    token = collector.cli("api-token", "lead", "--role", "manager")
    today = dt.datetime.now(dt.UTC).date()
    params = {"start": str(today - dt.timedelta(days=1)), "end": str(today), "tz": "UTC"}
    auth = {"Authorization": f"Bearer {token}"}
    url = collector.url + "/api/v1/stats/chatters"

    def rows() -> dict[str, dict[str, object]]:
        body = httpx.get(url, params=params, headers=auth, timeout=10).json()
        return {r["key"]: r for r in body["chatters"]}

    before = rows()
    assert before["alice"]["regular_seconds"] == regular
    collector.cli("settings", "set", "exclude_regular_input", "on")
    after = rows()
    assert isinstance(regular, int)
    assert after["alice"]["active_seconds"] == int(str(before["alice"]["active_seconds"])) - regular
    assert after["bob"]["active_seconds"] == before["bob"]["active_seconds"]


def test_timing_says_nothing_about_which_key() -> None:
    """The counter is told that a key was pressed, never which; the timing fields are
    counts and milliseconds; the same moments give the same timing whatever was typed."""
    assert list(inspect.signature(InputCounter.key).parameters) == ["self"]
    hints = typing.get_type_hints(Heartbeat)
    assert {name: hints[name] for name in TIMING_FIELDS} == dict.fromkeys(TIMING_FIELDS, int | None)

    def bursts(keys: str) -> list[tuple[int, bool]]:
        now = [1_795_000_000.0]
        counter = InputCounter(lambda: now[0])
        for i, _key in enumerate(keys):  # a listener calls key() and drops the key
            now[0] += 0.2 if i % 5 else 1.5
            counter.key()
        return counter.drain_bursts()

    assert bursts("hunter2 Correct-Horse") == bursts("aaaaaaaaaaaaaaaaaaaaa")
