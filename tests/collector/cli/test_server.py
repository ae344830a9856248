"""``chatter-collector serve``: the real waitress server in a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.agent.conftest import free_port, wait_for
from tests.collector.conftest import Collector

BIN = Path(sys.executable).parent
PASSWORD = "correct horse battery"


@contextmanager
def serving(collector: Collector, tmp_path: Path, threads: int = 4, **env: str) -> Iterator[str]:
    """The collector served by waitress behind one proxy (CHATTER_PROXY_HOPS=1)."""
    port = free_port()
    environment = {
        **os.environ,
        "CHATTER_PROXY_HOPS": "1",
        "CHATTER_SECURE_COOKIES": "0",  # the test speaks plain HTTP to it
        "CHATTER_SECRET_KEY": "k" * 64,
        **env,
    }
    command = [str(BIN / "chatter-collector"), "--database", collector.database_url]
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen(
            [*command, "serve", "--port", str(port), "--threads", str(threads)],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_for(healthy, 30, "chatter-collector serve")
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture
def served(collector: Collector, tmp_path: Path) -> Iterator[str]:
    collector.cli("add-user", "boss@agency.test", "--role", "manager", input=PASSWORD + "\n")
    with serving(collector, tmp_path) as url:
        yield url


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


def test_pipes_under_download_names_leave_every_thread_free(
    collector: Collector, tmp_path: Path
) -> None:
    """Finding: 9 requests for a FIFO named like a bundle took all 8 threads of a server
    (each blocked opening the pipe), so even /healthz went unanswered."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "install.sh").write_text("echo install\n")
    pipes = [folder / "chattertrack-agent-0.1.0-linux-x86_64.tar.gz", folder / "install.ps1"]
    for pipe in pipes:
        os.mkfifo(pipe)
    paths = [
        "/agent/downloads/SHA256SUMS",
        "/agent/install.ps1",
        "/agent/downloads/" + pipes[0].name,
    ]
    try:
        with serving(
            collector,
            tmp_path,
            threads=2,
            CHATTER_AGENT_DOWNLOADS=str(folder),
            CHATTER_AGENT_DOWNLOADS_CACHE=str(tmp_path / "sums"),
        ) as url:

            def fetch(path: str) -> int:
                return httpx.get(url + path, timeout=10).status_code

            with ThreadPoolExecutor(max_workers=9) as pool:
                statuses = list(pool.map(fetch, paths * 3))  # 9 at once, on 2 threads
            assert statuses == [200, 404, 404] * 3
            assert httpx.get(url + "/healthz", timeout=5).status_code == 200
            assert "install.ps1" not in httpx.get(url + paths[0], timeout=5).text
    finally:
        for pipe in pipes:  # a reader stuck in open would now go
            os.close(os.open(pipe, os.O_RDWR | os.O_NONBLOCK))
