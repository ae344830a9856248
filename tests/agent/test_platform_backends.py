"""The per-OS parts that need no X server: the single-instance lock and the OS idle clock.

They run here (Linux) and on Windows and macOS in .github/workflows/agent.yml; the lock is
taken by separate processes, as two agents of one user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.idle import seconds_since_input
from agent.lock import AlreadyRunning, SingleInstance

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from agent.lock import AlreadyRunning, SingleInstance
    try:
        lock = SingleInstance(Path(sys.argv[1]))
    except AlreadyRunning:
        print("refused", flush=True)
        sys.exit(3)
    print("holding", flush=True)
    sys.stdin.read()  # until the test closes it
    lock.release()
    """
)


def _holder(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_one_agent_per_user_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "data" / "agent.lock"
    first = _holder(path)
    assert first.stdout is not None and first.stdout.readline().strip() == "holding"
    try:
        second = _holder(path)
        out, _ = second.communicate(timeout=30)
        assert second.returncode == 3 and out.strip() == "refused"
        # In this process too, whatever the file's current size or position.
        path.write_bytes(b"x" * 100)
        with pytest.raises(AlreadyRunning, match="already running"):
            SingleInstance(path)
    finally:
        assert first.stdin is not None
        first.stdin.close()
        first.wait(timeout=30)
        if first.stdout is not None:
            first.stdout.close()
    # Released (or its process gone), the next agent gets it.
    again = SingleInstance(path)
    again.release()


def test_the_os_idle_clock_of_this_system() -> None:
    seconds = seconds_since_input()
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        assert seconds is None  # no X session: nothing to ask
    elif sys.platform in ("win32", "darwin"):
        # GetLastInputInfo / CGEventSourceSecondsSinceLastEventType always answer.
        assert isinstance(seconds, float) and seconds >= 0.0
    else:
        assert seconds is None or seconds >= 0.0


def test_the_x11_idle_clock_follows_input(display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Linux under Xvfb: the MIT-SCREEN-SAVER counter restarts when xdotool types."""
    if not sys.platform.startswith("linux"):
        pytest.fail("the X11 backend is Linux's; the workflow runs this file with -k 'not x11'")
    import time

    from agent.idle import linux
    from tests.agent.conftest import xdotool

    monkeypatch.setenv("DISPLAY", display)
    monkeypatch.setattr(linux, "_display", None)
    monkeypatch.setattr(linux, "_unavailable", False)
    try:
        time.sleep(1.5)
        before = linux.seconds_since_input()
        assert before is not None and before >= 1.0
        xdotool(display, "key", "shift")
        after = linux.seconds_since_input()
        assert after is not None and after < 1.0
    finally:
        if linux._display is not None:
            linux._display.close()
