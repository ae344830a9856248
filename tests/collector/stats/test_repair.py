"""Databases that already hold overlapping slices of one chatter are repaired and told so.

Overlapping rows are inserted directly, as a database from before the collector refused
them holds them; ``stats rebuild`` (and ``db upgrade`` from an older revision) keeps the
first-stored slice of each second of a chatter (and later slices of the same start and
length, from its other devices), removes the rest, reports them, audits the run, and the
statistics then equal the reference computation over the kept slices.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from alembic import command
from sqlalchemy import column, create_engine, insert, select, table

from collector.db import migrate
from collector.db.base import UTCDateTime
from collector.db.engine import configure_engine
from collector.db.models import AuditEntry, Device, Slice
from collector.stats import present
from collector.stats.metrics import ChatterMetrics, SliceRow, compute
from collector.stats.periods import period
from shared.protocol import format_time
from tests.collector.conftest import Collector

DAY = dt.date(2026, 11, 20)
M = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def at(seconds: int) -> dt.datetime:
    return M + dt.timedelta(seconds=seconds)


def _row(
    device: int, chatter: int, start: dt.datetime, seconds: int, **values: int
) -> dict[str, Any]:
    duration = values.get("duration", seconds)
    return {
        "device_id": device,
        "chatter_id": chatter,
        "start": start,
        "slice_seconds": seconds,
        "duration": duration,
        "active_seconds": values.get("active", duration),
        "input_seconds": 0,
        "paused_seconds": values.get("paused", 0),
        "keystrokes": values.get("keys", 1),
        "mouse_events": 0,
        "seq": 1,
        "batch_id": "old",
        "received_at": M,
    }


def _devices(agency: Collector) -> list[tuple[int, int, str]]:
    """Two devices of alice and one of bob: (device id, chatter id, public id)."""
    for chatter in ("alice", "alice", "bob"):
        agency.enroll(chatter)
    engine = create_engine(agency.database_url)
    with engine.connect() as conn:
        found = conn.execute(select(Device.id, Device.chatter_id, Device.uid).order_by(Device.id))
        devices = [tuple(r) for r in found]
    engine.dispose()
    return devices  # type: ignore[return-value]


def _overlapping(devices: list[tuple[int, int, str]]) -> list[dict[str, Any]]:
    """In storage order (ids ascending): what an old database could hold."""
    (a, alice, _), (b, alice_b, _), (c, bob, _) = devices
    rows = [_row(a, alice, M, 60, keys=10)]  # the minute: 60 s, then 59 x 1 s
    rows += [_row(a, alice, at(s), 1, keys=2) for s in range(1, 60)]
    rows.append(_row(a, alice, at(60), 1))  # after the minute: kept
    # Stored first: two seconds; the later 60 s slice over them goes, a 30 s half stays.
    rows += [_row(a, alice, at(130), 1), _row(a, alice, at(131), 1)]
    rows.append(_row(a, alice, at(120), 60, keys=50))
    rows.append(_row(a, alice, at(150), 30, duration=20, paused=5))
    # Every length over one minute (each start once, as the unique key allows): the 20 s
    # slices stored first stay, everything that overlaps them goes.
    used: set[int] = set()
    for seconds in (20, 60, 30, 15, 10, 5, 1):
        for s in range(240, 300, seconds):
            if s not in used:
                used.add(s)
                rows.append(_row(a, alice, at(s), seconds))
    # Another device of alice: the same slot as a's first minute stays; a 60 s slice over
    # a's 1 s slice stored before it goes.  Bob's slices over the same time: untouched.
    rows += [_row(b, alice_b, M, 60), _row(b, alice_b, at(60), 60)]
    rows += [_row(c, bob, at(s), 30) for s in range(0, 300, 30)]
    return rows


def _insert(url: str, rows: list[dict[str, Any]]) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for row in rows:  # one by one: ids follow the storage order
            conn.execute(insert(Slice), row)
    engine.dispose()


def _kept(url: str) -> list[tuple[int, dt.datetime, int]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Slice.device_id, Slice.start, Slice.slice_seconds).order_by(
                Slice.device_id, Slice.start
            )
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _expected_kept(devices: list[tuple[int, int, str]]) -> list[tuple[int, dt.datetime, int]]:
    (a, _, _), (b, _, _), (c, _, _) = devices
    mine = [(a, M, 60), (a, at(60), 1), (a, at(130), 1), (a, at(131), 1), (a, at(150), 30)]
    mine += [(a, at(240 + s), 20) for s in (0, 20, 40)]
    return sorted(mine + [(b, M, 60)] + [(c, at(s), 30) for s in range(0, 300, 30)])


def _audits(url: str) -> list[tuple[str, str, dict[str, Any]]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.action == "rebuild_stats")
            .order_by(AuditEntry.id)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _check_stats(agency: Collector, devices: list[tuple[int, int, str]]) -> None:
    """The views equal collector/stats/metrics.py over the slices that stayed."""
    names = {devices[0][1]: "alice", devices[2][1]: "bob"}
    engine = create_engine(agency.database_url)
    with engine.connect() as conn:
        slices = [
            SliceRow(names[chatter], str(device), start, *values)
            for chatter, device, start, *values in conn.execute(
                select(
                    Slice.chatter_id,
                    Slice.device_id,
                    Slice.start,
                    Slice.duration,
                    Slice.active_seconds,
                    Slice.paused_seconds,
                    Slice.keystrokes,
                    Slice.mouse_events,
                )
            )
        ]
    engine.dispose()
    expected = compute([], slices, period(DAY, DAY, "UTC"))
    token = agency.token("manager")
    params = {"start": str(DAY), "end": str(DAY), "tz": "UTC", "compare": "false"}
    rows = agency.http.get(
        "/api/v1/stats/chatters", params=params, headers={"Authorization": f"Bearer {token}"}
    ).json()["chatters"]
    got = {r["key"]: r for r in rows}
    for key in ("alice", "bob"):
        want = present.metric_fields(expected.get(key, ChatterMetrics()), 2)
        for name in ("online_seconds", "active_seconds", "paused_seconds", "keystrokes"):
            assert got[key][name] == want[name], (key, name)
    # Per start the most of alice's two devices: the minute counts 60 s (not 119),
    # the next one 1 s (b's 60 s slice over it went), then 1 + 1, 20 - 5 paused, 3 x 20 s.
    assert expected["alice"].online_seconds == 60 + 1 + 1 + 1 + 15 + 60


def test_stats_rebuild_removes_overlaps_and_reports_them(
    agency: Collector, database_url: str
) -> None:
    devices = _devices(agency)
    _insert(database_url, _overlapping(devices))
    out = agency.cli("stats", "rebuild").output
    # The minute's 1 s slices, the 60 s over two seconds, then 30/15/10/5/1 s beside 20 s.
    dropped = 59 + 1 + (1 + 2 + 2 + 4 + 48) + 1  # the last: device b's 60 s slice
    assert f"overlapping slices removed: {dropped}" in out
    uid = devices[0][2]
    assert (
        f"device {uid}: {format_time(at(1))} (1 s) overlapped {format_time(M)} (60 s), stored first"
    ) in out
    assert f"... and {dropped - 20} more" in out and "statistics rebuilt" in out
    assert _kept(database_url) == _expected_kept(devices)
    [(actor, _, detail)] = _audits(database_url)
    assert actor.startswith("cli") and detail["dropped_slices"] == dropped
    assert len(detail["dropped"]) == 20
    assert detail["dropped"][0] == {
        "device": uid,
        "start": format_time(at(1)),
        "seconds": 1,
        "kept_start": format_time(M),
        "kept_seconds": 60,
        "kept_device": uid,
    }
    _check_stats(agency, devices)
    # A second run finds nothing more, and says so.
    assert "overlapping slices removed: none" in agency.cli("stats", "rebuild").output
    assert [d["dropped_slices"] for _, _, d in _audits(database_url)] == [dropped, 0]


def test_stats_rebuild_repairs_overlaps_across_a_chatters_devices(
    agency: Collector, database_url: str
) -> None:
    """The attacker's case stored by an older collector: device a's 60 s slice and
    device b's sixty 1 s slices of one minute (119 s online); and the other way round."""
    devices = _devices(agency)
    (a, alice, uid_a), (b, _, uid_b), _ = devices
    rows = [_row(a, alice, M, 60)] + [_row(b, alice, at(s), 1) for s in range(60)]
    rows += [_row(b, alice, at(120 + s), 1) for s in range(60)] + [_row(a, alice, at(120), 60)]
    rows += [_row(a, alice, at(240), 60), _row(b, alice, at(240), 60)]  # one slot: both stay
    _insert(database_url, rows)
    out = agency.cli("stats", "rebuild").output
    assert "overlapping slices removed: 61" in out
    assert (
        f"device {uid_b}: {format_time(M)} (1 s) overlapped {format_time(M)} (60 s) "
        f"of device {uid_a}, stored first"
    ) in out
    kept = [(a, M, 60), (a, at(240), 60), (b, at(240), 60)]
    assert _kept(database_url) == sorted(kept + [(b, at(120 + s), 1) for s in range(60)])
    [(_, _, detail)] = _audits(database_url)
    assert detail["dropped_slices"] == 61
    assert {"device": uid_a, "kept_device": uid_b, "start": format_time(at(120))}.items() <= {
        d["device"]: d for d in detail["dropped"]
    }[uid_a].items()
    token = agency.token("manager")
    params = {"start": str(DAY), "end": str(DAY), "tz": "UTC", "compare": "false"}
    rows_out = agency.http.get(
        "/api/v1/stats/chatters", params=params, headers={"Authorization": f"Bearer {token}"}
    ).json()["chatters"]
    alice_row = next(r for r in rows_out if r["key"] == "alice")
    assert (alice_row["online_seconds"], alice_row["active_seconds"]) == (180, 180)


def test_db_upgrade_repairs_a_database_from_before_slice_lengths(
    agency: Collector, database_url: str
) -> None:
    devices = _devices(agency)
    engine = create_engine(database_url)
    configure_engine(engine)
    with engine.begin() as conn:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    (a, alice, _), _, _ = devices
    legacy = [  # (start, duration) as 0006 stored them, without a length
        (M, 60),
        *((at(s), 1) for s in range(1, 60)),
        (at(120), 30),  # 60 s slice half used: taken as 30 s
        (at(150), 1),  # outside [120, 150): kept
        (at(192), 7),  # :12 holds 7 s at 12 s, not 10
    ]
    # The table as 0006 made it: no slice length.
    old = table(
        "slices",
        *(column(n) for n in ("device_id", "chatter_id", "duration", "active_seconds")),
        *(column(n) for n in ("input_seconds", "paused_seconds", "keystrokes", "mouse_events")),
        *(column(n) for n in ("seq", "batch_id")),
        column("start", UTCDateTime()),
        column("received_at", UTCDateTime()),
    )
    with engine.begin() as conn:
        for start, duration in legacy:
            conn.execute(
                insert(old).values(
                    device_id=a,
                    chatter_id=alice,
                    start=start,
                    duration=duration,
                    active_seconds=duration,
                    input_seconds=0,
                    paused_seconds=0,
                    keystrokes=1,
                    mouse_events=0,
                    seq=1,
                    batch_id="old",
                    received_at=start,
                )
            )
    engine.dispose()
    out = agency.cli("db", "upgrade").output
    assert "overlapping slices removed: 59" in out and f"revision {migrate.head()}" in out
    assert _kept(database_url) == [(a, M, 60), (a, at(120), 30), (a, at(150), 1), (a, at(192), 12)]
    [(actor, _, detail)] = _audits(database_url)
    assert actor == "system" and detail["dropped_slices"] == 59
    # Upgrading again is a no-op: no rebuild, no entry.
    assert "removed" not in agency.cli("db", "upgrade").output
    assert len(_audits(database_url)) == 1
