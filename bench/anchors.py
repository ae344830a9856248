"""The anchors of the heartbeat figures (issue 17): ActivityWatch's aw-server, the product
ours is compared with, and the bare-Flask ceiling (bench.ceiling) on the lane's own server.

aw-server lives in its own venv (``make bench-anchors``: scripts/install-bench-anchors.sh),
as its pinned Flask clashes with ours; without that venv its figures say how to install it.
It runs in testing mode, with its data, config and logs in a temp dir and on a free port,
and gets the load of our heartbeat figures: 1 and 4 clients, one heartbeat per request,
each client its own bucket (as each watcher has), all sent from separate client processes.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import scenarios, server
from bench.payloads import Device
from bench.rawhttp import build_request
from bench.scenarios import ScenarioResult, Target

VENV = server.ROOT / ".venv-anchors"
INSTALL_HINT = "not installed: make bench-anchors"
AW_VERSION = "0.12.0"
# A heartbeat a minute, as our 1-slice requests each carry a minute; the pulse window
# (pulsetime) spans two, so each heartbeat extends its bucket's one event, the path an
# ActivityWatch watcher takes nearly always.
AW_STEP_S = 60
AW_PULSETIME_S = 2 * AW_STEP_S


def aw_server_installed() -> bool:
    return (VENV / ".installed-stamp").exists() and (VENV / "bin" / "python").exists()


@dataclass
class AnchorRuns:
    """One lane's anchors: aw-server (or why not) and the ceiling on gunicorn and waitress."""

    aw_server: list[ScenarioResult] = field(default_factory=list)
    aw_server_status: str = ""  # "" when it ran; else why not (INSTALL_HINT, or a failure)
    ceiling: list[ScenarioResult] = field(default_factory=list)
    ceiling_status: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "aw_server_version": AW_VERSION,
            "aw_server_status": self.aw_server_status or "ran",
            "aw_server": [s.as_dict() for s in self.aw_server],
            "ceiling_status": self.ceiling_status or "ran",
            "ceiling": [s.as_dict() for s in self.ceiling],
        }


def ceiling_name(server_name: str, clients: int) -> str:
    return f"ceiling {server_name} x{clients}"


def aw_name(clients: int) -> str:
    return f"aw-server x{clients}"


def measure_ceiling(url: str, workdir: Path, devices: Sequence[Device]) -> list[ScenarioResult]:
    """The bare-Flask ceiling with 1 and 4 clients, on gunicorn as the lane serves the
    collector (its URL picks the worker class), then on waitress."""
    results = []
    servers: dict[str, Callable[[], AbstractContextManager[server.Server]]] = {
        "gunicorn": lambda: server.gunicorn(
            url, workdir, app="bench.ceiling:create_app()", log_name="ceiling-gunicorn.log"
        ),
        "waitress": lambda: server.ceiling_waitress(workdir),
    }
    for name, start in servers.items():
        with start() as srv:
            target = Target(srv, "")
            scenarios.ceiling_heartbeats(target, devices[:1], "warm-up", total=40)
            for n in scenarios.HEARTBEAT_CLIENTS:
                results.append(
                    scenarios.ceiling_heartbeats(target, devices[:n], ceiling_name(name, n))
                )
    return results


@contextmanager
def aw_server(workdir: Path, timeout_s: float = 60) -> Iterator[server.Server]:
    """aw-server in testing mode on a free port; everything it writes stays in ``workdir``."""
    home = workdir / "aw-server"
    env = os.environ | {
        f"XDG_{kind}_HOME": str(home / kind.lower())
        for kind in ("DATA", "CONFIG", "CACHE", "STATE")
    }
    port = server.free_port()
    log_path = workdir / "aw-server.log"
    command = [str(VENV / "bin" / "python"), "-m", "aw_server", "--testing"]
    command += ["--host", server.HOST, "--port", str(port)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    with server.serving(server.Server(proc, port, log_path), timeout_s, "/api/0/info") as srv:
        yield srv


def _call(srv: server.Server, method: str, path: str, body: object = None) -> Any:
    conn = http.client.HTTPConnection(server.HOST, srv.port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, payload, {"Content-Type": "application/json"})
        reply = conn.getresponse()
        data = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"aw-server {method} {path}: HTTP {reply.status} {data[:200]!r}")
        return json.loads(data)
    finally:
        conn.close()


def aw_heartbeats(host: str, bucket: str, count: int) -> list[bytes]:
    """``count`` heartbeats a minute apart, ending now, for one bucket."""
    newest = dt.datetime.now(dt.UTC).replace(microsecond=0)
    path = f"/api/0/buckets/{bucket}/heartbeat?pulsetime={AW_PULSETIME_S}"
    headers = {"Content-Type": "application/json"}
    out = []
    for i in range(count):
        moment = newest - dt.timedelta(seconds=(count - 1 - i) * AW_STEP_S)
        event = {"timestamp": moment.isoformat(), "duration": 0, "data": {"status": "not-afk"}}
        body = json.dumps(event, separators=(",", ":")).encode()
        out.append(build_request("POST", path, host, headers, body))
    return out


def _heartbeats_kept(srv: server.Server, buckets: Sequence[str]) -> int:
    """The heartbeats the buckets account for: each holds one event, extended a minute by
    every heartbeat after its first (a lost or doubled one shows here)."""
    kept = 0
    for bucket in buckets:
        events = _call(srv, "GET", f"/api/0/buckets/{bucket}/events?limit=-1")
        kept += sum(round(float(e["duration"]) / AW_STEP_S) + 1 for e in events)
    return kept


def _aw_run(srv: server.Server, clients: int, total: int, name: str) -> ScenarioResult:
    buckets = [f"bench-{name.replace(' ', '-')}-{i}" for i in range(clients)]
    for bucket in buckets:
        spec = {"type": "afkstatus", "client": "chattertrack-bench", "hostname": bucket}
        _call(srv, "POST", f"/api/0/buckets/{bucket}", spec)
    per_client = total // clients
    plans = [aw_heartbeats(srv.host, bucket, per_client) for bucket in buckets]
    driven = scenarios.drive(Target(srv, ""), plans, scenarios.HEARTBEAT_SECONDS)
    return scenarios.summarise(
        name,
        "req/s",
        per_client * clients,
        scenarios.HEARTBEAT_SECONDS,
        driven,
        1,
        lambda: _heartbeats_kept(srv, buckets),
        scenarios.status_200,
    )


def measure_aw_server(workdir: Path) -> list[ScenarioResult]:
    """aw-server's heartbeat figures, after a short warm-up as the collector gets."""
    with aw_server(workdir) as srv:
        _aw_run(srv, 1, 40, "warm-up")
        total = scenarios.HEARTBEAT_REQUESTS
        return [_aw_run(srv, n, total, aw_name(n)) for n in scenarios.HEARTBEAT_CLIENTS]
