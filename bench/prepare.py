"""Set a lane's database up with the admin CLI, then enroll devices over HTTP."""

from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.payloads import Device

CREATOR = "luna"
CHATTER = "alice"
INTEGRATION = "bench"


@dataclass(frozen=True)
class Credentials:
    enroll_tokens: list[str]
    integration_token: str


def cli_command() -> list[str]:
    beside = Path(sys.executable).with_name("chatter-collector")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("chatter-collector")
    if found is None:
        raise RuntimeError("chatter-collector is not installed (pip install -e '.[collector]')")
    return [found]


def cli(url: str, *args: str) -> str:
    """Run one ``chatter-collector`` command against ``url``; its stdout, stripped."""
    done = subprocess.run(
        [*cli_command(), "--database", url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"chatter-collector {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}"
        )
    return done.stdout.strip()


def prepare_database(url: str, devices: int) -> Credentials:
    """Schema, one creator, ``devices`` chatters with an enrollment token each, and an
    integration token.

    One chatter per device: the clients that post together are a shop's agents, each
    chatter's own.  Devices of one chatter take turns by design (a chatter's batches are
    checked for overlaps one at a time, ingest/heartbeats.py), which would measure that
    lock, not the collector.
    """
    cli(url, "db", "upgrade")
    cli(url, "settings", "set", "currency", "USD")
    # The backlog scenarios replay up to 34 days of slices (the protocol's 35-day window);
    # the default slice retention (14 days) would refuse the older ones as purged.
    cli(url, "settings", "set", "retention_slice_days", "35")
    cli(url, "add-creator", CREATOR, "--name", "Luna Bench")
    chatters = [CHATTER, *(f"{CHATTER}-{i}" for i in range(1, devices))]

    def chatter_token(number: int) -> str:
        key = chatters[number]
        cli(url, "add-chatter", key, "--name", f"Bench {key}", "--creator", CREATOR)
        return cli(url, "enroll-token", key)

    # Each CLI call is a Python start-up; two at a time halves the wait on two cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        integration = pool.submit(cli, url, "api-token", INTEGRATION, "--role", "integration")
        tokens = list(pool.map(chatter_token, range(devices)))
        token = integration.result()
    return Credentials(
        enroll_tokens=[t.splitlines()[-1] for t in tokens],
        integration_token=token.splitlines()[-1],
    )


def enroll_devices(base_url: str, tokens: list[str]) -> list[Device]:
    devices = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for i, token in enumerate(tokens):
            reply = client.post(
                "/api/v1/agents/enroll",
                json={
                    "token": token,
                    "hostname": f"bench-{i}",
                    "platform": sys.platform,
                    "agent_version": "bench",
                },
            )
            if reply.status_code != 201:
                raise RuntimeError(f"enrollment failed: {reply.status_code} {reply.text[:300]}")
            data = reply.json()
            devices.append(Device(data["device_id"], data["key_id"], data["secret"]))
    return devices
