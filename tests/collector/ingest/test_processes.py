"""Several collector processes side by side on one database keep exactly-once storage."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from collector.db.models import Slice
from tests.collector.conftest import Agent, Collector

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def two_servers(agency: Collector) -> Iterator[list[str]]:
    env = {**os.environ, "CHATTER_DATABASE_URL": agency.database_url}
    procs, urls = [], []
    for _ in range(2):
        port = _free_port()
        procs.append(
            subprocess.Popen(
                [str(BIN / "chatter-collector"), "serve", "--port", str(port), "--threads", "4"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            for _ in range(100):
                try:
                    if httpx.get(url + "/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                pytest.fail(f"collector at {url} did not start")
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def test_concurrent_retries_across_processes_store_once(
    agency: Collector, two_servers: list[str]
) -> None:
    devices = [agency.enroll("alice"), agency.enroll("bob")]
    clients = [httpx.Client(base_url=url, timeout=30) for url in two_servers]
    plans = []
    for device in devices:
        slices = device.slices(300)
        # Overlapping batches of 50, each sent twice, through both processes.
        for offset in range(0, 300, 25):
            body = device.batch_body(slices[offset : offset + 50])
            plans += [(device, body, clients[0]), (device, body, clients[1])]

    def send(plan: tuple[Agent, bytes, httpx.Client]) -> tuple[int, int, int]:
        device, body, client = plan
        remote = Agent(client, device.device_id, device.key_id, device.secret)
        reply = remote.signed_post("/api/v1/heartbeats", body)
        assert reply.status_code == 200, reply.text
        data = reply.json()
        return data["accepted"], data["duplicates"], len(body)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, plans))
    for client in clients:
        client.close()

    assert sum(r[0] for r in results) == 600  # every slice once, whatever the interleaving
    listing = agency.cli("devices", "--json").output
    assert listing.count('"slices_received": 300') == 2
    assert '"missing_slices": 0' in listing


def test_racing_batches_of_other_lengths_never_overlap(
    agency: Collector, two_servers: list[str]
) -> None:
    """Batches of 60, 30 and 1 s slices over the same minutes, sent at once through two
    processes: per minute exactly one length is stored, the others are refused whole."""
    device = agency.enroll("alice")
    clients = [httpx.Client(base_url=url, timeout=30) for url in two_servers]
    first = dt.datetime.fromtimestamp((int(time.time()) // 60 - 120) * 60, dt.UTC)
    minutes = 24
    plans = []
    for m in range(minutes):
        start = first + dt.timedelta(minutes=m)
        for n, length in enumerate((60, 30, 1)):
            body = device.batch_body(
                device.slices(60 // length, start=start, slice_seconds=length),
                slice_seconds=length,
            )
            plans.append((device, body, clients[(m + n) % 2]))

    results = _race(plans, clients)

    # Per minute one batch wins whole, and the stored slices never overlap.
    assert [r[0] for r in results].count(200) == minutes
    engine = create_engine(agency.database_url)
    with engine.connect() as conn:
        spans = conn.execute(select(Slice.start, Slice.slice_seconds).order_by(Slice.start)).all()
    engine.dispose()
    assert len(spans) == sum(r[1] for r in results)
    for (start, length), (after, _) in zip(spans, spans[1:], strict=False):
        assert start + dt.timedelta(seconds=length) <= after


def test_racing_devices_of_one_chatter_never_overlap(
    agency: Collector, two_servers: list[str]
) -> None:
    """Two devices of one chatter send 60 s and 1 s batches over the same minutes at
    once through two processes: per minute one batch wins whole (or both, when they
    are the same slot), and the chatter's stored slices overlap only in one slot."""
    devices = [agency.enroll("alice"), agency.enroll("alice")]
    clients = [httpx.Client(base_url=url, timeout=30) for url in two_servers]
    first = dt.datetime.fromtimestamp((int(time.time()) // 60 - 120) * 60, dt.UTC)
    minutes = 24
    plans = []
    for m in range(minutes):
        start = first + dt.timedelta(minutes=m)
        # Device 0 sends 60 s; device 1 sends 1 s, except every fourth minute the same
        # 60 s slot (both must be stored then).
        for n, (device, length) in enumerate(
            ((devices[0], 60), (devices[1], 60 if m % 4 == 0 else 1))
        ):
            body = device.batch_body(
                device.slices(60 // length, start=start, slice_seconds=length),
                slice_seconds=length,
            )
            plans.append((device, body, clients[(m + n) % 2]))

    results = _race(plans, clients)

    same_slot = len(range(0, minutes, 4))
    assert [r[0] for r in results].count(200) == minutes + same_slot
    engine = create_engine(agency.database_url)
    with engine.connect() as conn:
        spans = conn.execute(
            select(Slice.start, Slice.slice_seconds).order_by(Slice.start, Slice.device_id)
        ).all()
    engine.dispose()
    assert len(spans) == sum(r[1] for r in results)
    for (start, length), (after, after_length) in zip(spans, spans[1:], strict=False):
        same = (start, length) == (after, after_length)
        assert same or start + dt.timedelta(seconds=length) <= after


Plan = tuple[Agent, bytes, httpx.Client]  # a device's signed batch, sent through a client


def _race(plans: list[Plan], clients: list[httpx.Client]) -> list[tuple[int, int]]:
    """Send every batch at once; (status, accepted) each, 422 only for overlaps."""

    def send(plan: Plan) -> tuple[int, int]:
        device, body, client = plan
        remote = Agent(client, device.device_id, device.key_id, device.secret)
        reply = remote.signed_post("/api/v1/heartbeats", body)
        assert reply.status_code in (200, 422), reply.text
        if reply.status_code == 422:
            assert reply.json()["error"] == "overlapping_slices", reply.text
            return 422, 0
        return 200, reply.json()["accepted"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(send, plans))
    for client in clients:
        client.close()
    return results
