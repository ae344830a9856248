"""Presence ingestion: 500 simulated agents, each sending a signed presence message every
30 s (the agent's interval), against the collector served by gunicorn on a fresh database
of each lane.

Two runs per lane, after a warm-up:

- *at the agents' rate*: every device sends once, spread evenly over one interval (500
  messages in 30 s, 16.7 a second): the latency an agent sees in normal operation (p50,
  p99);
- *flat out*: client processes send pre-signed messages as fast as the server answers,
  each a newer message of one of the 500 devices: the throughput, and its ratio to the
  16.7 messages a second 500 agents need.

Every reply must be the collector's 200 with ``stored: true``; afterwards the table holds
exactly one row per device.  The collector runs without its least interval between two
messages of a device (``CHATTER_PRESENCE_MIN_INTERVAL=0``): the warm-up and the flat-out
run send a device's messages back to back, which it would refuse (429) by design; the
limit adds only a condition to the same upsert (and one read to a refusal).
The databases are made here (a SQLite file in a temporary folder, a PostgreSQL database
named ``ct_presence_*``) and always removed: this part needs neither the cache nor the
other parts' databases.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench import lanes, server
from bench.load import Reply, run_clients
from bench.payloads import Device
from bench.prepare import CHATTER, CREATOR, cli
from bench.rawhttp import Connection, build_request
from bench.timing import percentile
from shared import signing
from shared.protocol import PRESENCE_INTERVAL

PATH = "/api/v1/agents/presence"
AGENTS = 500
NEEDED_RATE = AGENTS / PRESENCE_INTERVAL  # messages a second 500 agents send
PACED_THREADS = 16  # enough that a slow reply never holds up the next message's start
FLAT_CLIENTS = 4
FLAT_SECONDS = 15.0
# A message's sent_at must be within 300 s of the server's time: the flat-out run's
# rounds step one second ahead of now, so at most this many (60,000 messages: more than
# the run can send in FLAT_SECONDS).
MAX_ROUNDS = 120


@dataclass
class PresenceLane:
    lane: str
    status: str = "ok"  # ok | not run | failed
    reason: str = ""
    agents: int = AGENTS
    needed_per_s: float = round(NEEDED_RATE, 1)
    paced_messages: int = 0
    paced_ok: int = 0
    paced_p50_ms: float = 0.0
    paced_p99_ms: float = 0.0
    flat_messages: int = 0
    flat_ok: int = 0
    flat_per_s: float = 0.0
    flat_p99_ms: float = 0.0
    rows: int = 0  # presence rows afterwards: one per device
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.flat_per_s / NEEDED_RATE if NEEDED_RATE else 0.0

    @property
    def all_ok(self) -> bool:
        return (
            self.status == "ok"
            and self.paced_ok == self.paced_messages > 0
            and self.flat_ok == self.flat_messages > 0
            and self.rows == self.agents
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ratio_to_needed": round(self.ratio, 1), "all_ok": self.all_ok}


def message(host: str, device: Device, sent_at: int) -> bytes:
    """One signed presence request, as the agent sends it."""
    when = dt.datetime.fromtimestamp(sent_at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps(
        {"state": "active", "idle_seconds": 0, "sent_at": when}, separators=(",", ":")
    ).encode()
    headers = signing.signed_headers(
        device.key_id, [device.secret], "POST", PATH, int(time.time()), body
    )
    headers["Content-Type"] = "application/json"
    return build_request("POST", PATH, host, headers, body)


def _failure(reply: Reply) -> str | None:
    """None for the collector's 200 with the message stored, else what came back."""
    if reply.status == 200:
        try:
            if json.loads(reply.body).get("stored") is True:
                return None
        except (ValueError, AttributeError):
            pass
        return f"HTTP 200, not stored: {reply.body[:80]!r}"
    if reply.status == 0:
        return f"transport error: {reply.body.decode(errors='replace')[:100]}"
    return f"HTTP {reply.status}: {reply.body[:100]!r}"


def paced(host: str, port: int, devices: Sequence[Device], seconds: float) -> list[Reply]:
    """Every device once, evenly spread over ``seconds``, from a few threads."""
    start = time.monotonic() + 0.5
    step = seconds / len(devices)
    now = int(time.time())
    replies: list[Reply] = []
    lock = threading.Lock()

    def work(offset: int) -> None:
        conn = Connection(server.HOST, port, 30)
        try:
            for i in range(offset, len(devices), PACED_THREADS):
                request = message(host, devices[i], now)
                wait = start + i * step - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                t0 = time.perf_counter()
                try:
                    status, body = conn.exchange(request)
                except OSError as exc:
                    status, body = 0, repr(exc).encode()
                reply = Reply(time.perf_counter() - t0, status, body)
                with lock:
                    replies.append(reply)
        finally:
            conn.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(PACED_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def flat_out(host: str, port: int, devices: Sequence[Device]) -> tuple[list[Reply], float]:
    """Newer and newer messages of every device, as fast as answered; (replies, seconds).

    Each client has its own share of the devices and sends their rounds in order, so
    every message is newer than the one stored (sent_at one second later a round, from
    just after the paced run's messages)."""
    base = int(time.time()) + 1
    plans: list[list[bytes]] = [[] for _ in range(FLAT_CLIENTS)]
    for client, plan in enumerate(plans):
        mine = devices[client::FLAT_CLIENTS]
        for round_ in range(MAX_ROUNDS):
            plan += [message(host, d, base + round_) for d in mine]
    runs = run_clients(port, plans, deadline_s=FLAT_SECONDS)
    elapsed = max(r.finished for r in runs) - min(r.started for r in runs)
    return [reply for run in runs for reply in run.replies], elapsed


@contextmanager
def _database(lane: str, workdir: Path) -> Iterator[str]:
    if lane == "sqlite":
        yield lanes.sqlite_url(workdir)
        return
    admin = lanes.pg_admin_url()
    name = f"ct_presence_{uuid.uuid4().hex[:12]}"
    with lanes.pg_admin(admin) as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with lanes.pg_admin(admin) as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _enroll(base_url: str, tokens: list[str]) -> list[Device]:
    devices = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for i, token in enumerate(tokens):
            reply = client.post(
                "/api/v1/agents/enroll",
                json={
                    "token": token,
                    "hostname": f"presence-{i}",
                    "platform": "bench",
                    "agent_version": "bench",
                },
            )
            if reply.status_code != 201:
                raise RuntimeError(f"enrollment failed: {reply.status_code} {reply.text[:200]}")
            data = reply.json()
            devices.append(Device(data["device_id"], data["key_id"], data["secret"]))
    return devices


def _tokens(url: str, workdir: Path) -> list[str]:
    """500 enrollment tokens in one CLI call (a CSV of computers)."""
    rows = "chatter,computer\n" + "".join(f"{CHATTER},pc-{i}\n" for i in range(AGENTS))
    source = workdir / "computers.csv"
    source.write_text(rows)
    out = workdir / "tokens.csv"
    cli(url, "enroll-tokens", "--csv", str(source), "--out", str(out))
    header, *lines = out.read_text().splitlines()
    column = header.split(",").index("token")
    return [line.split(",")[column] for line in lines if line]


def run(lane: str) -> PresenceLane:
    result = PresenceLane(lane)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ct-presence-")))
        url = stack.enter_context(_database(lane, workdir))
        print(f"[presence {lane}] preparing {AGENTS} devices", flush=True)
        cli(url, "db", "upgrade")
        cli(url, "add-creator", CREATOR, "--name", "Luna Bench")
        cli(url, "add-chatter", CHATTER, "--name", "Alice Bench", "--creator", CREATOR)
        tokens = _tokens(url, workdir)
        stack.enter_context(mock.patch.dict(os.environ, {"CHATTER_PRESENCE_MIN_INTERVAL": "0"}))
        srv = stack.enter_context(server.gunicorn(url, workdir))
        devices = _enroll(srv.base_url, tokens)
        # Warm-up: both workers connect and compile the upsert.
        paced(srv.host, srv.port, devices[:40], 2.0)
        print(f"[presence {lane}] {AGENTS} agents at one message per {PRESENCE_INTERVAL} s")
        failures: Counter[str] = Counter()
        replies = paced(srv.host, srv.port, devices, float(PRESENCE_INTERVAL))
        problems = [p for p in map(_failure, replies) if p]
        failures.update(problems)
        latencies = sorted(r.latency * 1000 for r in replies)
        result.paced_messages, result.paced_ok = len(replies), len(replies) - len(problems)
        result.paced_p50_ms = round(percentile(latencies, 50), 2)
        result.paced_p99_ms = round(percentile(latencies, 99), 2)
        print(f"[presence {lane}] flat out, {FLAT_CLIENTS} clients", flush=True)
        flat, elapsed = flat_out(srv.host, srv.port, devices)
        problems = [p for p in map(_failure, flat) if p]
        failures.update(problems)
        latencies = sorted(r.latency * 1000 for r in flat)
        result.flat_messages, result.flat_ok = len(flat), len(flat) - len(problems)
        result.flat_per_s = round(result.flat_ok / elapsed, 1) if elapsed > 0 else 0.0
        result.flat_p99_ms = round(percentile(latencies, 99), 2)
        result.rows = int(lanes.scalar(url, "SELECT count(*) FROM presence"))
        result.failures = dict(failures.most_common(10))
    return result


def render(results: Sequence[PresenceLane]) -> str:
    lines = [
        f"Presence ingestion: {AGENTS} agents, one signed message per {PRESENCE_INTERVAL} s "
        f"each (needed: {NEEDED_RATE:.1f} msg/s)",
        f"{'lane':<11} {'at 16.7/s p50':>14} {'p99':>9} {'flat out msg/s':>15} "
        f"{'x needed':>9} {'p99':>9} {'ok':>5}",
    ]
    for r in results:
        if r.status != "ok":
            lines.append(f"{r.lane:<11} {r.status}: {r.reason}")
            continue
        lines.append(
            f"{r.lane:<11} {r.paced_p50_ms:>11.1f} ms {r.paced_p99_ms:>6.1f} ms "
            f"{r.flat_per_s:>15,.1f} {r.ratio:>8.1f}x {r.flat_p99_ms:>6.1f} ms "
            f"{'yes' if r.all_ok else 'NO':>5}"
        )
        for what, count in r.failures.items():
            lines.append(f"{'':<11} {count} x {what}")
    return "\n".join(lines)
