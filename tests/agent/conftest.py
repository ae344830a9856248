"""Real components for agent tests: Xvfb, a collector subprocess, agent subprocesses."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
# How long a collector subprocess may take to answer /healthz.  It starts in a couple of
# seconds on an idle machine, but a loaded one (make test's workers on two cores, other
# jobs beside them) has been seen to take 25 s, and more than 60 s when the run was niced
# below other jobs: waiting longer costs a passing run nothing.
START_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """A private X server for the whole session."""
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            pytest.fail(
                f"{tool} is missing: run 'make system' as root or apt-get install xvfb xdotool"
            )
    # -displayfd: Xvfb takes the first free display number itself (its lock file makes
    # the choice atomic) and writes it to the pipe when it accepts connections, so
    # pytest-xdist workers and other test runs on the machine never pick the same one.
    read, write = os.pipe()
    proc = subprocess.Popen(
        # -noreset: by default the server resets when its last client leaves, and an
        # agent starting at that moment has its connection reset.
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24"]
        + ["-nolisten", "tcp", "-noreset"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(write,),
    )
    os.close(write)
    with os.fdopen(read) as announced:
        number = announced.readline().strip()
    if not number.isdigit():
        proc.kill()
        pytest.fail(f"Xvfb did not start (exit status {proc.wait(timeout=10)})")
    name = f":{number}"
    yield name
    proc.terminate()
    proc.wait(timeout=10)


def xdotool(display: str, *args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, env={**os.environ, "DISPLAY": display})


@dataclass
class CollectorProcess:
    url: str
    database: Path
    proc: subprocess.Popen[bytes]

    def cli(self, *args: str) -> str:
        """``chatter-collector ARGS`` on this collector's database; its output.

        Run in this process (the command line's own code, on the same database file the
        server has open): a new interpreter importing the collector costs seconds on a
        loaded machine, and these commands only set a test up or read what it did.
        """
        from click.testing import CliRunner

        from collector.cli import main

        result = CliRunner().invoke(main, ["--database", f"sqlite:///{self.database}", *args])
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.stdout.strip()

    def rows(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.database) as conn:
            return conn.execute(sql, params).fetchall()


@functools.cache
def _seeded_database() -> Path:
    """The database every ``running_collector`` starts from, made once per process (per
    pytest-xdist worker) by the collector's own commands: migrated, chatter alice of
    creator luna, 2-s slices, a 3-s idle threshold.  Each collector serves a copy: the
    commands cost a second or more each, and several under load, as new interpreters; so
    they run in this process, as ``CollectorProcess.cli`` runs its commands."""
    from click.testing import CliRunner

    from collector.cli import main

    folder = Path(tempfile.mkdtemp(prefix="chattertrack-collector-"))
    atexit.register(shutil.rmtree, folder, True)
    database = folder / "collector.db"
    for args in (
        ["db", "upgrade"],
        ["add-creator", "luna", "--name", "Luna"],
        ["add-chatter", "alice", "--name", "Alice", "--creator", "luna"],
        ["settings", "set", "slice_seconds", "2"],
        ["settings", "set", "idle_threshold_seconds", "3"],
    ):
        result = CliRunner().invoke(main, ["--database", f"sqlite:///{database}", *args])
        assert result.exit_code == 0, (args, result.output, result.exception)
    return database


def _copy_database(source: Path, target: Path) -> None:
    """A copy of a SQLite database no process has open (with its WAL, if one is left)."""
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")


@contextlib.contextmanager
def running_collector(folder: Path, **env: str) -> Iterator[CollectorProcess]:
    """A real collector process on SQLite in ``folder`` (chatter alice of creator luna,
    2-s slices, a 3-s idle threshold), with ``env`` added to its environment."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "collector.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cli = [str(BIN / "chatter-collector"), "--database", f"sqlite:///{database}"]
    _copy_database(_seeded_database(), database)
    with open(folder / "collector.log", "wb") as log:
        proc = subprocess.Popen(
            [*cli, "serve", "--port", str(port), "--threads", "4"],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env={**os.environ, **env},
        )
        try:
            wait_for(lambda: _healthy(url), START_TIMEOUT, "the collector")
            yield CollectorProcess(url, database, proc)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture
def collector_process(tmp_path: Path) -> Iterator[CollectorProcess]:
    with running_collector(tmp_path) as collector:
        yield collector


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class AgentProcess:
    home: Path
    display: str
    server: str
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    # How `chatter-agent` is started (the clock test runs it through a small shim).
    command: list[str] = field(default_factory=lambda: [str(BIN / "chatter-agent")])

    def __post_init__(self) -> None:
        self.env = {
            **os.environ,
            "CHATTER_AGENT_HOME": str(self.home),
            "DISPLAY": self.display,
            "CHATTER_AGENT_RETRY_CAP": "1",
            "CHATTER_AGENT_REFUSED_WAIT": "1",
            **self.env,
        }

    def cli(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "chatter-agent"), *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            check=check,
        )

    def enroll(self, token: str) -> None:
        token_file = self.home / "token"
        self.home.mkdir(parents=True, exist_ok=True)
        token_file.write_text(token)
        self.cli("enroll", "--server", self.server, "--token-file", str(token_file))
        token_file.unlink()

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        """``chatter-agent run`` (or ARGS) started, not waited for."""
        with open(self.home / "agent.stderr", "ab") as log:
            return subprocess.Popen(
                [*self.command, *(args or ("run",))],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        self.proc = proc = self.spawn()
        # The status file names the process that wrote it (the last run's may be there).
        wait_for(lambda: self.running_pid() == proc.pid, 20, "the agent to start")

    def running_pid(self) -> int | None:
        import json

        try:
            return int(json.loads((self.home / "data" / "status.json").read_bytes())["pid"])
        except (OSError, ValueError, KeyError):
            return None

    def stop(self, sig: int = 15) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"the agent ignored signal {sig} for 30 s") from None

    def status(self) -> dict[str, object]:
        import json

        return dict(json.loads(self.cli("status", "--json").stdout))

    def outbox_rows(self, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.home / "data" / "outbox.db") as conn:
            return conn.execute(sql).fetchall()


@pytest.fixture
def make_agent(
    tmp_path: Path, display: str, collector_process: CollectorProcess
) -> Iterator[Callable[..., AgentProcess]]:
    made: list[AgentProcess] = []

    def make(server: str | None = None, name: str = "agent", **env: str) -> AgentProcess:
        agent = AgentProcess(tmp_path / name, display, server or collector_process.url, env=env)
        agent.enroll(collector_process.cli("enroll-token", "alice"))
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.stop()


@pytest.fixture(scope="session")
def agent_downloads() -> Path:
    """What ``make agent-dist`` makes, as the collector serves it: the agent's bundle for
    this OS, the installers and SHA256SUMS.  Built once per change of the agent's sources
    and build tools, in build/agent-bundle/ (a lock there makes test files on other
    pytest-xdist workers wait for that one build instead of building again)."""
    built = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "agent" / "build_bundle.py")]
        + ["--cache", str(ROOT / "build" / "agent-bundle")],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-4000:]
    return Path(built.stdout.strip().splitlines()[-1]).parent


def bundle_archive(downloads: Path) -> Path:
    (archive,) = downloads.glob("chattertrack-agent-*-linux-x86_64.tar.gz")
    return archive
