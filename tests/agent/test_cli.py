"""``chatter-agent`` as IT and chatters use it."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import stat
import time
from collections.abc import Callable
from pathlib import Path

from tests.agent.conftest import AgentProcess, CollectorProcess, wait_for
from tests.agent.proxy import Misbehave, RecordingProxy


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
    assert "enrolled this computer for" in by_stdin.stdout
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
    assert result.returncode == 1 and "not an enrollment token" in result.stderr
    result = unreachable.cli(
        "enroll", "--server", unreachable.server, input="cte_" + "x" * 32, check=False
    )
    assert result.returncode == 75 and "could not enroll now" in result.stderr  # EX_TEMPFAIL
    assert "cannot reach" in result.stderr

    not_enrolled = AgentProcess(tmp_path / "none", display, collector_process.url)
    result = not_enrolled.cli("status", check=False)
    assert result.returncode == 1 and "not enrolled" in result.stderr


def test_pause_is_reported_as_paused(
    collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    agent = make_agent()
    agent.start()
    time.sleep(3)
    assert "paused for 0.1 minutes, until" in agent.cli("pause", "--minutes", "0.1").stdout
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
    negative = agent.cli("pause", "--minutes", "-1", check=False)
    assert negative.returncode == 2 and "--minutes must be positive" in negative.stderr
    indefinite = agent.cli("pause").stdout
    assert "until you resume it" in indefinite and "chatter-agent resume" in indefinite
    assert "Tracking resumed" in agent.cli("resume").stdout


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


def test_status_speaks_to_the_chatter(
    collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    agent = make_agent()
    agent.start()
    wait_for(lambda: agent.status()["last_successful_send"] is not None, 20, "a delivery")
    text = agent.cli("status").stdout
    prose = " ".join(text.split())  # the text is wrapped at 80 columns
    status = agent.status()
    agent.stop()
    assert text.startswith("ChatterTrack is running and counts for Alice.")
    assert f"Your stats:   {collector_process.url}/chatters/alice" in text
    assert status["stats_url"] == f"{collector_process.url}/chatters/alice"
    assert "Never which key, never what you type" in prose
    assert "Sending: every finished slice has reached the server" in prose or (
        "slices are being sent" in prose
    )
    # Times are local and short: "last sent 14:05", not an ISO stamp.
    last = next(line for line in text.splitlines() if "last sent" in line).split()[-1]
    sent = dt.datetime.fromisoformat(str(status["last_successful_send"]))
    assert last == f"{sent.astimezone():%H:%M}"
    assert "T" not in last and "+" not in last
    assert os.environ.get("CHATTER_AGENT_HOME") is None  # tests never touch the real home


def test_status_never_claims_a_delivery_before_the_first(
    make_agent: Callable[..., AgentProcess],
) -> None:
    agent = make_agent()
    text = " ".join(agent.cli("status").stdout.split())
    assert "Sending: nothing sent yet" in text and "last sent never" in text


def test_status_says_why_nothing_is_sent(
    collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    agent = make_agent()
    collector_process.proc.send_signal(signal.SIGSTOP)  # the server hangs
    try:
        agent.env["CHATTER_AGENT_HTTP_TIMEOUT"] = "1"
        agent.start()
        wait_for(lambda: agent.status()["queued_slices"] >= 2, 20, "slices to wait")
        wait_for(lambda: agent.status()["last_error"] is not None, 20, "an error")
        text = agent.cli("status").stdout
    finally:
        collector_process.proc.send_signal(signal.SIGCONT)
        agent.stop()
    prose = " ".join(text.split())  # the text is wrapped at 80 columns
    assert "slices are waiting to be sent (the oldest from" in prose
    assert "They are kept and sent when the server can be reached." in prose


def test_help_is_written_for_chatters(make_agent: Callable[..., AgentProcess]) -> None:
    agent = make_agent()
    text = agent.cli("--help").stdout
    assert "never which key, never what you type" in text
    assert "pause        stop counting for a while" in text
    assert '"""' not in text and "``" not in text  # not a raw docstring
    assert "lasts until you run 'chatter-agent resume'" in agent.cli("pause", "--help").stdout


def test_purge_refuses_to_delete_unsent_slices_without_yes(
    collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    agent = make_agent()
    collector_process.proc.send_signal(signal.SIGSTOP)
    try:
        agent.env["CHATTER_AGENT_HTTP_TIMEOUT"] = "1"
        agent.start()
        wait_for(lambda: agent.status()["queued_slices"] >= 2, 20, "slices to wait")
        running = agent.cli("purge", "--yes", check=False)
        assert running.returncode == 1 and "the agent is running; stop it first" in running.stderr
        agent.stop()
    finally:
        collector_process.proc.send_signal(signal.SIGCONT)
    waiting = int(str(agent.status()["queued_slices"]))
    refused = agent.cli("purge", check=False)
    assert refused.returncode == 1
    assert f"{waiting} slices of tracked time were not sent yet" in refused.stderr
    assert (agent.home / "data" / "outbox.db").exists()
    done = agent.cli("purge", "--yes")
    assert f"{waiting} unsent slices were deleted" in done.stdout
    assert not (agent.home / "data").exists() and not (agent.home / "config").exists()
    gone = agent.cli("status", check=False)
    assert gone.returncode == 1 and "not enrolled" in gone.stderr


def test_retire_marks_the_device_uninstalled(
    collector_process: CollectorProcess, make_agent: Callable[..., AgentProcess]
) -> None:
    agent = make_agent()
    agent.start()
    wait_for(lambda: agent.status()["last_successful_send"] is not None, 20, "a delivery")
    agent.stop()
    queued = int(str(agent.status()["queued_slices"]))
    said = agent.cli("retire")
    assert "this computer is uninstalled" in said.stdout
    device = json.loads(collector_process.cli("devices", "--json"))[-1]
    assert device["retired_at"] is not None and device["retired_unsent"] == queued
    assert agent.cli("purge", "--yes").returncode == 0

    down = AgentProcess(agent.home.parent / "down", agent.display, collector_process.url)
    down.enroll(collector_process.cli("enroll-token", "alice"))
    config = json.loads((down.home / "config" / "agent.json").read_text())
    config["server"] = "http://127.0.0.1:9"
    (down.home / "config" / "agent.json").write_text(json.dumps(config))
    unreachable = down.cli("retire", check=False)
    assert unreachable.returncode == 1 and "could not tell" in unreachable.stderr


def test_token_files_as_windows_and_editors_write_them(
    tmp_path: Path, display: str, collector_process: CollectorProcess
) -> None:
    """A UTF-8 BOM (Notepad), UTF-16 (PowerShell 5.1's > and Out-File), CRLF, spaces."""
    for n, encode in enumerate(
        (
            lambda t: b"\xef\xbb\xbf" + t.encode() + b"\r\n",
            lambda t: b"\xff\xfe" + (t + "\r\n").encode("utf-16-le"),
            lambda t: f"  {t}  \n\n".encode(),
        )
    ):
        agent = fresh(tmp_path, display, collector_process, name=f"enc{n}")
        agent.home.mkdir(parents=True)
        token_file = agent.home / "token.txt"
        token_file.write_bytes(encode(collector_process.cli("enroll-token", "alice")))
        done = agent.cli("enroll", "--server", agent.server, "--token-file", str(token_file))
        assert "enrolled this computer for Alice" in done.stdout

    junk = fresh(tmp_path, display, collector_process, name="junk")
    junk.home.mkdir(parents=True)
    (junk.home / "token.txt").write_bytes(b"\x80\x81 not text")
    bad = junk.cli(
        "enroll", "--server", junk.server, "--token-file", str(junk.home / "token.txt"), check=False
    )
    assert bad.returncode == 1 and "not text" in bad.stderr
    (junk.home / "token.txt").write_text("<html>login</html>")
    bad = junk.cli(
        "enroll", "--server", junk.server, "--token-file", str(junk.home / "token.txt"), check=False
    )
    assert bad.returncode == 1 and "not an enrollment token" in bad.stderr


def test_purge_and_retire_with_a_damaged_outbox(make_agent: Callable[..., AgentProcess]) -> None:
    agent = make_agent()
    agent.start()
    wait_for(lambda: agent.status()["last_successful_send"] is not None, 20, "a delivery")
    agent.stop()
    (agent.home / "data" / "outbox.db").write_bytes(b"garbage" * 1000)
    for name in ("outbox.db-wal", "outbox.db-shm"):
        (agent.home / "data" / name).unlink(missing_ok=True)
    said = agent.cli("retire")
    assert "the number of slices not sent is unknown" in said.stdout
    parked = agent.cli("retry-parked", check=False)
    assert parked.returncode == 1 and "the outbox cannot be read" in parked.stderr
    refused = agent.cli("purge", check=False)
    assert refused.returncode == 1 and "the outbox cannot be read (damaged?)" in refused.stderr
    done = agent.cli("purge", "--yes")
    assert "the unreadable outbox was deleted" in done.stdout
    assert not (agent.home / "data").exists()


def test_retire_believes_only_the_collectors_answer(
    tmp_path: Path, make_agent: Callable[..., AgentProcess]
) -> None:
    """A hotel Wi-Fi login page answering 200 is not the collector recording the uninstall."""
    agent = make_agent()
    with RecordingProxy(agent.server, lambda: Misbehave("html")) as proxy:
        config = agent.home / "config" / "agent.json"
        data = json.loads(config.read_text())
        data["server"] = proxy.url
        config.write_text(json.dumps(data))
        portal = agent.cli("retire", check=False)
    assert portal.returncode == 1 and "did not record the uninstall" in portal.stderr
    assert "Sign in to Hotel WiFi" in portal.stderr


def test_status_survives_a_damaged_status_file(make_agent: Callable[..., AgentProcess]) -> None:
    agent = make_agent()
    (agent.home / "data").mkdir(parents=True, exist_ok=True)
    for junk in (b"", b"{trunc", b"[1, 2]", b'{"last_tick": "x"}'):
        (agent.home / "data" / "status.json").write_bytes(junk)
        shown = agent.cli("status")
        assert "ChatterTrack is NOT running" in shown.stdout
