"""``chatter-agent run --enroll-from PATH --server URL``: what the all-users installs start.

Each user's first run enrolls from a token IT placed (a file, or a folder with
``users/<login name>.txt`` and ``token.txt``); later runs are already enrolled.
"""

from __future__ import annotations

import getpass
import signal
from pathlib import Path

from tests.agent.conftest import AgentProcess, CollectorProcess, wait_for


def test_enroll_from_a_folder_at_first_run_then_never_again(
    tmp_path: Path, display: str, collector_process: CollectorProcess
) -> None:
    folder = tmp_path / "enroll"
    (folder / "users").mkdir(parents=True)
    # Another account's token is not this user's; token.txt is for whoever comes first.
    (folder / "users" / "someone-else.txt").write_text("cte_not_mine")
    (folder / "token.txt").write_text(collector_process.cli("enroll-token", "alice"))
    agent = AgentProcess(tmp_path / "agent", display, collector_process.url)
    agent.home.mkdir()

    def start() -> None:
        agent.proc = proc = agent.spawn(
            "run", "--enroll-from", str(folder), "--server", agent.server
        )
        wait_for(lambda: agent.running_pid() == proc.pid, 30, "the agent to enroll and run")

    start()
    assert agent.status()["device_id"]
    agent.stop()
    start()  # the token is used now: an enrolled agent never reads it again
    agent.stop()
    assert collector_process.cli("devices", "--json").count('"device_id"') == 1
    log = (agent.home / "log" / "agent.log").read_text()
    assert log.count(f"enrolled from {folder / 'token.txt'}") == 1


def test_enroll_from_says_why_it_cannot(
    tmp_path: Path, display: str, collector_process: CollectorProcess
) -> None:
    agent = AgentProcess(tmp_path / "agent", display, collector_process.url)
    empty = tmp_path / "empty"
    empty.mkdir()

    no_server = agent.cli("run", "--enroll-from", str(empty), check=False)
    assert no_server.returncode == 2 and "--enroll-from needs --server" in no_server.stderr

    nothing = agent.cli("run", "--enroll-from", str(empty), "--server", agent.server, check=False)
    assert nothing.returncode == 1
    assert f"no token for {getpass.getuser()} in {empty}" in nothing.stderr

    used = tmp_path / "used.txt"
    used.write_text(collector_process.cli("enroll-token", "alice"))
    AgentProcess(tmp_path / "first", display, agent.server).cli(
        "enroll", "--server", agent.server, "--token-file", str(used)
    )
    refused = agent.cli("run", "--enroll-from", str(used), "--server", agent.server, check=False)
    assert refused.returncode == 3 and "token_used" in refused.stderr  # 3: don't restart
    # Windows starts the agent without a console: the reason is in its log file too.
    log = (agent.home / "log" / "agent.log").read_text()
    assert f"could not enroll from {used}" in log and "token_used" in log
    assert not (agent.home / "config" / "agent.json").exists()


def test_enroll_from_waits_for_the_network_at_logon(
    tmp_path: Path, display: str, collector_process: CollectorProcess
) -> None:
    """At logon the network may not be up yet: the agent tries again (5 s, 10 s, ...) and
    enrolls once the collector answers, instead of giving up until the next logon."""
    token = tmp_path / "token.txt"
    token.write_text(collector_process.cli("enroll-token", "alice"))
    agent = AgentProcess(tmp_path / "agent", display, collector_process.url)
    agent.home.mkdir()
    collector_process.proc.send_signal(signal.SIGSTOP)  # not answering yet
    agent.env["CHATTER_AGENT_HTTP_TIMEOUT"] = "1"
    try:
        agent.proc = proc = agent.spawn(
            "run", "--enroll-from", str(token), "--server", agent.server
        )
        log = agent.home / "log" / "agent.log"
        wait_for(
            lambda: log.exists() and "could not enroll from" in log.read_text(),
            40,
            "a first failed attempt",
        )
        assert proc.poll() is None  # still trying
    finally:
        collector_process.proc.send_signal(signal.SIGCONT)
    wait_for(lambda: agent.running_pid() == proc.pid, 60, "the agent to enroll and run")
    agent.stop()
    assert "trying again" in log.read_text() or "again in" in log.read_text()
