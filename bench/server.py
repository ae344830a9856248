"""Serve the collector on a free loopback port: gunicorn with the production settings, or
``chatter-collector serve`` (waitress) as the browser tests do; stop it again."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.prepare import cli_command

HOST = "127.0.0.1"
WORKERS = 2


@dataclass(frozen=True)
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def host(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


DEPLOY_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "gunicorn.conf.py"


COLLECTOR_APP = "collector:create_app()"
ROOT = DEPLOY_CONFIG.parents[1]


@contextmanager
def gunicorn(
    database_url: str,
    workdir: Path,
    timeout_s: float = 60,
    *,
    app: str = COLLECTOR_APP,
    log_name: str = "gunicorn.log",
) -> Iterator[Server]:
    """gunicorn with the production settings (deploy/gunicorn.conf.py), 2 workers.

    ``app`` is the collector, or the bare-Flask ceiling (bench.ceiling), which gets the
    lane's database URL only so that the config picks the lane's worker class and threads.
    Stopped with SIGTERM (then SIGKILL) on exit.
    """
    port = free_port()
    log_path = workdir / log_name
    env = os.environ | {
        "CHATTER_DATABASE_URL": database_url,
        "CHATTER_SECRET_KEY": "bench",
        "CHATTER_BIND": f"{HOST}:{port}",
        "CHATTER_WORKERS": str(WORKERS),
    }
    command = [sys.executable, "-m", "gunicorn", "--config", str(DEPLOY_CONFIG), app]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    with serving(Server(proc, port, log_path), timeout_s) as server:
        yield server


@contextmanager
def waitress(
    database_url: str,
    workdir: Path,
    *options: str,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 30,
) -> Iterator[Server]:
    """``chatter-collector serve`` with ``options``; its log in ``workdir``/collector.log."""
    port = free_port()
    log_path = workdir / "collector.log"
    command = [*cli_command(), "--database", database_url, "serve", "--port", str(port)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*command, *options],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=os.environ | dict(env or {}),
        )
    with serving(Server(proc, port, log_path), timeout_s) as server:
        yield server


@contextmanager
def ceiling_waitress(workdir: Path, timeout_s: float = 30) -> Iterator[Server]:
    """The bare-Flask ceiling (bench.ceiling) on waitress with ``chatter-collector serve``'s
    8 threads."""
    port = free_port()
    log_path = workdir / "ceiling-waitress.log"
    command = [sys.executable, "-m", "waitress", f"--host={HOST}", f"--port={port}"]
    command += ["--threads=8", "--call", "bench.ceiling:create_app"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    with serving(Server(proc, port, log_path), timeout_s) as server:
        yield server


@contextmanager
def serving(server: Server, timeout_s: float, health_path: str = "/healthz") -> Iterator[Server]:
    """``server`` once it answers ``health_path``; stopped on exit, even if it never answered."""
    try:
        wait_healthy(server, timeout_s, health_path)
        yield server
    finally:
        stop(server.proc)


def wait_healthy(server: Server, timeout_s: float, health_path: str = "/healthz") -> None:
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        if server.proc.poll() is not None:
            tail = server.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the server exited with {server.proc.returncode}:\n{tail}")
        try:
            conn = http.client.HTTPConnection(HOST, server.port, timeout=2)
            conn.request("GET", health_path)
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {health_path} within {timeout_s:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


_ACCESS_LINE = re.compile(r'^\S+ - \S+ \[[^\]]+\] "[A-Z]+ [^"]*" (\d{3}) ')
_GUNICORN_LINE = re.compile(r"^\[[^\]]*\] \[\d+\] \[(\w+)\] (.*)$")
_TRACEBACK_LINES = ("Traceback (", "During handling", "The above exception")


def log_problems(log_path: Path) -> Counter[str]:
    """Everything in the server log but routine INFO lines, one entry per message.

    A traceback is folded into its message: "first line | exception line".
    """
    entries: list[list[str]] = []
    current: list[str] | None = None
    in_traceback = False
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return Counter()
    for line in lines:
        access = _ACCESS_LINE.match(line)
        if access:
            # Access log lines: only error statuses are worth a note.
            if access.group(1).startswith("5"):
                entries.append([f"HTTP {access.group(1)} in the access log"])
            continue
        match = _GUNICORN_LINE.match(line)
        if match:
            current, in_traceback = None, False
            if match.group(1) != "INFO":
                current = [f"[{match.group(1)}] {match.group(2)}"]
                entries.append(current)
            continue
        if not line.strip():
            continue
        continuation = line[0].isspace() or line.startswith(_TRACEBACK_LINES)
        if current is not None and (continuation or in_traceback):
            current.append(line)
            in_traceback = continuation
            continue
        current, in_traceback = [line], continuation
        entries.append(current)
    found: Counter[str] = Counter()
    for entry in entries:
        last = entry[-1]
        summary = entry[0] if len(entry) == 1 or last[0].isspace() else f"{entry[0]} | {last}"
        found[re.sub(r"pid:\s*\d+", "pid:N", summary).strip()[:300]] += 1
    return found
