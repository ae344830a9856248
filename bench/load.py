"""Drive pre-built requests from separate client processes and collect every reply.

Each client is its own process (the client shares two cores with the server,
so it must stay cheap: no JSON, no signing, no HTTP library inside the timed
loop).  Clients start together on a barrier and stop at the end of their list
or at the deadline, whichever comes first.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.rawhttp import Connection

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Reply:
    latency: float  # seconds, connect included
    status: int  # 0 when the transport failed
    body: bytes


@dataclass(frozen=True)
class ClientRun:
    started: float  # time.monotonic(), comparable across processes on one machine
    finished: float
    replies: list[Reply]
    connects: int
    cpu_s: float  # CPU the client process itself used while sending


def run_clients(
    port: int,
    plans: Sequence[Sequence[bytes]],
    *,
    deadline_s: float,
    request_timeout_s: float = 60.0,
) -> list[ClientRun]:
    """Run one client process per plan; returns their runs in plan order."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(plans) + 1)
    results: Any = ctx.Queue()
    procs = [
        ctx.Process(
            target=_client,
            args=(i, port, list(plan), deadline_s, request_timeout_s, barrier, results),
            daemon=True,
        )
        for i, plan in enumerate(plans)
    ]
    runs: dict[int, ClientRun] = {}
    try:
        for proc in procs:
            proc.start()
        barrier.wait(timeout=60)
        give_up = time.monotonic() + deadline_s + request_timeout_s + 30
        while len(runs) < len(procs):
            if time.monotonic() > give_up:
                raise TimeoutError("client processes did not report in time")
            try:
                index, run = results.get(timeout=1)
            except queue.Empty:
                dead = [i for i, p in enumerate(procs) if p.exitcode not in (None, 0)]
                if dead:
                    raise RuntimeError(f"client process(es) {dead} died without a result") from None
                continue
            runs[index] = run
        for proc in procs:
            proc.join(timeout=10)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        results.close()
    return [runs[i] for i in range(len(procs))]


def _client(
    index: int,
    port: int,
    plan: list[bytes],
    deadline_s: float,
    request_timeout_s: float,
    barrier: Any,
    results: Any,
) -> None:
    conn = Connection(HOST, port, request_timeout_s)
    raw: list[tuple[float, int, bytes]] = []
    perf = time.perf_counter
    barrier.wait()
    cpu = time.process_time()
    started = time.monotonic()
    stop = perf() + deadline_s
    for request in plan:
        t0 = perf()
        if t0 >= stop:
            break
        try:
            status, body = conn.exchange(request)
        except OSError as exc:
            status, body = 0, repr(exc).encode()
        raw.append((perf() - t0, status, body))
    finished = time.monotonic()
    cpu = time.process_time() - cpu
    conn.close()
    replies = [Reply(latency, status, body) for latency, status, body in raw]
    results.put((index, ClientRun(started, finished, replies, conn.connects, cpu)))
