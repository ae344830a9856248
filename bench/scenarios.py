"""The measured scenarios: what is sent, how replies are checked, what is counted."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.engine import make_url

from bench import lanes, procstat
from bench.load import ClientRun, Reply, run_clients
from bench.payloads import Device, event_requests, heartbeat_requests
from bench.prepare import CHATTER, CREATOR
from bench.server import Server
from bench.timing import percentile

# Devices: one for warm-up, one 1-slice client alone and then four together (an agent
# posts alone; a shop's agents overlap), then one and two backlog clients.
WARMUP_DEVICES = 1
HEARTBEAT_CLIENTS = (1, 4)
HEARTBEAT_REQUESTS = 3000
HEARTBEAT_SECONDS = 20.0
BACKLOG_BATCHES = 30
BACKLOG_SLICES = 1000
BACKLOG_SECONDS = 60.0
EVENT_REQUESTS = 5
EVENTS_PER_REQUEST = 10_000
EVENTS_SECONDS = 60.0
DEVICES = WARMUP_DEVICES + sum(HEARTBEAT_CLIENTS) + 1 + 2


def heartbeat_name(clients: int) -> str:
    return f"heartbeat 1-slice x{clients}"


@dataclass(frozen=True)
class Target:
    """The server under test and the database behind it."""

    server: Server
    url: str

    def meters(self) -> dict[str, procstat.CpuMeter]:
        master = self.server.proc.pid
        # gunicorn's workers, or the one process of waitress and aw-server.
        meters = {"app": procstat.CpuMeter(lambda: procstat.children(master) or [master])}
        url = make_url(self.url) if self.url else None
        if url and url.get_backend_name() == "postgresql" and url.database:
            name = url.database
            meters["postgres"] = procstat.CpuMeter(lambda: procstat.postgres_backends(name))
        return meters


@dataclass
class ScenarioResult:
    name: str
    clients: int
    unit: str  # what throughput counts per second
    planned: int  # requests prepared
    deadline_s: float  # clients stop sending after this long
    requests: int  # requests sent before the list or the deadline ran out
    ok: int  # replies 200 with every item accepted and none duplicate
    accepted: int  # items the replies say were stored
    stored: int  # rows found in the database afterwards
    expected: int  # items in the requests sent
    elapsed_s: float
    throughput: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    connects: int
    cpu_s: dict[str, float] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    load_avg: list[float] = field(default_factory=list)  # `uptime`'s 1, 5, 15 min, at the end

    @property
    def all_ok(self) -> bool:
        """Every request sent was answered 200 with all its items accepted."""
        return self.ok == self.requests > 0

    @property
    def exactly_once(self) -> bool:
        """What the replies acknowledged is exactly what the database holds."""
        return self.stored == self.accepted

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"all_ok": self.all_ok, "exactly_once": self.exactly_once}


def _failure(reply: Reply) -> str:
    if reply.status == 0:
        return f"transport error: {reply.body.decode(errors='replace')[:120]}"
    try:
        data = json.loads(reply.body)
    except ValueError:
        return f"HTTP {reply.status}, not JSON: {reply.body[:60]!r}"
    if isinstance(data, dict) and "error" in data:
        return f"HTTP {reply.status} {data['error']}: {str(data.get('message'))[:120]}"
    return f"HTTP {reply.status}: unexpected counts {reply.body[:160]!r}"


# What one reply acknowledged: (items accepted, the reply is all ok).
ReadReply = Callable[[Reply], tuple[int, bool]]


def collector_reply(per_request: int) -> ReadReply:
    """The collector's reply: 200 with every item accepted and none duplicate."""

    def read(reply: Reply) -> tuple[int, bool]:
        data = json.loads(reply.body) if reply.status == 200 else None
        if not isinstance(data, dict):
            return 0, False
        accepted = int(data.get("accepted", 0))
        return accepted, data.get("accepted") == per_request and not data.get("duplicates")

    return read


def status_200(reply: Reply) -> tuple[int, bool]:
    """An anchor's reply: 200 is one item accepted (each answers in its own shape)."""
    return (1, True) if reply.status == 200 else (0, False)


def drive(
    target: Target, plans: Sequence[Sequence[bytes]], deadline_s: float
) -> tuple[list[ClientRun], dict[str, float]]:
    if target.server.proc.poll() is not None:
        raise RuntimeError(f"gunicorn exited with {target.server.proc.returncode}")
    meters = target.meters()
    for meter in meters.values():
        meter.start()
    runs = run_clients(target.server.port, plans, deadline_s=deadline_s)
    cpu = {"clients": round(sum(run.cpu_s for run in runs), 2)}
    cpu |= {name: meter.stop() for name, meter in meters.items()}
    return runs, cpu


def summarise(
    name: str,
    unit: str,
    planned: int,
    deadline_s: float,
    driven: tuple[list[ClientRun], dict[str, float]],
    per_request: int,
    count_stored: Callable[[], int],
    read: ReadReply | None = None,
) -> ScenarioResult:
    runs, cpu = driven
    replies = [r for run in runs for r in run.replies]
    read = read or collector_reply(per_request)
    ok = accepted = 0
    failures: Counter[str] = Counter()
    for reply in replies:
        items, all_ok = read(reply)
        accepted += items
        if all_ok:
            ok += 1
        else:
            failures[_failure(reply)] += 1
    elapsed = max(run.finished for run in runs) - min(run.started for run in runs)
    latencies = sorted(r.latency * 1000 for r in replies)
    return ScenarioResult(
        name=name,
        clients=len(runs),
        unit=unit,
        planned=planned,
        deadline_s=deadline_s,
        requests=len(replies),
        ok=ok,
        accepted=accepted,
        stored=count_stored(),
        expected=len(replies) * per_request,
        elapsed_s=round(elapsed, 3),
        throughput=round(accepted / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=round(percentile(latencies, 50), 2),
        p99_ms=round(percentile(latencies, 99), 2),
        max_ms=round(latencies[-1], 2) if latencies else 0.0,
        connects=sum(run.connects for run in runs),
        cpu_s=cpu,
        failures=dict(failures.most_common()),
        load_avg=[round(v, 2) for v in os.getloadavg()],
    )


def _slices_of(url: str, devices: Sequence[Device]) -> Callable[[], int]:
    def count() -> int:
        sql = "SELECT count(*) FROM slices s JOIN devices d ON d.id = s.device_id WHERE d.uid = :u"
        return sum(int(lanes.scalar(url, sql, u=d.device_id)) for d in devices)

    return count


def warm_up(target: Target, device: Device) -> None:
    """Let both workers open their database connections and compile their statements."""
    plan = heartbeat_requests(target.server.host, device, batches=40, per_batch=1, tag="warm")
    run_clients(target.server.port, [plan], deadline_s=20)


def heartbeat_plans(
    host: str, devices: Sequence[Device], tag: str, total: int = HEARTBEAT_REQUESTS
) -> list[list[bytes]]:
    """``total`` signed 1-slice requests shared out over one client per device."""
    per_client = total // len(devices)
    return [
        heartbeat_requests(host, d, batches=per_client, per_batch=1, tag=f"{tag}{i}")
        for i, d in enumerate(devices)
    ]


def heartbeat_single(target: Target, devices: Sequence[Device]) -> ScenarioResult:
    plans = heartbeat_plans(target.server.host, devices, f"one{len(devices)}-")
    driven = drive(target, plans, HEARTBEAT_SECONDS)
    count = _slices_of(target.url, devices)
    planned = sum(map(len, plans))
    name = heartbeat_name(len(devices))
    return summarise(name, "req/s", planned, HEARTBEAT_SECONDS, driven, 1, count)


def ceiling_heartbeats(
    target: Target, devices: Sequence[Device], name: str, total: int = HEARTBEAT_REQUESTS
) -> ScenarioResult:
    """The same signed 1-slice requests against the bare-Flask ceiling (it stores nothing,
    so what it acknowledged is all there is to count)."""
    plans = heartbeat_plans(target.server.host, devices, f"ceil{len(devices)}-", total)
    runs, cpu = drive(target, plans, HEARTBEAT_SECONDS)
    acknowledged = sum(r.status == 200 for run in runs for r in run.replies)
    planned = sum(map(len, plans))
    return summarise(
        name, "req/s", planned, HEARTBEAT_SECONDS, (runs, cpu), 1, lambda: acknowledged, status_200
    )


def backlog_flush(target: Target, devices: Sequence[Device]) -> ScenarioResult:
    batches = BACKLOG_BATCHES // len(devices)
    plans = [
        heartbeat_requests(
            target.server.host, d, batches=batches, per_batch=BACKLOG_SLICES, tag=f"bl{i}"
        )
        for i, d in enumerate(devices)
    ]
    driven = drive(target, plans, BACKLOG_SECONDS)
    name = f"backlog flush x{len(devices)}"
    count = _slices_of(target.url, devices)
    return summarise(
        name, "slices/s", batches * len(devices), BACKLOG_SECONDS, driven, BACKLOG_SLICES, count
    )


def events(target: Target, token: str) -> ScenarioResult:
    plan = event_requests(
        target.server.host,
        token,
        requests=EVENT_REQUESTS,
        per_request=EVENTS_PER_REQUEST,
        creator=CREATOR,
        chatter=CHATTER,
        tag="bench",
    )
    driven = drive(target, [plan], EVENTS_SECONDS)

    def count() -> int:
        sql = "SELECT count(*) FROM events WHERE event_id LIKE 'bench-%'"
        return int(lanes.scalar(target.url, sql))

    return summarise(
        "events", "events/s", EVENT_REQUESTS, EVENTS_SECONDS, driven, EVENTS_PER_REQUEST, count
    )


def run_all(target: Target, devices: Sequence[Device], token: str) -> Iterator[ScenarioResult]:
    """Warm up, then every scenario in turn, yielding each result as it finishes."""
    warm_up(target, devices[0])
    start = WARMUP_DEVICES
    for clients in HEARTBEAT_CLIENTS:
        yield heartbeat_single(target, devices[start : start + clients])
        start += clients
    rest = devices[start:]
    yield backlog_flush(target, rest[:1])
    yield backlog_flush(target, rest[1:3])
    yield events(target, token)
