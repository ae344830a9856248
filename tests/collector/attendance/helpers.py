"""Shared by the attendance tests: shifts and rules inserted as rows (the shift pages are
another part's), slices stored as the ingest stores them, both paths run side by side."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from collector.attendance import queries, store
from collector.attendance.compute import Result
from collector.attendance.definitions import Coverage, local_days
from collector.attendance.reference import reference_attendance, reference_coverage
from collector.db.models import Chatter, Creator, Device, Slice
from collector.db.schedule_models import (
    AttendanceHour,
    AttendanceMinute,
    AttendanceSpan,
    AttendanceVersion,
    CoverageRule,
    Shift,
    ShiftException,
)
from collector.stats import rollups

NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def ids(connection: Connection) -> tuple[dict[str, int], dict[str, int], dict[str, list[int]]]:
    chatters = {k: i for i, k in connection.execute(select(Chatter.id, Chatter.key))}
    creators = {k: i for i, k in connection.execute(select(Creator.id, Creator.key))}
    devices: dict[str, list[int]] = {k: [] for k in chatters}
    for device, chatter in connection.execute(
        select(Device.id, Device.chatter_id).order_by(Device.id)
    ):
        key = next(k for k, v in chatters.items() if v == chatter)
        devices[key].append(device)
    return chatters, creators, devices


def clear(connection: Connection) -> None:
    for table in (
        AttendanceVersion,
        AttendanceSpan,
        AttendanceHour,
        AttendanceMinute,
        ShiftException,
        Shift,
        CoverageRule,
        Slice,
    ):
        connection.execute(delete(table))
    connection.exec_driver_sql("DELETE FROM activity_quarters")
    connection.exec_driver_sql("DELETE FROM activity_days")


def add_shift(connection: Connection, **values: Any) -> int:
    values.setdefault("last_day", None)
    values.setdefault("note", "")
    values.setdefault("created_at", NOW)
    values.setdefault("updated_at", NOW)
    return int(connection.execute(insert(Shift).returning(Shift.id), values).scalar_one())


def add_rule(connection: Connection, **values: Any) -> None:
    values.setdefault("created_at", NOW)
    values.setdefault("updated_at", NOW)
    connection.execute(insert(CoverageRule), values)


def add_exception(connection: Connection, **values: Any) -> None:
    values.setdefault("created_at", NOW)
    values.setdefault("note", "")
    values.setdefault("replacement_chatter_id", None)
    connection.execute(insert(ShiftException), values)


_SEQ = [0]


def store_slices(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert slices and refresh what the ingest refreshes (activity, attendance)."""
    if not rows:
        return
    full = []
    for r in rows:
        _SEQ[0] += 1
        full.append(
            {
                "input_seconds": 0,
                "keystrokes": 0,
                "mouse_events": 0,
                "seq": _SEQ[0],
                "batch_id": "test",
                "received_at": NOW,
                **r,
            }
        )
    connection.execute(insert(Slice), full)
    by_chatter: dict[int, list[dt.datetime]] = {}
    for r in rows:
        by_chatter.setdefault(r["chatter_id"], []).append(r["start"])
    for chatter, starts in by_chatter.items():
        rollups.refresh_activity(connection, chatter, starts)
        store.refresh(connection, chatter, starts)


def both(
    session: Session,
    first: dt.date,
    last: dt.date,
    tz: str,
    chatters: Iterable[int],
    *,
    grace: int = 300,
    now: dt.datetime = NOW,
    exclude_regular: bool = False,
) -> tuple[Result, Result]:
    zone = zoneinfo.ZoneInfo(tz)
    days = local_days(first, last, zone)
    lo = dt.datetime.fromtimestamp(days[0][1], dt.UTC)
    hi = dt.datetime.fromtimestamp(days[-1][2], dt.UTC)
    shifts = queries.shifts_around(session, lo, hi)
    wanted = set(chatters)
    fast = queries.fast_attendance(
        session,
        first,
        last,
        zone,
        wanted,
        shifts,
        grace=grace,
        now=int(now.timestamp()),
        exclude_regular=exclude_regular,
    )
    ref = reference_attendance(
        session.connection(),
        first,
        last,
        zone,
        wanted,
        shifts,
        grace=grace,
        now=int(now.timestamp()),
        exclude_regular=exclude_regular,
    )
    return fast, ref


def both_coverage(
    session: Session,
    first: dt.date,
    last: dt.date,
    tz: str,
    creators: Iterable[int],
    *,
    now: dt.datetime = NOW,
) -> tuple[Coverage, Coverage]:
    zone = zoneinfo.ZoneInfo(tz)
    days = local_days(first, last, zone)
    lo = dt.datetime.fromtimestamp(days[0][1], dt.UTC)
    hi = dt.datetime.fromtimestamp(days[-1][2], dt.UTC)
    shifts = queries.shifts_around(session, lo, hi)
    wanted = sorted(creators)
    at = int(now.timestamp())
    fast = queries.fast_coverage(session, lo, hi, zone, wanted, shifts, now=at)
    ref = reference_coverage(
        session.connection(),
        days[0][1],
        days[-1][2],
        zone,
        wanted,
        queries.needs(session, wanted),
        shifts,
        queries.links(session),
        now=at,
    )
    return fast, ref
