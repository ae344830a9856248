"""``chatter-collector serve``: the real waitress server in a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agent.conftest import free_port, wait_for
from tests.collector.conftest import Collector

BIN = Path(sys.executable).parent
PASSWORD = "correct horse battery"


@pytest.fixture
def served(collector: Collector, tmp_path: Path) -> Iterator[str]:
    """The collector served by waitress behind one proxy (CHATTER_PROXY_HOPS=1)."""
    collector.cli("add-user", "boss@agency.test", "--role", "manager", input=PASSWORD + "\n")
    port = free_port()
    env = {
        **os.environ,
        "CHATTER_PROXY_HOPS": "1",
        "CHATTER_SECURE_COOKIES": "0",  # the test speaks plain HTTP to it
        "CHATTER_SECRET_KEY": "k" * 64,
    }
    command = [str(BIN / "chatter-collector"), "--database", collector.database_url]
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen(
            [*command, "serve", "--port", str(port), "--threads", "4"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 30, "chatter-collector serve")
        yield url
        proc.terminate()
        proc.wait(timeout=10)


def login(url: str, client_address: str, password: str) -> int:
    """A login through the proxy for the client at ``client_address``."""
    forwarded = {"X-Forwarded-For": client_address, "X-Forwarded-Proto": "http"}
    with httpx.Client(base_url=url, headers=forwarded) as http:
        found = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
        assert found
        form = {"email": "boss@agency.test", "password": password, "csrf_token": found.group(1)}
        return http.post("/login", data=form).status_code


def test_serve_honours_the_proxy_hops(served: str) -> None:
    """Finding 7: waitress dropped X-Forwarded-For, so every client was the proxy."""
    for _ in range(5):
        assert login(served, "203.0.113.9", "wrong password!") == 401
    assert login(served, "203.0.113.9", PASSWORD) == 429  # that client is stopped ...
    assert login(served, "198.51.100.7", PASSWORD) == 302  # ... another is not
