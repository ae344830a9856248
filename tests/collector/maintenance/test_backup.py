"""``chatter-collector backup`` and ``restore`` on SQLite and PostgreSQL.

The main test backs up while a thread sends real heartbeat and event batches through the
app, restores into a new database, and compares it with a reference database that received
exactly the batches the backup holds: the same stats from the API, the same rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from collector import create_app
from collector.cli import main as cli_main
from collector.db import migrate
from collector.db.engine import configure_engine
from collector.http.database import db
from collector.maintenance import backup as backups
from collector.maintenance.upgrade import upgrade
from shared.protocol import format_time
from tests.agent.conftest import START_TIMEOUT, _healthy, free_port, wait_for
from tests.collector.conftest import Agent, Collector
from tests.conftest import PG_ADMIN_URL, _pg_admin_engine

NewDatabase = Callable[[], str]


@pytest.fixture
def new_database(database_url: str, tmp_path: Path) -> Iterator[NewDatabase]:
    """Makes empty databases (no tables) on the backend of ``database_url``."""
    url = make_url(database_url)
    made: list[str] = []

    def make() -> str:
        if url.get_backend_name() == "sqlite":
            return f"sqlite:///{tmp_path / f'new-{uuid.uuid4().hex[:8]}.db'}"
        name = f"ct_restore_{uuid.uuid4().hex[:12]}"
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        made.append(name)
        return url.set(database=name).render_as_string(hide_password=False)

    yield make
    if made:
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def cli(url: str, *args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli_main, ["--database", url, *args])
    return result.exit_code, result.output


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = sorted(inspect(conn).get_table_names())
            return {
                n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names
            }
    finally:
        engine.dispose()


def revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        return migrate.current(engine)
    finally:
        engine.dispose()


# -- a consistent snapshot during ingest ----------------------------------------------------


def round_events(i: int, at: dt.datetime) -> list[dict[str, Any]]:
    def ev(suffix: str, type_: str, seconds: int, **fields: Any) -> dict[str, Any]:
        moment = format_time(at + dt.timedelta(seconds=seconds))
        return {"id": f"r{i}-{suffix}", "type": type_, "occurred_at": moment, "creator": "luna"} | (
            fields
        )

    return [
        ev("in", "fan_message", 0, fan=f"fan-{i % 5}"),
        ev("out", "message_sent", 30 + i % 50, chatter="alice", fan=f"fan-{i % 5}", kind="direct"),
        ev("tip", "tip", 90, fan=f"fan-{i % 5}", chatter="alice", amount=f"{i % 7 + 1}.25"),
    ]


def send(http: httpx.Client, agent: Agent, token: str, kind: str, body: Any) -> None:
    if kind == "heartbeats":
        reply = agent.send(body)
    else:
        reply = http.post("/api/v1/events", json=body, headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text


def set_up_agency(collector: Collector) -> tuple[Agent, str, str]:
    for args in (
        ("add-creator", "luna", "--name", "Luna"),
        ("add-chatter", "alice", "--name", "Alice", "--creator", "luna"),
    ):
        collector.cli(*args)
    agent = collector.enroll("alice")
    return agent, collector.token("integration"), collector.token("manager")


def stats_answers(http: httpx.Client, token: str, first: dt.date) -> dict[str, Any]:
    selection = {"start": first.isoformat(), "end": (first + dt.timedelta(days=3)).isoformat()}
    selection["tz"] = "UTC"
    answers = {}
    for path in ("/chatters", "/top", "/revenue", "/chatters/alice/daily"):
        reply = http.get(
            "/api/v1/stats" + path, params=selection, headers={"Authorization": f"Bearer {token}"}
        )
        assert reply.status_code == 200, reply.text
        answers[path] = reply.json()
    return answers


@contextlib.contextmanager
def served(url: str) -> Iterator[tuple[Collector, httpx.Client]]:
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://c.test") as http:
        yield Collector(app, http, url), http
    with app.app_context():
        db.engine.dispose()


def batch_keys(kind: str, body: list[dict[str, Any]]) -> set[tuple[str, Any]]:
    if kind == "heartbeats":
        return {("slice", h["seq"]) for h in body}
    return {("event", e["id"]) for e in body}


@dataclass
class Ingested:
    """What the ingest thread sent, in order, and how far it was around the backup."""

    sent: list[tuple[str, Any]]
    before: int  # batches acknowledged when the backup started
    after: int  # ... and when it ended


def backup_during_ingest(
    http: httpx.Client,
    agent: Agent,
    integration: str,
    make_backup: Callable[[], None],
    rounds: int = 250,
) -> Ingested:
    """Runs ``make_backup`` while a thread sends heartbeat and event batches, one at a time.

    Each round is ten slices (ten minutes from the agent's cursor) and three events; while
    the backup runs the thread paces itself so it still sends when a slow backup ends.
    """
    sent: list[tuple[str, Any]] = []
    failures: list[BaseException] = []
    stop = threading.Event()
    backing_up = threading.Event()

    def ingest() -> None:
        try:
            for i in range(rounds):
                if stop.is_set():
                    return
                if backing_up.is_set():
                    time.sleep(0.02)
                at = agent.cursor
                for kind, body in (
                    ("heartbeats", agent.slices(10)),
                    ("events", round_events(i, at)),
                ):
                    send(http, agent, integration, kind, body)
                    sent.append((kind, body))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    thread = threading.Thread(target=ingest)
    thread.start()
    try:
        _wait(lambda: len(sent) >= 6 or bool(failures))
        before = len(sent)
        backing_up.set()
        make_backup()
        after = len(sent)
        backing_up.clear()
        _wait(lambda: len(sent) >= after + 4 or bool(failures) or not thread.is_alive())
    finally:
        stop.set()
        thread.join(timeout=60)
    assert failures == []
    return Ingested(list(sent), before, after)


def held_batches(url: str, ingested: Ingested) -> int:
    """How many of the batches sent the database holds; fails on any torn batch."""
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = {("slice", r[0]) for r in conn.execute(text("SELECT seq FROM slices"))}
        stored |= {("event", r[0]) for r in conn.execute(text("SELECT event_id FROM events"))}
    engine.dispose()
    sent = ingested.sent
    held = 0
    while held < len(sent) and batch_keys(*sent[held]) <= stored:
        held += 1
    # Exactly the first `held` batches: nothing of a later one, no part of one.
    assert stored == set().union(*(batch_keys(*batch) for batch in sent[:held]))
    # Taken while the thread was sending: batches before it and after it.
    assert ingested.before <= held <= ingested.after + 1 < len(sent), (
        held,
        ingested.before,
        ingested.after,
        len(sent),
    )
    return held


def test_backup_during_ingest_is_a_consistent_snapshot(
    collector: Collector, new_database: NewDatabase, tmp_path: Path
) -> None:
    agent, integration, manager = set_up_agency(collector)
    first_slice = agent.cursor
    backup = tmp_path / "backup.file"
    outcome: list[tuple[int, str]] = []
    transport = httpx.WSGITransport(app=collector.app)
    with httpx.Client(transport=transport, base_url="http://collector.test") as http:
        sender = Agent(http, agent.device_id, agent.key_id, agent.secret, cursor=agent.cursor)
        ingested = backup_during_ingest(
            http,
            sender,
            integration,
            lambda: outcome.append(cli(collector.database_url, "backup", str(backup))),
        )
    code, output = outcome[0]
    assert code == 0, output
    assert "written to" in output and backup.stat().st_mode & 0o077 == 0

    restored = new_database()
    code, output = cli(restored, "restore", str(backup))
    assert code == 0, output
    held = held_batches(restored, ingested)
    sent = ingested.sent

    # A reference database that received exactly those batches answers the same.
    reference = new_database()
    upgrade_engine = create_engine(reference)
    configure_engine(upgrade_engine)
    upgrade(upgrade_engine)
    upgrade_engine.dispose()
    with served(reference) as (ref, http):
        ref_agent, ref_integration, ref_manager = set_up_agency(ref)
        for kind, body in sent[:held]:
            send(http, ref_agent, ref_integration, kind, body)
        expected = stats_answers(http, ref_manager, first_slice.date())
    with served(restored) as (_, http):
        assert stats_answers(http, manager, first_slice.date()) == expected
    assert counts(restored) == counts(reference)
    assert counts(restored)["slices"] == 10 * ((held + 1) // 2)


def test_sqlite_backup_while_a_collector_process_serves(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """The collector in its own process (waitress), ingest over HTTP, the backup command
    in another process: WAL across processes, as in production."""
    live_db = tmp_path / "live.db"
    shutil.copyfile(sqlite_template, live_db)
    url = f"sqlite:///{live_db}"
    env = {**os.environ, "CHATTER_SECRET_KEY": "backup-test", "HOME": str(tmp_path)}
    command = [str(Path(sys.executable).parent / "chatter-collector"), "--database", url]

    def run(*args: str) -> str:
        done = subprocess.run([*command, *args], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    run("add-creator", "luna", "--name", "Luna")
    run("add-chatter", "alice", "--name", "Alice", "--creator", "luna")
    enrollment = run("enroll-token", "alice")
    integration = run("api-token", "shop", "--role", "integration")
    port = free_port()
    backup = tmp_path / "backup.db"
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--threads", "4"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(base), START_TIMEOUT, "the collector")
        with httpx.Client(base_url=base, timeout=30) as http:
            reply = http.post(
                "/api/v1/agents/enroll",
                json={
                    "token": enrollment,
                    "hostname": "pc",
                    "platform": "Linux",
                    "agent_version": "1",
                },
            )
            assert reply.status_code == 201, reply.text
            device = reply.json()
            # A week of slices to send: room for a backup command slow to start.
            week_ago = dt.datetime.fromtimestamp(time.time() // 3600 * 3600 - 7 * 86400, dt.UTC)
            agent = Agent(
                http, device["device_id"], device["key_id"], device["secret"], cursor=week_ago
            )
            made: list[str] = []
            ingested = backup_during_ingest(
                http,
                agent,
                integration,
                lambda: made.append(run("backup", str(backup))),
                rounds=7 * 24 * 6,
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    restored = f"sqlite:///{tmp_path / 'restored.db'}"
    assert cli(restored, "restore", str(backup))[0] == 0
    held_batches(restored, ingested)


def _wait(check: Callable[[], bool]) -> None:
    wait_for(check, 60, "the ingest thread", every=0.01)


# -- refusals -------------------------------------------------------------------------------


def listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.rglob("*"))


def test_backup_to_a_path_it_cannot_write(collector: Collector, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    (tmp_path / "old.backup").write_text("yesterday's backup")
    before = listing(tmp_path)
    for target, says in (
        (tmp_path / "missing" / "b.db", "is not a directory"),
        (tmp_path / "a-file" / "b.db", "is not a directory"),
        (tmp_path, "is a directory"),
        (tmp_path / "old.backup", "exists"),
        (Path("/proc/chattertrack.db"), "cannot write"),
    ):
        code, output = cli(collector.database_url, "backup", str(target))
        assert code in (1, 2) and says in output, (target, output)
        assert "Traceback" not in output
    assert listing(tmp_path) == before
    assert (tmp_path / "old.backup").read_text() == "yesterday's backup"


@pytest.fixture
def backup_file(agency: Collector, tmp_path: Path) -> Path:
    path = tmp_path / "good.backup"
    assert cli(agency.database_url, "backup", str(path))[0] == 0
    return path


def test_restore_refuses_what_is_not_a_backup(
    collector: Collector, backup_file: Path, new_database: NewDatabase, tmp_path: Path
) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("SELECT 1;\n")
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(backup_file.read_bytes()[:3000])
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    target = new_database()
    is_sqlite = target.startswith("sqlite")
    cases = [
        (text_file, "is not a ChatterTrack backup"),
        (tmp_path / "missing.backup", "cannot read"),
        (truncated, "not a readable" if not is_sqlite else "backup"),
    ]
    if is_sqlite:
        cases.append((foreign, "is not a ChatterTrack backup"))
    else:
        cases.append((foreign, "is a SQLite backup: restore it into a SQLite database"))
        missing = make_url(target).set(database=f"ct_missing_{uuid.uuid4().hex[:12]}")
        code, output = cli(missing.render_as_string(False), "restore", str(backup_file))
        assert code == 1 and "cannot reach the database" in output and "does not exist" in output
    for source, says in cases:
        code, output = cli(target, "restore", str(source))
        assert code == 1 and says in output, (source, output)
        assert "Traceback" not in output
        if is_sqlite:
            assert not Path(make_url(target).database or "").exists()
        else:
            assert counts(target) == {}


def test_restore_refuses_a_database_that_is_not_empty(agency: Collector, backup_file: Path) -> None:
    agency.cli("add-creator", "zed", "--name", "Zed")
    code, output = cli(agency.database_url, "restore", str(backup_file))
    assert code == 1 and "is not empty" in output and "--force" in output
    assert "zed" in agency.cli("creators").output
    code, output = cli(agency.database_url, "restore", "--force", str(backup_file))
    assert code == 0, output
    listed = agency.cli("creators").output
    assert "zed" not in listed and "luna" in listed


def test_an_older_backup_is_upgraded_on_restore(
    database_url: str, new_database: NewDatabase, tmp_path: Path
) -> None:
    old = new_database()
    engine = create_engine(old)
    configure_engine(engine)
    with engine.begin() as conn:
        migrate.upgrade(conn, "0005")
    engine.dispose()
    backup = tmp_path / "old.backup"
    assert cli(old, "backup", str(backup))[0] == 0
    target = new_database()
    code, output = cli(target, "restore", str(backup))
    assert code == 0, output
    assert revision(target) == migrate.head() and f"revision {migrate.head()}" in output


def test_postgres_backup_without_pg_dump_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, output = cli(PG_ADMIN_URL, "backup", str(tmp_path / "b.dump"))
    assert code == 1 and "pg_dump is not on PATH" in output and "postgresql-client" in output
    assert listing(tmp_path) == []


# -- crafted backups ---------------------------------------------------------------------------

# Objects a crafted backup carries, per backend, and how the refusal names them.
CRAFTED = {
    "sqlite": (
        [
            "CREATE TRIGGER evil AFTER INSERT ON slices BEGIN "
            "UPDATE users SET role = 'admin' WHERE email = 'mgr@x.test'; END",
            "CREATE TABLE extra (x)",
            "CREATE VIEW peek AS SELECT * FROM users",
            "CREATE INDEX ix_evil ON slices (seq)",
        ],
        ["trigger evil", "table extra", "view peek", "index ix_evil"],
    ),
    "postgresql": (
        [
            "CREATE FUNCTION evil() RETURNS trigger LANGUAGE plpgsql AS "
            "$$BEGIN COPY (SELECT 1) TO PROGRAM 'true'; RETURN NEW; END$$",
            "CREATE TRIGGER evil AFTER INSERT ON slices FOR EACH ROW EXECUTE FUNCTION evil()",
            "CREATE TABLE extra (x integer)",
            "CREATE VIEW peek AS SELECT * FROM users",
            "CREATE INDEX ix_evil ON slices (seq)",
        ],
        [
            "FUNCTION public evil()",
            "TRIGGER public slices evil",
            "TABLE public extra",
            "VIEW public peek",
            "INDEX public ix_evil",
        ],
    ),
}


def test_restore_refuses_a_backup_holding_objects_of_its_own(
    agency: Collector, new_database: NewDatabase, tmp_path: Path
) -> None:
    backend = make_url(agency.database_url).get_backend_name()
    good = tmp_path / "good.backup"
    assert cli(agency.database_url, "backup", str(good))[0] == 0
    statements, named = CRAFTED[backend]
    engine = create_engine(agency.database_url)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()
    crafted = tmp_path / "crafted.backup"
    assert cli(agency.database_url, "backup", str(crafted))[0] == 0

    target = new_database()
    before = listing(tmp_path)
    code, output = cli(target, "restore", str(crafted))
    assert code == 1 and "refused, nothing restored" in output, output
    assert "Traceback" not in output
    for name in named:
        assert name in output, (name, output)
    assert listing(tmp_path) == before  # no database, no partial file left behind
    if backend == "postgresql":
        assert counts(target) == {}

    # The real backup restores, a new SQLite file readable by its owner only.
    code, output = cli(target, "restore", str(good))
    assert code == 0, output
    assert set(counts(target)) == set(counts(agency.database_url)) - {"extra"}
    if backend == "sqlite":
        assert Path(make_url(target).database or "").stat().st_mode & 0o777 == 0o600
        with contextlib.closing(sqlite3.connect(make_url(target).database or "")) as conn:
            kinds = {row[0] for row in conn.execute("SELECT type FROM sqlite_master")}
        assert kinds == {"table", "index"}


def test_force_restore_refuses_a_crafted_backup_and_keeps_the_database(
    agency: Collector, tmp_path: Path
) -> None:
    backend = make_url(agency.database_url).get_backend_name()
    statements, _ = CRAFTED[backend]
    other = tmp_path / "crafted.backup"
    engine = create_engine(agency.database_url)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()
    assert cli(agency.database_url, "backup", str(other))[0] == 0
    before = counts(agency.database_url)
    code, output = cli(agency.database_url, "restore", "--force", str(other))
    assert code == 1 and "refused, nothing restored" in output, output
    assert counts(agency.database_url) == before


def _dump_kinds(dump: Path) -> set[str]:
    """The entry kinds in a custom-format archive, read from ``pg_restore --list``."""
    done = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    kinds = set()
    for line in done.stdout.splitlines():
        if line.startswith(";") or not line.strip():
            continue
        words = line.split()[3:]
        kinds.add(" ".join(words[: words.index("public")]))
    return kinds


def test_a_real_backup_holds_exactly_what_restore_accepts(
    agency: Collector, tmp_path: Path
) -> None:
    """PostgreSQL: the entry kinds restore accepts are exactly those of a real dump of a
    migrated database with data, and the dump passes the check.  SQLite: the expected
    schema is exactly what the migrations made in the collector's database."""
    real = tmp_path / "real.backup"
    assert cli(agency.database_url, "backup", str(real))[0] == 0
    head = migrate.head() or ""
    if make_url(agency.database_url).get_backend_name() == "postgresql":
        assert _dump_kinds(real) == set(backups._PG_ENTRY_KINDS)
        assert backups._pg_archive_problems(real, dict(os.environ), head) == []
    else:
        with contextlib.closing(sqlite3.connect(real)) as conn:
            made = set(conn.execute("SELECT type, name, tbl_name FROM sqlite_master"))
        assert backups._expected_schema(head) == made
