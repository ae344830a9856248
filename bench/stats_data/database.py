"""The agency's database around the bulk load: schema check, people, deferred indexes, devices."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, insert, inspect, text, update

from bench.stats_data.agency import Agency
from bench.stats_data.counts import Counts
from bench.stats_data.parameters import FIRST_DAY, MANAGER_TOKEN, TZ_NAME
from collector.auth import credentials
from collector.db.models import (
    ApiToken,
    Chatter,
    Creator,
    Device,
    DeviceKey,
    Setting,
    chatter_creators,
)


def schema(engine: Engine) -> dict[str, Any]:
    """Everything that makes up the schema, to check the load left it as the migration made it."""
    insp = inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        out[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)
            ],
            "pk": insp.get_pk_constraint(table),
            "fks": sorted(insp.get_foreign_keys(table), key=lambda f: str(f["name"])),
            "indexes": sorted(insp.get_indexes(table), key=lambda i: str(i["name"])),
            "uniques": sorted(insp.get_unique_constraints(table), key=lambda u: str(u["name"])),
        }
    return dict(json.loads(json.dumps(out, default=str)))


def add_people(engine: Engine, agency: Agency) -> None:
    """Creators, chatters, assignments, devices (with dummy keys), settings, a manager token."""
    created = dt.datetime.combine(FIRST_DAY - dt.timedelta(days=30), dt.time(9), tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Creator),
            [
                {"id": c.id, "key": c.key, "name": c.name, "created_at": created}
                for c in agency.creators
            ],
        )
        conn.execute(
            insert(Chatter),
            [
                {"id": c.id, "key": c.key, "name": c.name, "created_at": created}
                for c in agency.chatters
            ],
        )
        conn.execute(
            insert(chatter_creators),
            [{"chatter_id": c.id, "creator_id": cr} for c in agency.chatters for cr in c.creators],
        )
        devices = [(d, c) for c in agency.chatters for d in c.devices]
        conn.execute(
            insert(Device),
            [
                {
                    "id": d,
                    "uid": _uuid(f"device/{d}"),
                    "chatter_id": c.id,
                    "hostname": f"{c.key}-pc{c.devices.index(d) + 1}",
                    "platform": ("Windows-11", "macOS-15", "Linux-6.8")[d % 3],
                    "agent_version": "0.1.0",
                    "enrolled_at": created,
                    "seq_max": 0,
                    "slices_received": 0,
                }
                for d, c in devices
            ],
        )
        conn.execute(
            insert(DeviceKey),
            [
                {
                    "key_id": f"key_bench{d:06d}",
                    "device_id": d,
                    "secret": hashlib.sha256(f"bench-secret/{d}".encode()).hexdigest(),
                    "created_at": created,
                }
                for d, _ in devices
            ],
        )
        conn.execute(
            insert(Setting),
            [
                {"name": "currency", "scope": "global", "value": "USD", "updated_at": created},
                {
                    "name": "agency_timezone",
                    "scope": "global",
                    "value": TZ_NAME,
                    "updated_at": created,
                },
            ],
        )
        conn.execute(
            insert(ApiToken),
            [
                {
                    "name": "bench manager",
                    "role": "manager",
                    "token_hash": credentials.token_hash(MANAGER_TOKEN),
                    "created_at": created,
                }
            ],
        )
        if engine.dialect.name == "postgresql":
            for table in ("creators", "chatters", "devices"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                conn.execute(text(f"SELECT setval({sequence}, max(id)) FROM {table}"))


def _uuid(name: str) -> str:
    h = hashlib.sha256(name.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def devices_seen(engine: Engine, counts: Counts) -> None:
    """What the collector would have noted on each device after the last batch."""
    with engine.begin() as conn:
        for device, seq in counts.devices_seq.items():
            last = counts.device_last.get(device)
            conn.execute(
                update(Device)
                .where(Device.id == device)
                .values(
                    seq_max=seq,
                    slices_received=seq,
                    last_seen_at=None if last is None else dt.datetime.fromtimestamp(last, dt.UTC),
                )
            )


@contextmanager
def checks_deferred(lane: str, engine: Engine) -> Iterator[None]:
    """Drop the plain indexes (and, on PostgreSQL, the foreign keys) of events and slices
    during the load; recreate them afterwards from their own DDL.

    Building an index once beats updating it row by row, and adding a foreign key checks
    all rows in one join instead of one trigger per row (as pg_restore does).  Unique
    constraints stay, so the load still checks them.
    """
    with engine.begin() as conn:
        deferred = _deferrable(lane, conn)
        for drop, _create in deferred:
            conn.execute(text(drop))
    yield
    t0 = time.monotonic()
    with engine.begin() as conn:
        if lane == "postgresql":
            conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
        for _drop, create in deferred:
            conn.execute(text(create))
    print(
        f"  {len(deferred)} indexes and foreign keys restored in {time.monotonic() - t0:.1f} s",
        flush=True,
    )


def _deferrable(lane: str, conn: Connection) -> list[tuple[str, str]]:
    """(drop, create) statements, indexes before foreign keys."""
    if lane == "sqlite":
        rows = conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name IN ('events', 'slices') AND sql IS NOT NULL ORDER BY name"
            )
        ).all()
        return [(f'DROP INDEX "{name}"', ddl) for name, ddl in rows]
    indexes = conn.execute(
        text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.tablename IN ('events', 'slices') AND i.schemaname = current_schema() "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) "
            "ORDER BY i.indexname"
        )
    ).all()
    foreign_keys = conn.execute(
        text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid::regclass::text IN ('events', 'slices') ORDER BY conname"
        )
    ).all()
    return [(f'DROP INDEX "{name}"', ddl) for name, ddl in indexes] + [
        (
            f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"',
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {ddl}',
        )
        for table, name, ddl in foreign_keys
    ]
