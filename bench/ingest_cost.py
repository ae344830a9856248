"""What one 10,000-event batch costs in-process: SQL statements, and instructions under callgrind.

Posts the bench's event batches (bench/payloads.py) through the Flask test client into a
fresh database, with the event times fixed relative to a UTC midnight so that every run
fills the same buckets.  With ``--heartbeats N`` it posts N signed 1-slice heartbeat
batches of one enrolled device instead, and prints the cost per request (the first 20 warm
the caches and are not counted); ``--uncounted`` leaves the statement events out, for the
plain time per request.  Wall clock drifts on a shared machine; instruction
counts do not:

    valgrind --tool=callgrind --dump-before=getpgrp \\
        python -m bench.ingest_cost --lane sqlite --batches 2

dumps one profile per batch (``os.getpgrp`` is called just before each post and after the
last one; the first dump holds the set-up).  The statement counts are printed either way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url

from bench import payloads
from bench.prepare import CHATTER, CREATOR, INTEGRATION
from bench.scenarios import EVENTS_PER_REQUEST
from collector import create_app
from collector.cli import main as cli_main

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DAY = 86400


@contextmanager
def fresh_database(lane: str, prefix: str) -> Iterator[str]:
    """A new, empty database of the lane, removed afterwards."""
    if lane == "sqlite":
        folder = tempfile.mkdtemp(prefix=prefix)
        try:
            yield f"sqlite:///{folder}/events.db"
        finally:
            shutil.rmtree(folder)
        return
    name = f"{prefix}cost_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def cli(url: str, *args: str) -> str:
    result = CliRunner().invoke(cli_main, ["--database", url, *args])
    if result.exit_code != 0:
        raise RuntimeError(f"{args}: {result.output} {result.exception!r}")
    return result.output.strip()


def bodies(token: str, batches: int) -> list[bytes]:
    """The bench's batches, the oldest event at a UTC midnight (yesterday's or earlier)."""
    span = batches * EVENTS_PER_REQUEST
    oldest = (int(time.time()) - 3600 - span) // DAY * DAY
    with mock.patch("bench.payloads.time.time", return_value=float(oldest + 3600 + span)):
        raw = payloads.event_requests(
            "bench.test",
            token,
            requests=batches,
            per_request=EVENTS_PER_REQUEST,
            creator=CREATOR,
            chatter=CHATTER,
            tag="bench",
        )
    return [request.split(b"\r\n\r\n", 1)[1] for request in raw]


WARM_UP = 20


def heartbeat_posts(
    client: FlaskClient, enroll_token: str, requests: int, per_batch: int = 1
) -> list[tuple[bytes, dict[str, str]]]:
    """Enroll a device, post WARM_UP batches; the other ``requests`` (body, headers)."""
    reply = client.post(
        "/api/v1/agents/enroll",
        json={"token": enroll_token, "hostname": "cost", "platform": "linux", "agent_version": "x"},
    )
    if reply.status_code != 201:
        raise RuntimeError(f"enroll: {reply.status_code} {reply.data[:300]!r}")
    enrolled = reply.get_json()
    device = payloads.Device(enrolled["device_id"], enrolled["key_id"], enrolled["secret"])
    posts = []
    for raw in payloads.heartbeat_requests(
        "bench.test", device, batches=WARM_UP + requests, per_batch=per_batch
    ):
        head, body = raw.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")[1:]
        headers = dict(line.split(": ", 1) for line in lines)
        for computed in ("Host", "Content-Length"):
            headers.pop(computed, None)
        posts.append((body, headers))
    for body, headers in posts[:WARM_UP]:
        if client.post("/api/v1/heartbeats", data=body, headers=headers).status_code != 200:
            raise RuntimeError("heartbeat warm-up failed")
    return posts[WARM_UP:]


class Tally:
    """Every statement SQLAlchemy runs: how often, its parameter sets, time in the driver."""

    def __init__(self, listening: bool = True) -> None:
        # Not listening: nothing is counted, and the statements run without the events'
        # cost (about 5 % of a heartbeat), for the plain time per request.
        self.listening = listening
        self.statements: Counter[str] = Counter()
        self.seconds: dict[str, float] = defaultdict(float)
        self.rows = 0
        self._began = 0.0

    def clear(self) -> None:
        self.statements.clear()
        self.seconds.clear()
        self.rows = 0

    def _before(self, _c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        self.statements[" ".join(sql.split())[:160]] += 1
        self.rows += len(params) if many else 1
        self._began = time.perf_counter()

    def _after(self, _c: Any, _cur: Any, sql: str, _params: Any, _ctx: Any, _many: bool) -> None:
        self.seconds[" ".join(sql.split())[:160]] += time.perf_counter() - self._began

    def __enter__(self) -> Tally:
        if self.listening:
            event.listen(Engine, "before_cursor_execute", self._before)
            event.listen(Engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc: object) -> None:
        if not self.listening:
            return
        event.remove(Engine, "before_cursor_execute", self._before)
        event.remove(Engine, "after_cursor_execute", self._after)

    def slowest(self, n: int) -> list[tuple[str, int, float]]:
        """(statement, count, seconds) of the n that took longest in the driver (SQL run,
        rows not yet read)."""
        ranked = sorted(self.seconds.items(), key=lambda i: -i[1])[:n]
        return [(sql, self.statements[sql], spent) for sql, spent in ranked]


def event_costs(args: argparse.Namespace, client: FlaskClient, token: str, tally: Tally) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for number, body in enumerate(bodies(token, args.batches), 1):
        tally.clear()
        os.getpgrp()  # callgrind --dump-before=getpgrp: what came before is one profile
        started, cpu = time.perf_counter(), time.process_time()
        reply = client.post("/api/v1/events", data=body, headers=headers)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if reply.status_code != 200 or reply.get_json()["accepted"] != EVENTS_PER_REQUEST:
            raise RuntimeError(f"batch {number}: {reply.status_code} {reply.data[:300]!r}")
        print(
            f"{args.lane} batch {number}: {sum(tally.statements.values())} statements "
            f"({len(tally.statements)} distinct, {tally.rows} parameter sets), "
            f"{elapsed:.2f} s wall, {cpu:.2f} s CPU"
        )
        for sql, n, spent in tally.slowest(args.show):
            print(f"  {n:6} {spent:6.3f} s  {sql}")
    os.getpgrp()


def heartbeat_costs(args: argparse.Namespace, client: FlaskClient, url: str, tally: Tally) -> None:
    per_batch = args.per_batch
    posts = heartbeat_posts(client, cli(url, "enroll-token", CHATTER), args.heartbeats, per_batch)
    tally.clear()
    times, started = os.times(), time.perf_counter()
    for body, signed in posts:
        reply = client.post("/api/v1/heartbeats", data=body, headers=signed)
        if reply.status_code != 200 or reply.get_json()["accepted"] != per_batch:
            raise RuntimeError(f"heartbeat: {reply.status_code} {reply.data[:300]!r}")
    elapsed, done = time.perf_counter() - started, os.times()
    each = 1000 / len(posts)  # seconds in all -> milliseconds per request
    counted = (
        f"{sum(tally.statements.values()) / len(posts):.1f} statements each"
        if tally.listening
        else "statements not counted"
    )
    print(
        f"{args.lane}: {len(posts)} heartbeat posts of {per_batch} slice(s), {counted}; "
        "per request "
        f"{elapsed * each:.2f} ms wall, CPU {(done.user - times.user) * each:.2f} ms "
        f"user + {(done.system - times.system) * each:.2f} ms system"
        + (
            f", {sum(tally.seconds.values()) * each:.2f} ms in the driver"
            if tally.listening
            else ""
        )
    )
    for sql, n, spent in tally.slowest(args.show):
        print(f"  {n / len(posts):4.1f} {spent * each:6.3f} ms  {sql}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lane", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--prefix", default=os.environ.get("CHATTER_BENCH_DB_PREFIX", "ct_bench_"))
    parser.add_argument("--show", type=int, default=0, help="print the N slowest statements")
    parser.add_argument("--heartbeats", type=int, default=0, help="N 1-slice heartbeat posts")
    parser.add_argument(
        "--per-batch", type=int, default=1, help="slices per heartbeat post (1,000: a backlog)"
    )
    parser.add_argument(
        "--uncounted", action="store_true", help="no statement events: the plain time"
    )
    args = parser.parse_args()
    with fresh_database(args.lane, args.prefix) as url:
        cli(url, "db", "upgrade")
        cli(url, "settings", "set", "currency", "USD")
        # Backlog batches reach weeks back; the default slice retention would refuse them.
        cli(url, "settings", "set", "retention_slice_days", "35")
        cli(url, "add-creator", CREATOR, "--name", "Luna Bench")
        cli(url, "add-chatter", CHATTER, "--name", "Alice Bench", "--creator", CREATOR)
        token = cli(url, "api-token", INTEGRATION, "--role", "integration").splitlines()[-1]
        app = create_app({"DATABASE_URL": url, "TESTING": True})
        client = app.test_client()
        with Tally(listening=not args.uncounted) as tally:
            if args.heartbeats:
                heartbeat_costs(args, client, url, tally)
            else:
                event_costs(args, client, token, tally)
        with app.app_context():
            from collector.http.database import db

            db.engine.dispose()


if __name__ == "__main__":
    main()
