"""A SQLite database whose files stop being writable while a collector serves it.

Issue 12, finding 6: the first write killed the process with SIGBUS.  SQLite maps
the WAL index (``-shm``) into memory; a store into a mapped page of a file that
became immutable (``chattr +i``) faults with SIGBUS, which Python cannot catch.
Files made read-only with chmod don't kill the process but left connections
opened meanwhile read-only for good, so the collector answered 503 after the
permissions came back.  The collector must answer 503 JSON, stay alive and
recover by itself.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from collector import create_app
from collector.cli import main
from collector.http.database import db
from tests.agent.conftest import free_port
from tests.collector.conftest import Agent, Collector

BIN = Path(sys.executable).parent
IS_ROOT = os.geteuid() == 0
# Root writes through any mode bits; without these capabilities the server obeys them.
DROP_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def _files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def _chmod(path: Path, writable: bool) -> None:
    for file in _files(path):
        file.chmod(0o644 if writable else 0o444)
    path.parent.chmod(0o755 if writable else 0o555)


def _chattr(path: Path, writable: bool) -> None:
    for file in _files(path):
        subprocess.run(["chattr", "-i" if writable else "+i", str(file)], check=True)


def _immutable_supported(tmp: Path) -> bool:
    probe = tmp / "probe"
    probe.touch()
    ok = subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["chattr", "-i", str(probe)], check=True)
    return ok


@pytest.fixture
def sqlite_file(sqlite_template: Path, tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "collector.db"
    shutil.copyfile(sqlite_template, path)
    yield path
    # Whatever the test did, leave files pytest can delete.
    if shutil.which("chattr"):
        for file in _files(path):
            subprocess.run(["chattr", "-i", str(file)], capture_output=True)
    folder.chmod(0o755)


@pytest.mark.parametrize("how", ["chmod", "immutable"])
def test_database_files_made_unwritable_answer_503_and_recover(
    sqlite_file: Path, tmp_path: Path, how: str
) -> None:
    if how == "chmod" and IS_ROOT and not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: mode bits cannot bind the server")
    if how == "immutable" and not (
        IS_ROOT and shutil.which("chattr") and _immutable_supported(tmp_path)
    ):
        pytest.skip("chattr +i needs root and a file system with the immutable flag")
    lock_out: Callable[[Path, bool], None] = _chmod if how == "chmod" else _chattr

    url = f"sqlite:///{sqlite_file}"
    setup = create_app({"DATABASE_URL": url, "TESTING": True})
    with httpx.Client(transport=httpx.WSGITransport(app=setup), base_url="http://c") as local:
        here = Collector(setup, local, url)
        here.cli("add-creator", "luna", "--name", "Luna")
        here.cli("add-chatter", "alice", "--name", "Alice", "--creator", "luna")
        enrolled = here.enroll("alice")
        integration = here.token("integration")
    with setup.app_context():
        db.engine.dispose()

    # Another process with the database open (a second collector, a command) keeps the
    # WAL files in place while the server starts.
    neighbour = sqlite3.connect(sqlite_file)
    neighbour.execute("SELECT count(*) FROM devices").fetchall()
    port = free_port()
    prefix = DROP_OVERRIDE if how == "chmod" and IS_ROOT else []
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [*prefix, str(BIN / "chatter-collector"), "serve", "--port", str(port)],
        env={**os.environ, "CHATTER_DATABASE_URL": url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    stack = ExitStack()
    try:
        for _ in range(200):  # wait for the port without touching the database
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        http = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30))
        agent = Agent(http, enrolled.device_id, enrolled.key_id, enrolled.secret)

        def event() -> httpx.Response:
            body = {
                "type": "tip",
                "id": uuid.uuid4().hex,
                "occurred_at": "2026-11-01T10:00:00Z",
                "creator": "luna",
                "chatter": "alice",
                "fan": "f1",
                "amount": "5.00",
            }
            headers = {"Authorization": f"Bearer {integration}"}
            return http.post("/api/v1/events", json=[body], headers=headers)

        if how == "immutable":
            # SIGBUS needs a process that mapped the WAL index while it was writable.
            assert agent.send(agent.slices(3)).status_code == 200
            first = event()
            assert first.status_code == 200, first.text
        # With chmod the server starts cold: connections it opens during the outage are
        # read-only, and stayed so after the permissions came back.

        lock_out(sqlite_file, False)
        refused = agent.batch_body(agent.slices(3))
        try:
            answers = [
                agent.signed_post("/api/v1/heartbeats", refused),
                event(),
                http.get("/healthz"),
            ]
        except httpx.TransportError as exc:
            pytest.fail(f"collector died: {exc!r}, exit status {server.wait(timeout=10)}")
        finally:
            lock_out(sqlite_file, True)
        assert server.poll() is None, f"collector exited with {server.returncode}"
        # Permissions are back: the same process stores the refused batch, once.
        again = [agent.signed_post("/api/v1/heartbeats", refused), event(), http.get("/healthz")]
        assert server.poll() is None

        routes = ("heartbeats", "events", "healthz")
        seen = {f"{r} during": a.status_code for r, a in zip(routes, answers, strict=True)}
        seen |= {f"{r} after": a.status_code for r, a in zip(routes, again, strict=True)}
        expected = {f"{r} during": 503 for r in routes} | {f"{r} after": 200 for r in routes}
        assert seen == expected
        assert all(a.json()["error"] == "database_unavailable" for a in answers)
        assert all(answer.headers["Retry-After"] for answer in answers[:2])
        assert again[0].json()["accepted"] == 3
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
        neighbour.close()
        stack.close()


def test_a_missing_folder_is_named_as_such(tmp_path: Path) -> None:
    """IT's first `db upgrade` into a folder not made yet: the message says what to do."""
    url = f"sqlite:///{tmp_path / 'not-made' / 'collector.db'}"
    result = CliRunner().invoke(main, ["--database", url, "db", "upgrade"])
    assert result.exit_code != 0
    assert f"the database's folder does not exist: {tmp_path / 'not-made'}" in result.output
    assert not (tmp_path / "not-made").exists()
