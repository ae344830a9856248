"""The measured scenarios: what is sent, how replies are checked, what is counted."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bench import lanes
from bench.load import ClientRun, Reply, percentile, run_clients
from bench.payloads import Device, event_requests, heartbeat_requests
from bench.prepare import CHATTER, CREATOR
from bench.server import Server

# Devices: one for warm-up, four 1-slice clients, one + two backlog clients.
WARMUP_DEVICES = 1
HEARTBEAT_CLIENTS = 4
HEARTBEAT_REQUESTS = 3000
HEARTBEAT_SECONDS = 20.0
BACKLOG_BATCHES = 30
BACKLOG_SLICES = 1000
BACKLOG_SECONDS = 60.0
EVENT_REQUESTS = 5
EVENTS_PER_REQUEST = 10_000
EVENTS_SECONDS = 90.0
DEVICES = WARMUP_DEVICES + HEARTBEAT_CLIENTS + 1 + 2


@dataclass
class ScenarioResult:
    name: str
    clients: int
    unit: str  # what throughput counts per second
    planned: int  # requests prepared
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
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def exactly_once(self) -> bool:
        return self.ok == self.requests == self.planned and (
            self.stored == self.accepted == self.expected
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"exactly_once": self.exactly_once}


def _failure(reply: Reply) -> str:
    if reply.status == 0:
        return f"transport error: {reply.body.decode(errors='replace')[:120]}"
    try:
        data = json.loads(reply.body)
    except ValueError:
        return f"HTTP {reply.status}: {reply.body[:120]!r}"
    if isinstance(data, dict) and "error" in data:
        return f"HTTP {reply.status} {data['error']}: {str(data.get('message'))[:120]}"
    return f"HTTP {reply.status}: unexpected counts {reply.body[:160]!r}"


def _summarise(
    name: str,
    unit: str,
    planned: int,
    runs: Sequence[ClientRun],
    per_request: int,
    count_stored: Callable[[], int],
) -> ScenarioResult:
    replies = [r for run in runs for r in run.replies]
    ok = accepted = 0
    failures: Counter[str] = Counter()
    for reply in replies:
        data = json.loads(reply.body) if reply.status == 200 else None
        if isinstance(data, dict):
            accepted += int(data.get("accepted", 0))
            if data.get("accepted") == per_request and not data.get("duplicates"):
                ok += 1
                continue
        failures[_failure(reply)] += 1
    elapsed = max(run.finished for run in runs) - min(run.started for run in runs)
    latencies = sorted(r.latency * 1000 for r in replies)
    return ScenarioResult(
        name=name,
        clients=len(runs),
        unit=unit,
        planned=planned,
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
        failures=dict(failures.most_common()),
    )


def _slices_of(url: str, devices: Sequence[Device]) -> Callable[[], int]:
    def count() -> int:
        sql = "SELECT count(*) FROM slices s JOIN devices d ON d.id = s.device_id WHERE d.uid = :u"
        return sum(int(lanes.scalar(url, sql, u=d.device_id)) for d in devices)

    return count


def warm_up(server: Server, device: Device) -> None:
    """Let both workers open their database connections and compile their statements."""
    plan = heartbeat_requests(server.host, device, batches=40, per_batch=1, tag="warm")
    run_clients(server.port, [plan], deadline_s=20)


def heartbeat_single(server: Server, url: str, devices: Sequence[Device]) -> ScenarioResult:
    per_client = HEARTBEAT_REQUESTS // len(devices)
    plans = [
        heartbeat_requests(server.host, d, batches=per_client, per_batch=1, tag=f"one{i}")
        for i, d in enumerate(devices)
    ]
    runs = run_clients(server.port, plans, deadline_s=HEARTBEAT_SECONDS)
    return _summarise(
        "heartbeat 1-slice", "req/s", per_client * len(devices), runs, 1, _slices_of(url, devices)
    )


def backlog_flush(server: Server, url: str, devices: Sequence[Device]) -> ScenarioResult:
    batches = BACKLOG_BATCHES // len(devices)
    plans = [
        heartbeat_requests(server.host, d, batches=batches, per_batch=BACKLOG_SLICES, tag=f"bl{i}")
        for i, d in enumerate(devices)
    ]
    runs = run_clients(server.port, plans, deadline_s=BACKLOG_SECONDS)
    name = f"backlog flush x{len(devices)}"
    count = _slices_of(url, devices)
    return _summarise(name, "slices/s", batches * len(devices), runs, BACKLOG_SLICES, count)


def events(server: Server, url: str, token: str) -> ScenarioResult:
    plan = event_requests(
        server.host,
        token,
        requests=EVENT_REQUESTS,
        per_request=EVENTS_PER_REQUEST,
        creator=CREATOR,
        chatter=CHATTER,
        tag="bench",
    )
    runs = run_clients(server.port, [plan], deadline_s=EVENTS_SECONDS)

    def count() -> int:
        return int(lanes.scalar(url, "SELECT count(*) FROM events WHERE event_id LIKE 'bench-%'"))

    return _summarise("events", "events/s", EVENT_REQUESTS, runs, EVENTS_PER_REQUEST, count)


def run_all(
    server: Server, url: str, devices: Sequence[Device], token: str
) -> Iterator[ScenarioResult]:
    """Warm up, then every scenario in turn, yielding each result as it finishes."""
    warm_up(server, devices[0])
    one = devices[WARMUP_DEVICES : WARMUP_DEVICES + HEARTBEAT_CLIENTS]
    rest = devices[WARMUP_DEVICES + HEARTBEAT_CLIENTS :]
    yield heartbeat_single(server, url, one)
    yield backlog_flush(server, url, rest[:1])
    yield backlog_flush(server, url, rest[1:3])
    yield events(server, url, token)
