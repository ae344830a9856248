"""Start and stop gunicorn serving the collector on a free loopback port."""

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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


@contextmanager
def gunicorn(database_url: str, workdir: Path, timeout_s: float = 60) -> Iterator[Server]:
    """gunicorn with sync workers; stopped with SIGTERM (then SIGKILL) on exit."""
    port = free_port()
    log_path = workdir / "gunicorn.log"
    env = os.environ | {"CHATTER_DATABASE_URL": database_url, "CHATTER_SECRET_KEY": "bench"}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "sync",
        "--bind",
        f"{HOST}:{port}",
        "--error-logfile",
        "-",
        "collector:create_app()",
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = Server(proc, port, log_path)
    try:
        _wait_healthy(server, timeout_s)
        yield server
    finally:
        _stop(proc)


def _wait_healthy(server: Server, timeout_s: float) -> None:
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        if server.proc.poll() is not None:
            tail = server.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"gunicorn exited with {server.proc.returncode}:\n{tail}")
        try:
            conn = http.client.HTTPConnection(HOST, server.port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout_s:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def worker_peak_rss_mib(master_pid: int) -> list[float]:
    """Peak resident memory (VmHWM) of each gunicorn worker; empty where /proc is missing."""
    peaks = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != master_pid:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if match:
            peaks.append(int(match.group(1)) / 1024)
    return sorted(peaks)


_LOG_PREFIX = re.compile(r"^\[[^\]]*\] \[\d+\] ")


def log_problems(log_path: Path) -> Counter[str]:
    """Every log line that is not routine gunicorn INFO, counted (timestamps and pids removed)."""
    found: Counter[str] = Counter()
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return found
    for line in lines:
        if not line.strip() or "[INFO]" in line:
            continue
        found[_LOG_PREFIX.sub("", line).strip()[:300]] += 1
    return found
