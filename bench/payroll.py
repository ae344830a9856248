"""The payroll of 200 chatters over 90 days, on SQLite and PostgreSQL (issue 16).

The issue's benchmark: one month's payroll of the whole agency must be computed in 300 ms
or less (p95 of 15 calls after one warm-up, server time in-process).  No payroll endpoint
exists yet, so what is timed is what the API will call: ``report.build`` and
``report.body`` for a manager who sees everyone, in a fresh app context (one per call, as
one per request), and the body encoded as JSON.

The agency: 10 creators, 200 chatters each on a weekly 8-hour shift six days a week in one
of three zones, paid monthly in Europe/Paris (October 2026 holds the 25 October DST
change).  Every chatter has a pay rule (hourly on online, active or scheduled time,
commission before or after the platform's fee, a bonus, a minimum guarantee); about 10 %
change rate mid-month.  Sales (tips, PPV messages and their purchases, a few refunds) are
checked and turned into rows by the real event ingest (``ingest.events.prepare``) and
inserted in bulk; slices are bulk loaded (COPY on PostgreSQL, executemany on SQLite) for
every chatter, one 60 s slice every ``SLICE_EVERY`` minutes of the time online (every
15-minute bucket of the time online still holds slices, so the rollups the payroll reads
have the rows of a full-density agency, with a third of the raw rows).  Then the
collector's rebuild (``stats.rebuild``: facts, sales and activity rollups) computes what
the payroll reads, as after any bulk load.  The late rows below go through the incremental
ingest instead (``events.store``, ``heartbeats.store_batch``).

Then, for the sample (every chatter of the first creator: 20 at scale 1), whose raw rows are
kept in memory as well, the pay from the rollups must equal ``payroll.reference.pay_of``
on the raw rows: October while open, October once locked after late rows (unchanged),
November with the adjustments late rows into October cause (the reference on every row
less the reference on the rows that had arrived before the approval).

Timed: October open; November open; the approval of October (once); November carrying
October's adjustments after late events and slices dated in October arrived through the
real ingest (``events.store``, ``heartbeats.store_batch``); October locked.

The data are built in a database of its own (a temporary SQLite file, a PostgreSQL database
``ct_paybench_<random>``), dropped afterwards.  Run::

    .venv/bin/python -m bench.payroll [--lane sqlite|postgresql] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.lanes import LANES, pg_admin, pg_admin_url, pg_unreachable
from bench.timing import PartLane, Timing, timed
from collector import create_app
from collector.agency.settings import set_value
from collector.auth.callers import Caller
from collector.auth.signatures import AgentCaller
from collector.db.models import Chatter, Creator, Device, Event, chatter_creators
from collector.db.schedule_models import Shift
from collector.db.settings import agent_settings
from collector.http.database import db
from collector.ingest import events as ingest_events
from collector.ingest import heartbeats
from collector.maintenance.upgrade import upgrade
from collector.payroll import ledger, reference, report, rules
from collector.payroll.lines import Line
from collector.payroll.periods import PayPeriod
from collector.shifts.occurrences import Occurrence, ShiftRule, local_to_utc, occurrences
from collector.stats import rebuild
from collector.stats.metrics import EventRow, SliceRow
from collector.stats.periods import period as local_range
from shared.protocol import Heartbeat, HeartbeatBatch, format_time

TARGET_MS = 300.0
REPEATS = 15
CHATTERS = 200
CREATORS = 10
DAYS = 90
LAST_DAY = dt.date(2026, 11, 30)
FIRST_DAY = LAST_DAY - dt.timedelta(days=DAYS - 1)
OCTOBER = PayPeriod(dt.date(2026, 10, 1), dt.date(2026, 10, 31))  # 25 October: 25 hours
NOVEMBER = PayPeriod(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)  # both months are over
TZ = "Europe/Paris"
ZONES = ("Europe/Paris", "America/New_York", "Asia/Manila")
FEE = 2000  # the platform's fee, basis points
SLICE_EVERY = 3  # minutes between two slices of the time online
RULES_FROM = FIRST_DAY - dt.timedelta(days=30)
CHANGES = (dt.date(2026, 10, 16), dt.date(2026, 11, 12))  # the mid-month rate changes
TARGETED = ("payroll October (open)", "payroll November (open)", "payroll November (adjusted)")


@dataclass
class LaneResult(PartLane):
    timings: list[Timing] = field(default_factory=list)
    approve_ms: float = 0.0
    build_s: float = 0.0
    rebuild_s: float = 0.0
    equal_chatters: int = 0
    checks: list[str] = field(default_factory=list)
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | {
            **self.dataset,
            "build_s": round(self.build_s, 1),
            "rebuild_s": round(self.rebuild_s, 1),
            "approve_ms": round(self.approve_ms, 1),
            "equals_reference_chatters": self.equal_chatters,
            "checks": self.checks,
            "load_average": [round(x, 2) for x in self.load_average],
            "timings": [
                {
                    "name": t.name,
                    "median_ms": round(t.median, 1),
                    "p95_ms": round(t.p95, 1),
                    "targeted": t.name in TARGETED,
                    "passed": t.meets(TARGET_MS) if t.name in TARGETED else None,
                    "samples": len(t.samples_ms),
                }
                for t in self.timings
            ],
        }


@contextmanager
def lane_database(lane: str) -> Iterator[str]:
    """An empty database of the lane's kind, removed on exit."""
    if lane == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ct-paybench-") as workdir:
            yield f"sqlite:///{Path(workdir) / 'paybench.db'}"
        return
    admin = pg_admin_url()
    name = f"ct_paybench_{uuid.uuid4().hex[:12]}"
    with pg_admin(admin) as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with pg_admin(admin) as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- the agency ----------------------------------------------------------------------


def _rule_of(i: int) -> rules.Rule:
    """A chatter's pay: four kinds of agreement, in turn."""
    kind = (i + i // 10) % 4
    if kind == 0:
        return rules.Rule(hourly_minor=1500, hours_basis="online")
    if kind == 1:
        return rules.Rule(hourly_minor=1800, hours_basis="active", commission_basis_points=500)
    if kind == 2:
        return rules.Rule(
            hourly_minor=1200,
            hours_basis="scheduled",
            commission_basis_points=1000,
            commission_after_fee=True,
            bonus_minor=20_000,
        )
    return rules.Rule(
        commission_basis_points=2000, commission_after_fee=True, minimum_minor=150_000
    )


def _rules_of(i: int) -> list[tuple[dt.date, rules.Rule]]:
    """From before the data set; about one chatter in ten gets a raise mid-month, twice."""
    first = _rule_of(i)
    out = [(RULES_FROM, first)]
    if i % 10 == (i // 10) % 10:
        for n, day in enumerate(CHANGES, 1):
            out.append(
                (
                    day,
                    rules.Rule(
                        hourly_minor=first.hourly_minor + 100 * n,
                        hours_basis=first.hours_basis,
                        commission_basis_points=first.commission_basis_points + 50 * n,
                        commission_after_fee=first.commission_after_fee,
                        bonus_minor=first.bonus_minor,
                        minimum_minor=first.minimum_minor,
                    ),
                )
            )
    return out


def _moment(start: int, minute: int) -> str:
    return format_time(dt.datetime.fromtimestamp(start + minute * 60, dt.UTC))


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@dataclass
class Agency:
    chatters: int
    sample: list[int]  # chatter indexes whose raw rows are kept for the reference
    ids: dict[str, int]
    rules: dict[str, list[tuple[dt.date, rules.Rule]]]
    shift_rules: list[ShiftRule]
    events: list[dict[str, Any]] = field(default_factory=list)  # the sample's creator's
    slices: list[SliceRow] = field(default_factory=list)  # the sample's
    last_seq: dict[int, int] = field(default_factory=dict)  # per device

    def sample_keys(self) -> list[str]:
        return [f"chatter{i:03d}" for i in self.sample]

    def sample_ids(self) -> set[int]:
        return {i + 1 for i in self.sample}


_SLICE_COLUMNS = (
    "device_id, chatter_id, start, slice_seconds, duration, active_seconds, input_seconds, "
    "paused_seconds, keystrokes, mouse_events, seq, batch_id, received_at"
)


def _copy_slices(connection: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Straight to the driver: COPY on PostgreSQL, executemany on SQLite (as attendance)."""
    sqlite = connection.dialect.name == "sqlite"

    def moment(seconds: int) -> Any:
        at = dt.datetime.fromtimestamp(seconds, dt.UTC)
        # As the UTCDateTime column stores it: naive UTC text on SQLite.
        return at.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else at

    received = moment(int(NOW.timestamp()) - 86_400)
    values = [
        (d, c, moment(at), 60, 60, a, a, p, 0, 0, seq, "paybench", received)
        for d, c, at, a, p, seq in rows
    ]
    raw = connection.connection.driver_connection
    if not sqlite:
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY slices ({_SLICE_COLUMNS}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        return
    marks = ", ".join("?" for _ in _SLICE_COLUMNS.split(","))
    raw.executemany(f"INSERT INTO slices ({_SLICE_COLUMNS}) VALUES ({marks})", values)  # type: ignore[union-attr]


def _ingest(session: Session, evs: list[dict[str, Any]], now: dt.datetime) -> int:
    """Events through the collector's ingest, as the API and the importer store them: facts
    and rollups refreshed incrementally (the late rows)."""
    stored = 0
    for i in range(0, len(evs), 2000):
        raws = [json.dumps(e).encode() for e in evs[i : i + 2000]]
        prepared = ingest_events.prepare(session, raws, source="paybench", now=now)
        assert not prepared.rejected, prepared.rejected[:3]
        stored += ingest_events.store(session, prepared.rows).accepted
        session.commit()
    return stored


def _bulk_events(session: Session, evs: list[dict[str, Any]], now: dt.datetime) -> int:
    """Events checked and turned into rows by the ingest (``prepare``), inserted in bulk:
    their facts and sales rollups are then rebuilt (``rebuild_rollups``), as after an
    import.  The incremental path (about 2 ms a sales bucket) would take minutes here."""
    stored = 0
    for i in range(0, len(evs), 5000):
        raws = [json.dumps(e).encode() for e in evs[i : i + 5000]]
        prepared = ingest_events.prepare(session, raws, source="paybench", now=now)
        assert not prepared.rejected, prepared.rejected[:3]
        session.execute(insert(Event), prepared.rows)
        stored += len(prepared.rows)
    session.commit()
    return stored


def _note(what: str) -> None:
    print(f"  payroll bench: {what}", flush=True)


def build(url: str, scale: float) -> tuple[Agency, dict[str, Any]]:
    """The agency, its rules, shifts, sales and slices; returns what was built."""
    t0 = time.perf_counter()
    engine = create_engine(url)
    upgrade(engine)
    _note(f"schema in {time.perf_counter() - t0:.1f} s")
    rng = random.Random(16)
    chatters = max(1, round(CHATTERS * scale))
    sample = [i for i in range(chatters) if i % CREATORS == 0]
    made = NOW - dt.timedelta(days=120)
    agency = Agency(
        chatters,
        sample,
        {f"chatter{i:03d}": i + 1 for i in range(chatters)},
        {f"chatter{i:03d}": _rules_of(i) for i in range(chatters)},
        [],
    )
    with engine.begin() as c:
        c.execute(
            insert(Creator),
            [
                {"id": k + 1, "key": f"creator{k}", "name": f"Creator {k:02d}", "active": True,
                 "created_at": made}
                for k in range(CREATORS)
            ],
        )  # fmt: skip
        c.execute(
            insert(Chatter),
            [
                {"id": i + 1, "key": f"chatter{i:03d}", "name": f"Chatter {i:03d}",
                 "active": True, "created_at": made}
                for i in range(chatters)
            ],
        )  # fmt: skip
        c.execute(
            insert(Device),
            [
                {"id": i + 1, "uid": str(uuid.UUID(int=i + 1)), "chatter_id": i + 1,
                 "hostname": f"pc-{i}", "platform": "Linux", "agent_version": "bench",
                 "enrolled_at": made}
                for i in range(chatters)
            ],
        )  # fmt: skip
        c.execute(
            insert(chatter_creators),
            [{"chatter_id": i + 1, "creator_id": i % CREATORS + 1} for i in range(chatters)],
        )
        # Weekly 8-hour shifts six days a week, in three zones (as bench/attendance.py).
        agency.shift_rules = [
            ShiftRule(
                id=i + 1,
                chatter_id=i + 1,
                creator_id=i % CREATORS + 1,
                zone=ZONES[i % 3],
                weekdays=0b0111111 if i % 2 else 0b1111110,
                start_minute=(i % 24) * 60,
                end_minute=((i % 24) + 8) % 24 * 60,
                first_day=FIRST_DAY - dt.timedelta(days=7),
            )
            for i in range(chatters)
        ]
        c.execute(
            insert(Shift),
            [
                {**dataclasses.asdict(r), "note": "", "created_at": made, "updated_at": made}
                for r in agency.shift_rules
            ],
        )

    _note(f"people and shifts in {time.perf_counter() - t0:.1f} s")
    with Session(engine) as session:
        set_value(session, "pay_period", "monthly")
        set_value(session, "agency_timezone", TZ)
        set_value(session, "platform_fee_basis_points", str(FEE))
        set_value(session, "currency", "EUR")
        for key, mine in agency.rules.items():
            chatter = session.get(Chatter, agency.ids[key])
            assert chatter is not None
            for day, rule in mine:
                rules.set_rule(session, chatter, day, rule, actor="paybench", now=made)
        session.commit()

    _note(f"pay rules in {time.perf_counter() - t0:.1f} s")
    evs: list[dict[str, Any]] = []
    slice_count = 0
    with engine.begin() as c:
        for i, shift in enumerate(agency.shift_rules):
            key, creator = f"chatter{i:03d}", f"creator{i % CREATORS}"
            rows: list[tuple[Any, ...]] = []
            sales: list[tuple[str, int]] = []
            day, n = FIRST_DAY, 0
            while day <= LAST_DAY:
                n += 1
                weekday_bit = 1 << day.weekday()
                if not shift.weekdays & weekday_bit or rng.random() < 0.05:
                    day += dt.timedelta(days=1)
                    continue
                begin = int(local_to_utc(day, shift.start_minute, shift.zone).timestamp())
                start = begin + rng.randint(-10, 15) * 60
                length = 8 * 60 + rng.randint(-20, 40)
                for m in range(0, length, SLICE_EVERY):
                    paused = 60 if 200 <= m < 215 else 0
                    active = 0 if paused else rng.choice((0, 20, 45, 60, 60))
                    rows.append((i + 1, i + 1, start + m * 60, active, paused, n * 1000 + m))

                # The day's sales, during the shift.
                at = functools.partial(_moment, start)
                base = {"creator": creator}
                for k in range(2):
                    tip = f"t{i}-{n}-{k}"
                    amount = rng.randint(500, 5000)
                    evs.append({**base, "id": tip, "type": "tip", "occurred_at": at(30 + 90 * k),
                                "fan": f"fan{i}-{rng.randint(0, 29)}", "chatter": key,
                                "amount": _money(amount)})  # fmt: skip
                    sales.append((tip, amount))
                for k in range(2):
                    ppv, fan = f"p{i}-{n}-{k}", f"fan{i}-{rng.randint(0, 29)}"
                    price = rng.choice((999, 1499, 2500, 4000))
                    offer = {"id": ppv, "price": _money(price)}
                    evs.append({**base, "id": f"m{i}-{n}-{k}", "type": "message_sent",
                                "occurred_at": at(60 + 120 * k), "chatter": key, "fan": fan,
                                "kind": "direct", "ppv": offer})  # fmt: skip
                    if k == 0:
                        evs.append({**base, "id": f"b{i}-{n}", "type": "ppv_purchase",
                                    "occurred_at": at(75), "fan": fan, "ppv_id": ppv,
                                    "amount": _money(price)})  # fmt: skip
                        sales.append((f"b{i}-{n}", price))
                if rng.random() < 0.15 and len(sales) > 4:
                    # Half of an earlier sale, once.
                    sale, amount = sales.pop(rng.randrange(len(sales) - 3))
                    evs.append({**base, "id": f"r{i}-{n}", "type": "refund",
                                "occurred_at": at(300), "refers_to": sale,
                                "amount": _money(max(1, amount // 2))})  # fmt: skip
                day += dt.timedelta(days=1)
            _copy_slices(c, rows)
            slice_count += len(rows)
            agency.last_seq[i + 1] = max((r[5] for r in rows), default=0)
            if i in sample:
                agency.slices += [
                    SliceRow(key, str(i + 1), dt.datetime.fromtimestamp(at, dt.UTC), 60, a, p)
                    for _, _, at, a, p, _ in rows
                ]
    _note(f"{slice_count:,} slices in {time.perf_counter() - t0:.1f} s")
    evs.sort(key=lambda e: (e["occurred_at"], e["id"]))
    agency.events = [e for e in evs if e["creator"] == "creator0"]
    with Session(engine) as session:
        stored = _bulk_events(session, evs, NOW)
    _note(f"{stored:,} events stored in {time.perf_counter() - t0:.1f} s")
    engine.dispose()
    return agency, {
        "chatters": chatters,
        "days": DAYS,
        "events": stored,
        "slices": slice_count,
        "slice_every_minutes": SLICE_EVERY,
        "sample_chatters": len(sample),
        "rate_changes": sum(len(r) > 1 for r in agency.rules.values()),
    }


def rebuild_rollups(url: str) -> None:
    """The events' facts (who each sale is credited to), the sales and activity rollups: the
    collector's rebuild (collector/stats/rebuild.py), as after a bulk load."""
    engine = create_engine(url)
    with engine.begin() as c:
        rebuild.rebuild_facts(c)
        rebuild.rebuild_sales(c)
        rebuild.rebuild_activity(c)
    engine.dispose()


# --- the reference -------------------------------------------------------------------


def _event_rows(evs: list[dict[str, Any]]) -> list[EventRow]:
    rows = []
    for e in evs:
        amount = e.get("amount") or (e.get("ppv") or {}).get("price") or "0"
        ref = e.get("ppv_id") or e.get("refers_to") or (e.get("ppv") or {}).get("id")
        whole, cents = str(amount).split(".")
        rows.append(
            EventRow(
                e["id"],
                e["type"],
                dt.datetime.fromisoformat(e["occurred_at"]),
                e["creator"],
                e.get("chatter"),
                e.get("fan"),
                e.get("kind"),
                ref,
                int(whole) * 100 + int(cents) if e["type"] != "message_sent" else 0,
            )
        )
    return rows


def expected(
    agency: Agency, period: PayPeriod, evs: list[dict[str, Any]], slices: list[SliceRow]
) -> list[Line]:
    """The sample's lines of ``period`` from raw rows, the slow and obvious way."""
    span = local_range(period.first, period.last, TZ)
    sample_ids = agency.sample_ids()
    shifts: list[Occurrence] = occurrences(
        [r for r in agency.shift_rules if r.chatter_id in sample_ids],
        [],
        span.start - dt.timedelta(days=1),
        span.end + dt.timedelta(days=1),
    )
    keys = agency.sample_keys()
    return reference.pay_of(
        period,
        TZ,
        events=_event_rows(evs),
        slices=[s for s in slices if span.start <= s.start < span.end],
        shifts=shifts,
        rules={k: agency.rules[k] for k in keys},
        ids={k: agency.ids[k] for k in keys},
        fee_basis_points=FEE,
    )


# --- late rows -----------------------------------------------------------------------


def _late_rows(agency: Agency, url: str) -> tuple[list[dict[str, Any]], list[SliceRow]]:
    """For every sample chatter: two tips, a refund of an October sale and a half hour of
    slices, all dated in October, arriving after its approval through the real ingest."""
    rng = random.Random(61)
    arrived = NOW + dt.timedelta(hours=1)
    evs: list[dict[str, Any]] = []
    slices: list[SliceRow] = []
    span = local_range(OCTOBER.first, OCTOBER.last, TZ)
    october_sales = [
        e for e in agency.events
        if e["type"] == "tip"
        and span.start <= dt.datetime.fromisoformat(e["occurred_at"]) < span.end
    ]  # fmt: skip
    engine = create_engine(url)
    with Session(engine) as session:
        for n, i in enumerate(agency.sample):
            key, creator = f"chatter{i:03d}", f"creator{i % CREATORS}"
            day = OCTOBER.first + dt.timedelta(days=(7 * n + 3) % OCTOBER.days)
            # Twelve hours after the shift's start: the chatter has no slice there.
            rule = agency.shift_rules[i]
            begin = local_to_utc(day, rule.start_minute, rule.zone) + dt.timedelta(hours=12)
            for k in range(2):
                evs.append({"id": f"late-t{i}-{k}", "type": "tip", "creator": creator,
                            "occurred_at": format_time(begin + dt.timedelta(minutes=5 + k)),
                            "fan": f"fan{i}-late", "chatter": key,
                            "amount": _money(rng.randint(500, 9000))})  # fmt: skip
            mine = [e for e in october_sales if e.get("chatter") == key]
            if mine:
                sale = rng.choice(mine)
                evs.append({"id": f"late-r{i}", "type": "refund", "creator": creator,
                            "occurred_at": format_time(begin + dt.timedelta(minutes=9)),
                            "refers_to": sale["id"], "amount": "1.00"})  # fmt: skip
            device = i + 1
            beats = []
            for m in range(30):
                active = rng.choice((0, 30, 60))
                beats.append(
                    Heartbeat(
                        seq=agency.last_seq[device] + 1 + m,
                        start=begin + dt.timedelta(minutes=m),
                        duration=60,
                        active_seconds=active,
                        input_seconds=active,
                        keystrokes=0,
                        mouse_events=0,
                    )
                )
                slices.append(SliceRow(key, str(device), begin + dt.timedelta(minutes=m), 60,
                                       active))  # fmt: skip
            agency.last_seq[device] += 30
            caller = AgentCaller(
                device_id=device,
                device_uid=str(uuid.UUID(int=device)),
                chatter_id=device,
                seq_max=agency.last_seq[device] - 30,
                rotate_requested_at=None,
                retired_at=None,
                key_pk=0,
                key_created_at=NOW - dt.timedelta(days=120),
                newest_key=True,
                live_keys=1,
                signed_at=arrived,
            )
            batch = HeartbeatBatch(
                batch_id=f"late-{device}", sent_at=arrived, heartbeats=beats, slice_seconds=60
            )
            connection = session.connection()
            reply = heartbeats.store_batch(
                connection, caller, batch, agent_settings(connection, device), arrived
            )
            assert reply.accepted == 30, reply
            session.commit()
        evs.sort(key=lambda e: (e["occurred_at"], e["id"]))
        assert _ingest(session, evs, arrived) == len(evs)
    engine.dispose()
    return evs, slices


# --- the measures --------------------------------------------------------------------


def measure(url: str, agency: Agency, repeats: int, result: LaneResult) -> None:
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    manager = Caller("manager", None, "paybench")
    sample = agency.sample_ids()

    def call(period: PayPeriod) -> dict[str, Any]:
        with app.app_context():  # a fresh session, as each request has
            body = report.body(report.build(db.session, manager, period, NOW))
            json.dumps(body)
            return body

    def lines_of(period: PayPeriod) -> list[Line]:
        with app.app_context():
            session = db.session
            return ledger.lines_of(session, ledger.calendar(session), period)

    def mine(found: list[Line], own: PayPeriod | None = None, adjusted: bool = False) -> list[Line]:
        return [
            line for line in found
            if line.chatter_id in sample and (own is None or (line.origin != own) == adjusted)
        ]  # fmt: skip

    # The pay from the rollups equals the reference from raw rows, for the sample.
    october_before = mine(lines_of(OCTOBER))
    assert october_before == expected(agency, OCTOBER, agency.events, agency.slices), (
        "October's pay differs from the reference"
    )
    november = mine(lines_of(NOVEMBER))
    assert november == expected(agency, NOVEMBER, agency.events, agency.slices), (
        "November's pay differs from the reference"
    )
    result.checks.append("October and November (open) equal the reference")
    body = call(OCTOBER)
    result.dataset["october_total"] = body["totals"]["total"]
    result.dataset["october_lines"] = sum(len(c["lines"]) for c in body["chatters"])

    result.timings.append(Timing("payroll October (open)", timed(lambda: call(OCTOBER), repeats)))
    result.timings.append(Timing("payroll November (open)", timed(lambda: call(NOVEMBER), repeats)))

    with app.app_context():
        session = db.session
        t0 = time.perf_counter()
        ledger.approve(session, ledger.calendar(session), OCTOBER, actor="paybench", now=NOW)
        session.commit()
        result.approve_ms = (time.perf_counter() - t0) * 1000

    late_events, late_slices = _late_rows(agency, url)
    result.dataset["late_events"] = len(late_events)
    result.dataset["late_slices"] = len(late_slices)
    every_event = agency.events + late_events
    every_slice = agency.slices + late_slices

    # Locked: as approved, whatever arrived since.
    assert mine(lines_of(OCTOBER)) == october_before, "the locked October changed"
    result.checks.append("October locked: unchanged after late rows")
    found = lines_of(NOVEMBER)
    assert mine(found, NOVEMBER) == expected(agency, NOVEMBER, every_event, every_slice), (
        "November's own pay differs from the reference"
    )
    adjustments = sorted(mine(found, NOVEMBER, adjusted=True), key=reference.order)
    wanted = reference.changes(expected(agency, OCTOBER, every_event, every_slice), october_before)
    assert adjustments == wanted, "November's adjustments differ from the reference's change"
    assert adjustments, "the late rows made no adjustment"
    result.dataset["adjustment_lines"] = len([x for x in found if x.origin != NOVEMBER])
    result.checks.append(
        f"November's adjustments ({len(adjustments)} lines in the sample) equal "
        "reference(October, every row) - reference(October, rows before the approval)"
    )
    result.equal_chatters = len(sample)

    result.timings.append(
        Timing("payroll November (adjusted)", timed(lambda: call(NOVEMBER), repeats))
    )
    result.timings.append(Timing("payroll October (locked)", timed(lambda: call(OCTOBER), repeats)))
    with app.app_context():
        db.engine.dispose()


def run(lanes: Sequence[str], scale: float, repeats: int = REPEATS) -> list[LaneResult]:
    results = []
    for lane in lanes:
        if lane == "postgresql" and (why := pg_unreachable(pg_admin_url())):
            results.append(LaneResult(lane, scale, status="not run", reason=why))
            continue
        result = LaneResult(lane, scale)
        with lane_database(lane) as url:
            t0 = time.perf_counter()
            agency, result.dataset = build(url, scale)
            result.build_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            rebuild_rollups(url)
            result.rebuild_s = time.perf_counter() - t0
            measure(url, agency, repeats, result)
        result.load_average = os.getloadavg()
        results.append(result)
    return results


def missed(results: Sequence[LaneResult]) -> bool:
    return any(t.name in TARGETED and not t.meets(TARGET_MS) for r in results for t in r.timings)


def report_text(results: Sequence[LaneResult]) -> str:
    lines = [f"Payroll, target {TARGET_MS:.0f} ms for one month (every chatter, report + body)"]
    lines.append(f"  {'lane':<11} {'figure':<30} {'median':>10} {'p95':>10} {'target':>8}  pass")
    for r in results:
        if r.status != "ran":
            lines.append(f"  {r.lane:<11} {r.status}: {r.reason}")
            continue
        for t in r.timings:
            targeted = t.name in TARGETED
            lines.append(
                f"  {r.lane:<11} {t.name:<30} {t.median:7.1f} ms {t.p95:7.1f} ms "
                + (f"{TARGET_MS:5.0f} ms  {'PASS' if t.meets(TARGET_MS) else 'FAIL'}"
                   if targeted else f"{'':>8}  info")
            )  # fmt: skip
        lines.append(
            f"  {r.lane:<11} {'approve October (once)':<30} {r.approve_ms:7.1f} ms {'':>10} "
            f"{'':>8}  info"
        )
    for r in results:
        if r.status != "ran":
            continue
        d = r.dataset
        lines.append(
            f"[{r.lane}] scale {r.scale}: {d['chatters']} chatters x {d['days']} days, "
            f"{d['events']:,} events (stored in bulk), {d['slices']:,} slices (one per "
            f"{d['slice_every_minutes']} min online), {d['rate_changes']} with rate changes; "
            f"built in {r.build_s:.0f} s, facts and rollups rebuilt in {r.rebuild_s:.1f} s; "
            f"load average {r.load_average[0]:.2f} {r.load_average[1]:.2f} "
            f"{r.load_average[2]:.2f}"
        )
        lines.append(f"[{r.lane}] equals reference: yes ({r.equal_chatters} chatters)")
        lines += [f"[{r.lane}]   {check}" for check in r.checks]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lane", choices=LANES, action="append")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args(argv)
    results = run(args.lane or list(LANES), args.scale, args.repeats)
    print(report_text(results))
    return 1 if missed(results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
