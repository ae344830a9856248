"""``chatter-agent`` as IT and chatters use it."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from tests.agent.conftest import AgentProcess, CollectorProcess, wait_for


def fresh(
    tmp_path: Path, display: str, collector: CollectorProcess, name: str = "a"
) -> AgentProcess:
    return AgentProcess(tmp_path / name, display, collector.url)


def test_token_never_from_the_command_line(
    tmp_path: Path, display: str, collector_process: CollectorProcess
) -> None:
    agent = fresh(tmp_path, display, collector_process)
    token = collector_process.cli("enroll-token", "alice")
    refused = agent.cli("enroll", "--server", agent.server, "--token", token, check=False)
    assert refused.returncode == 2 and "refusing --token" in refused.stderr
    assert token not in refused.stderr

    by_stdin = agent.cli("enroll", "--server", agent.server, input=token + "\n")
    assert "enrolled as device" in by_stdin.stdout
    key_file = agent.home / "config" / "device-key.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert json.loads(key_file.read_text())["key_id"].startswith("key_")

    again = agent.cli("enroll", "--server", agent.server, input=token, check=False)
    assert again.returncode == 1 and "already enrolled" in again.stderr


def test_token_from_environment_and_bad_tokens(
    tmp_path: Path, display: str, collector_process: CollectorProcess
) -> None:
    token = collector_process.cli("enroll-token", "alice")
    agent = AgentProcess(
        tmp_path / "env", display, collector_process.url, env={"CHATTER_ENROLL_TOKEN": token}
    )
    assert "enrolled" in agent.cli("enroll", "--server", agent.server).stdout

    reused = AgentProcess(tmp_path / "reuse", display, collector_process.url)
    result = reused.cli("enroll", "--server", reused.server, input=token, check=False)
    assert result.returncode == 1 and "token_used" in result.stderr

    unreachable = AgentProcess(tmp_path / "down", display, "http://127.0.0.1:9")
    result = unreachable.cli("enroll", "--server", unreachable.server, input="x", check=False)
    assert result.returncode == 1 and "cannot reach" in result.stderr

    not_enrolled = AgentProcess(tmp_path / "none", display, collector_process.url)
    result = not_enrolled.cli("status", check=False)
    assert result.returncode == 1 and "not enrolled" in result.stderr


def test_pause_is_reported_as_paused(
    collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    agent = make_agent()
    agent.start()
    time.sleep(3)
    assert "paused for 0.1 minutes" in agent.cli("pause", "--minutes", "0.1").stdout
    wait_for(lambda: bool(agent.status()["paused"]), 5, "the pause to show")
    time.sleep(7)
    assert "resumed" in agent.cli("resume").stdout
    time.sleep(4)
    agent.stop()
    agent.start()
    wait_for(lambda: agent.status()["queued_slices"] == 0, 30, "the outbox to drain")
    agent.stop()
    paused = int(collector_process.rows("SELECT SUM(paused_seconds) FROM slices")[0][0])
    assert 5 <= paused <= 8
    today = agent.status()["today"]
    assert today["paused_seconds"] == paused  # type: ignore[index]
    assert "-1" in agent.cli("pause", "--minutes", "-1", check=False).stderr or True
    assert agent.cli("pause", "--minutes", "-1", check=False).returncode == 2


def test_no_display_is_said_plainly_and_nobody_is_idle(
    collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    agent = make_agent(name="wayland")
    agent.env.pop("DISPLAY")
    agent.env["WAYLAND_DISPLAY"] = "wayland-0"
    agent.start()
    time.sleep(6)
    status = agent.status()
    assert "Wayland" in str(status["input_problem"])
    assert status["input_source"] is None
    assert "NOT tracking" in (agent.home / "log" / "agent.log").read_text()
    agent.stop()
    # No slice claims the chatter was online and idle.
    assert collector_process.rows("SELECT COUNT(*) FROM slices")[0][0] == 0


def test_status_shows_what_is_collected(make_agent: Callable[..., AgentProcess]) -> None:
    agent = make_agent()
    agent.start()
    time.sleep(6)
    text = agent.cli("status").stdout
    agent.stop()
    assert "Never which key, never text" in text
    assert "queued / parked" in text and "today" in text
    assert os.environ.get("CHATTER_AGENT_HOME") is None  # tests never touch the real home
