"""Conversation analytics on a generated 90-day shop: summary and leaderboard server time.

The issue's benchmark: 1 million requests and 5 million widget events over 90
days (with the messages, calls, orders and surveys they bring), on SQLite and
PostgreSQL; the summary and the agent leaderboard must answer in 200 ms or
less.  Server time is measured in-process (the Flask app, no network), previous
period included, one warm-up call first.

The data set is generated once per lane (seeded, deterministic), loaded with
the fastest honest path of each database (executemany on SQLite, COPY on
PostgreSQL), then the conversation facts and rollups are built by
collector/conversations/rebuild.py, and cached in .bench-cache/ (PostgreSQL: a
database with the marker as its comment) until the generator version changes; a
new Alembic head is migrated in place, a ROLLUPS_VERSION bump rebuilds the
rollups.  The marker is written last, so an interrupted load starts over.  Run::

    .venv/bin/python -m bench.conversations [--lane sqlite|postgresql] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import sqlite3
import statistics
import time
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.lanes import pg_admin_url
from bench.stats_data.loaders import POSTGRES_TIME, SQLITE_TIME
from bench.stats_data.parameters import CACHE_DIR
from collector import create_app, credentials, migrate
from collector.db import configure_engine

GENERATOR_VERSION = 1
# Bump when the rollup tables' contents change: the cached events stay, the rollups are rebuilt.
ROLLUPS_VERSION = 1
SEED = 20261106
TZ_NAME = "Europe/Berlin"
FIRST_DAY = dt.date(2026, 8, 3)
DAYS = 90
LAST_DAY = FIRST_DAY + dt.timedelta(days=DAYS - 1)
TARGET_MS = 200.0
REPEATS = 15
MANAGER_TOKEN = "ctk_bench_conversations_manager"
AGENTS = 40
PAGES = 300
TRIGGERS = 12
LANES = ("sqlite", "postgresql")

# At scale 1.0, per day: 11,112 requests (1,000,080 in 90 days) and 55,556 widget events.
REQUESTS_PER_DAY = 11_112
WIDGET_PER_DAY = 55_556
VISITORS_PER_DAY = 30_000  # a day's visitors come from a sliding pool (returning visitors)

COLUMNS = (
    "event_id",
    "type",
    "occurred_at",
    "chatter_id",
    "contact",
    "kind",
    "ref",
    "amount_minor",
    "attrs",
    "channel",
    "url",
    "rating",
    "source",
    "content_hash",
    "received_at",
)
# (event_id, type, epoch, chatter_id, contact, kind, ref, amount, attrs json, channel, url, rating)
Row = tuple[
    str, str, int, int | None, str | None, str | None, str | None, int | None, str | None,
    str | None, str | None, int | None,
]  # fmt: skip


def _local_midnight(day: dt.date) -> int:
    tz = zoneinfo.ZoneInfo(TZ_NAME)
    return int(dt.datetime.combine(day, dt.time(), tzinfo=tz).timestamp())


class Generator:
    """The shop's traffic, day by day: rows of the events table."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.rng = random.Random(SEED)
        self.n = 0
        self.counts: dict[str, int] = {}

    def _id(self) -> str:
        self.n += 1
        return f"cv-{self.n:09d}"

    def _row(self, type_: str, at: int, **cols: Any) -> Row:
        self.counts[type_] = self.counts.get(type_, 0) + 1
        return (
            self._id(),
            type_,
            at,
            cols.get("agent"),
            cols.get("visitor"),
            cols.get("kind"),
            cols.get("ref"),
            cols.get("amount"),
            cols.get("attrs"),
            cols.get("channel"),
            cols.get("url"),
            cols.get("rating"),
        )

    def days(self) -> Iterator[list[Row]]:
        for index in range(DAYS):
            yield self._day(index)

    def _visitor(self, index: int) -> str:
        pool = int(VISITORS_PER_DAY * self.scale) or 1
        # Today's pool overlaps yesterday's by half: returning visitors.
        return f"vis-{index * pool // 2 + self.rng.randrange(pool)}"

    def _moment(self, start: int) -> int:
        # Busier in the afternoon and evening, local time.
        hour = self.rng.choices(range(24), weights=_HOUR_WEIGHTS)[0]
        return start + hour * 3600 + self.rng.randrange(3600)

    def _day(self, index: int) -> list[Row]:
        r = self.rng
        day = FIRST_DAY + dt.timedelta(days=index)
        start = _local_midnight(day)
        rows: list[Row] = []
        for _ in range(int(WIDGET_PER_DAY * self.scale)):
            at, visitor = self._moment(start), self._visitor(index)
            url = f"https://shop.test/p/{r.randrange(PAGES)}"
            pick = r.random()
            if pick < 0.84:
                rows.append(self._row("widget_impression", at, visitor=visitor, url=url))
            elif pick < 0.96:
                source = "widget" if r.random() < 0.8 else "notification"
                rows.append(self._row("widget_click", at, visitor=visitor, kind=source, url=url))
            else:
                trigger = f"trigger-{r.randrange(TRIGGERS)}"
                rows.append(
                    self._row("auto_message_click", at, visitor=visitor, ref=trigger, url=url)
                )
        for _ in range(int(REQUESTS_PER_DAY * self.scale)):
            rows += self._request(index, self._moment(start))
        return rows

    def _request(self, index: int, at: int) -> list[Row]:
        r = self.rng
        rid = f"req-{self.n + 1}"
        visitor = self._visitor(index)
        agent = 1 + r.randrange(AGENTS)
        by_agent = r.random() < 0.4
        channel = "text" if r.random() < 0.8 else "video"
        url = f"https://shop.test/p/{r.randrange(PAGES)}"
        attrs = (
            json.dumps({"trigger_id": f"trigger-{r.randrange(TRIGGERS)}"})
            if r.random() < 0.1
            else None
        )
        rows = [
            self._row(
                "request",
                at,
                agent=agent if by_agent or r.random() < 0.3 else None,
                visitor=visitor,
                kind="agent" if by_agent else "visitor",
                ref=rid,
                channel=channel,
                url=url,
                attrs=attrs,
            )
        ]
        answered = r.random() < (0.55 if by_agent else 0.75)
        moment = at
        if channel == "video" and answered:
            moment += r.randrange(5, 90)
            rows.append(self._row("call_started", moment, agent=agent, ref=rid))
            moment += r.randrange(60, 1200)
            rows.append(self._row("call_ended", moment, ref=rid))
        elif answered:
            for i in range(r.randrange(2, 5)):
                moment += r.randrange(10, 240)
                side = (
                    ("visitor" if by_agent else "agent")
                    if i % 2 == 0
                    else ("agent" if by_agent else "visitor")
                )
                rows.append(
                    self._row(
                        "conversation_message",
                        moment,
                        agent=agent if side == "agent" else None,
                        kind=side,
                        ref=rid,
                        channel="text",
                    )
                )
        elif not by_agent and r.random() < 0.3:
            moment += r.randrange(10, 120)
            rows.append(
                self._row("conversation_message", moment, kind="visitor", ref=rid, channel="text")
            )
        if answered and r.random() < 0.09:
            moment += r.randrange(60, 3 * 86_400)
            rows.append(self._order(moment, visitor))
        elif r.random() < 0.03:
            rows.append(self._order(at - r.randrange(60, 86_400), visitor))
        if answered and r.random() < 0.15:
            rating = r.choices([1, 2, 3, 4, 5, None], weights=[1, 1, 2, 4, 8, 2])[0]
            feedback = r.choice(["Great help", "Quick answer", "Too slow", "Thanks!"])
            rows.append(
                self._row(
                    "nps_response",
                    moment + r.randrange(30, 600),
                    visitor=visitor,
                    kind="submitted" if rating else "closed",
                    ref=rid,
                    rating=rating,
                    attrs=json.dumps({"feedback": feedback}) if r.random() < 0.3 else None,
                )
            )
        return rows

    def _order(self, at: int, visitor: str) -> Row:
        r = self.rng
        subtotal = r.randrange(1500, 25_000)
        discount = r.choice([0, 0, 0, subtotal // 10])
        parts = {"subtotal": subtotal, "discount": discount, "shipping": 490, "tax": subtotal // 5}
        return self._row(
            "order",
            at,
            visitor=visitor,
            ref=f"ord-{self.n + 1}",
            amount=subtotal - discount,
            attrs=json.dumps(parts),
        )


_HOUR_WEIGHTS = [1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 7, 7, 8, 9, 9, 9, 8, 6, 4, 2]


# Where the data set lives, and how it is loaded.


def _tag(scale: float) -> str:
    return f"conversations-v{GENERATOR_VERSION}-scale{scale!r}"


@dataclass
class Target:
    lane: str
    scale: float
    url: str = ""
    path: Path | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.lane == "sqlite":
            self.path = CACHE_DIR / f"{_tag(self.scale)}.sqlite"
            self.url = f"sqlite:///{self.path}"
        else:
            self.name = "ct_bench_" + _tag(self.scale).replace("-", "_").replace(".", "_")
            self.url = make_url(pg_admin_url()).set(database=self.name).render_as_string(False)

    def _admin(self) -> Any:
        return create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")

    def read_marker(self) -> dict[str, Any] | None:
        if self.path is not None:
            sidecar = self.path.with_suffix(".json")
            if not self.path.exists() or not sidecar.exists():
                return None
            return dict(json.loads(sidecar.read_text()))
        engine = self._admin()
        try:
            with engine.connect() as conn:
                comment = conn.execute(
                    text(
                        "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                        "WHERE datname = :name"
                    ),
                    {"name": self.name},
                ).scalar()
        finally:
            engine.dispose()
        return None if comment is None else dict(json.loads(comment))

    def write_marker(self, marker: dict[str, Any]) -> None:
        if self.path is not None:
            self.path.with_suffix(".json").write_text(json.dumps(marker, indent=2) + "\n")
            return
        literal = json.dumps(marker).replace("'", "''")
        engine = self._admin()
        try:
            with engine.connect() as conn:
                conn.execute(text(f"COMMENT ON DATABASE \"{self.name}\" IS '{literal}'"))
        finally:
            engine.dispose()

    def reset(self) -> None:
        if self.path is not None:
            CACHE_DIR.mkdir(exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self.path.with_suffix(".json").unlink(missing_ok=True)
            return
        engine = self._admin()
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        finally:
            engine.dispose()


def _engine(url: str) -> Any:
    engine = create_engine(url)
    configure_engine(engine)
    return engine


def _people(url: str) -> None:
    """The agents (chatters), a manager token and the agency's zone."""
    engine = _engine(url)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO chatters (id, key, name, active, created_at) "
                "VALUES (:i, :k, :n, :a, :c)"
            ),
            [
                {"i": i, "k": f"agent-{i:02d}", "n": f"Agent {i:02d}", "a": True, "c": now}
                for i in range(1, AGENTS + 1)
            ],
        )
        conn.execute(
            text(
                "INSERT INTO api_tokens (name, role, token_hash, created_at) "
                "VALUES ('bench manager', 'manager', :h, :c)"
            ),
            {"h": credentials.token_hash(MANAGER_TOKEN), "c": now},
        )
        conn.execute(
            text(
                "INSERT INTO settings (name, scope, value, updated_at) "
                "VALUES ('agency_timezone', 'global', :z, :c)"
            ),
            {"z": TZ_NAME, "c": now},
        )
    engine.dispose()


def _load(target: Target, generator: Generator) -> None:
    received = int(dt.datetime.combine(LAST_DAY, dt.time(), tzinfo=dt.UTC).timestamp()) + 86_400 * 4
    if target.lane == "sqlite":
        assert target.path is not None
        conn = sqlite3.connect(target.path, isolation_level=None)
        for pragma in ("synchronous=OFF", "cache_size=-1048576", "temp_store=MEMORY"):
            conn.execute(f"PRAGMA {pragma}")
        sql = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        f = SQLITE_TIME
        for index, rows in enumerate(generator.days()):
            conn.execute("BEGIN")
            conn.executemany(
                sql,
                [(*r[:2], f(r[2]), *r[3:], "bench", _hash(r[0]), f(received)) for r in rows],
            )
            conn.execute("COMMIT")
            _progress(index, generator)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        return
    import psycopg

    u = make_url(target.url)
    pg = psycopg.connect(host=u.host, port=u.port, user=u.username, dbname=u.database)
    pg.execute("SET synchronous_commit = off")
    f = POSTGRES_TIME
    for index, rows in enumerate(generator.days()):
        with pg.cursor() as cur, cur.copy(f"COPY events ({', '.join(COLUMNS)}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row((*r[:2], f(r[2]), *r[3:], "bench", _hash(r[0]), f(received)))
        pg.commit()
        _progress(index, generator)
    pg.execute(
        "SELECT setval(pg_get_serial_sequence('events', 'id'), "
        "(SELECT coalesce(max(id), 0) + 1 FROM events), false)"
    )
    pg.commit()
    pg.close()


def _hash(event_id: str) -> str:
    return hashlib.sha256(event_id.encode()).hexdigest()


def _progress(index: int, generator: Generator) -> None:
    if index % 10 == 9 or index == DAYS - 1:
        print(f"  day {index + 1}/{DAYS}: {generator.n:,} events", flush=True)


def _rebuild(url: str) -> float:
    from collector.conversations.rebuild import rebuild

    t0 = time.monotonic()
    engine = _engine(url)
    with engine.begin() as conn:
        rebuild(conn)
    engine.dispose()
    _analyze(url)
    return round(time.monotonic() - t0, 1)


def _analyze(url: str) -> None:
    """Fresh planner statistics (and, on PostgreSQL, a visibility map for index-only scans)."""
    engine = _engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
    else:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    engine.dispose()


def ensure_dataset(lane: str, scale: float = 1.0, *, force: bool = False) -> str:
    """The URL of the cached data set on ``lane``, generated, loaded and rolled up if needed."""
    target = Target(lane, float(scale))
    marker = target.read_marker()
    head = migrate.head()
    if force or marker is None or marker.get("generator") != GENERATOR_VERSION:
        print(f"[{lane}] generating {_tag(scale)} (this takes a while)", flush=True)
        t0 = time.monotonic()
        target.reset()
        engine = _engine(target.url)
        migrate.upgrade(engine)
        engine.dispose()
        _people(target.url)
        generator = Generator(float(scale))
        _load(target, generator)
        loaded = round(time.monotonic() - t0, 1)
        print(f"[{lane}] loaded in {loaded} s; building the rollups", flush=True)
        marker = {
            "generator": GENERATOR_VERSION,
            "seed": SEED,
            "scale": scale,
            "alembic_revision": head,
            "rollups_version": ROLLUPS_VERSION,
            "events": generator.n,
            "events_by_type": generator.counts,
            "seconds": {"load": loaded, "rollups": _rebuild(target.url)},
        }
        target.write_marker(marker)
    elif marker.get("rollups_version") != ROLLUPS_VERSION:
        print(f"[{lane}] migrating and rebuilding the rollups", flush=True)
        engine = _engine(target.url)
        migrate.upgrade(engine)
        engine.dispose()
        marker["alembic_revision"] = head
        marker["rollups_version"] = ROLLUPS_VERSION
        marker["seconds"]["rollups"] = _rebuild(target.url)
        target.write_marker(marker)
    elif marker.get("alembic_revision") != head:
        # A new migration (an index, another feature's table) leaves the rollups as they are;
        # one that changes what they hold comes with a ROLLUPS_VERSION bump (above).
        print(f"[{lane}] migrating to {head}", flush=True)
        t0 = time.monotonic()
        engine = _engine(target.url)
        migrate.upgrade(engine)
        engine.dispose()
        _analyze(target.url)
        marker["alembic_revision"] = head
        marker["seconds"]["migrate"] = round(time.monotonic() - t0, 1)
        target.write_marker(marker)
    print(f"[{lane}] ready: {marker['events']:,} events {marker['events_by_type']}", flush=True)
    return target.url


# Timing.


@dataclass
class Timing:
    name: str
    samples_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    @property
    def targeted(self) -> bool:
        return self.name.split(" ")[0] in TARGETED

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "median_ms": round(self.median, 1),
            "p95_ms": round(self.p95, 1),
            "targeted": self.targeted,
            "passed": self.p95 <= TARGET_MS if self.targeted else None,
            "samples": len(self.samples_ms),
        }


@dataclass
class LaneResult:
    lane: str
    scale: float
    status: str = "ran"  # ran | not run | failed
    reason: str = ""
    timings: list[Timing] = field(default_factory=list)
    dataset: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lane": self.lane,
            "scale": self.scale,
            "status": self.status,
            "reason": self.reason,
            "events": self.dataset.get("events"),
            "timings": [t.as_dict() for t in self.timings],
        }


# The two views the target is about; the others are measured for information.
TARGETED = ("summary", "agents")


def missed(results: Sequence[LaneResult]) -> bool:
    """Whether a targeted view's p95 is over the target."""
    return any(t.targeted and t.p95 > TARGET_MS for r in results for t in r.timings)


def _timed(call: Callable[[], Any], repeats: int) -> list[float]:
    call()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def measure(url: str, repeats: int = REPEATS) -> list[Timing]:
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {MANAGER_TOKEN}"}
    ranges = {
        "90 days": {"start": str(FIRST_DAY), "end": str(LAST_DAY), "tz": TZ_NAME},
        "30 days": {
            "start": str(LAST_DAY - dt.timedelta(days=29)),
            "end": str(LAST_DAY),
            "tz": TZ_NAME,
        },
        "90 days UTC": {"start": str(FIRST_DAY), "end": str(LAST_DAY), "tz": "UTC"},
    }
    views = [("summary", ""), ("agents", "/agents"), ("trends", "/trends"), ("nps", "/nps")]
    timings = []
    for label, params in ranges.items():
        for name, path in views:
            if label != "90 days" and name not in TARGETED:
                continue

            def call(path: str = path, params: dict[str, str] = params) -> None:
                reply = client.get(
                    "/api/v1/stats/conversations" + path, query_string=params, headers=headers
                )
                assert reply.status_code == 200, reply.get_data(as_text=True)[:300]

            timings.append(Timing(f"{name} ({label})", _timed(call, repeats)))
    with app.app_context():
        from collector.db import db

        db.engine.dispose()
    return timings


def report(results: Sequence[LaneResult]) -> str:
    lines = [f"Conversation analytics, target {TARGET_MS:.0f} ms (summary and leaderboard)"]
    for result in results:
        if result.status != "ran":
            lines.append(f"[{result.lane}] {result.status}: {result.reason}")
            continue
        lines.append(
            f"[{result.lane}] scale {result.scale}: {result.dataset.get('events', 0):,} events"
        )
        for t in result.timings:
            verdict = ("PASS" if t.p95 <= TARGET_MS else "FAIL") if t.targeted else "info"
            lines.append(
                f"  {t.name:<28} median {t.median:8.1f} ms  p95 {t.p95:8.1f} ms  {verdict}"
            )
    return "\n".join(lines)


def run(lanes: Sequence[str], scale: float, repeats: int = REPEATS) -> list[LaneResult]:
    results = []
    for lane in lanes:
        url = ensure_dataset(lane, scale)
        result = LaneResult(lane, scale, timings=measure(url, repeats))
        result.dataset = Target(lane, scale).read_marker() or {}
        results.append(result)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lane", choices=LANES, action="append")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--prepare-only", action="store_true", help="build the cache and stop")
    args = parser.parse_args(argv)
    lanes = args.lane or list(LANES)
    if args.prepare_only:
        for lane in lanes:
            ensure_dataset(lane, args.scale)
        return 0
    results = run(lanes, args.scale, args.repeats)
    print(report(results))
    return 1 if missed(results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
