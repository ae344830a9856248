"""Attendance's stored fast path: minutes kept on ingest, spans cached on read.

See collector/db/schedule_models.py (AttendanceMinute, AttendanceSpan) and METRICS.md,
"How attendance is kept".  ``refresh`` runs in the ingest's transaction under the
chatter's activity lock; ``rebuild`` in the statistics rebuild's; ``span_sums`` fills
missing spans in a write transaction of its own under the same lock, so a span is never
stored from minutes an ingest has since changed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, cast

from sqlalchemy import Connection, Engine, Integer, Table, bindparam, delete, insert, select, text

from collector.attendance.definitions import Sums
from collector.db import locks, retention
from collector.db.base import UTCDateTime
from collector.db.buckets import epoch, from_epoch, runs
from collector.db.engine import write_transaction
from collector.db.schedule_models import AttendanceMinute, AttendanceSpan
from collector.db.upsert import insert_ignoring_conflicts

M = cast(Table, AttendanceMinute.__table__)
SP = cast(Table, AttendanceSpan.__table__)
MINUTE = 60
_CHUNK = 5_000
_FILL_CHATTERS = 10

# One row per slot (a chatter's slices of one start): the maxima over devices, as the
# activity rollups take them (METRICS.md, "Activity").
_SLOTS = """
    SELECT chatter_id AS chatter_id, start AS start, max(slice_seconds) AS length,
           max(duration - paused_seconds) AS online, max(active_seconds) AS active,
           max(paused_seconds) AS paused
    FROM slices WHERE {where} GROUP BY chatter_id, start ORDER BY chatter_id, start
"""
_SLOTS_OF = (
    text(_SLOTS.format(where="chatter_id = :chatter AND start >= :lo AND start < :hi"))
    .bindparams(bindparam("lo", type_=UTCDateTime()), bindparam("hi", type_=UTCDateTime()))
    .columns(chatter_id=Integer, start=UTCDateTime)
)
_SLOTS_SINCE = (
    text(_SLOTS.format(where="start >= :since"))
    .bindparams(bindparam("since", type_=UTCDateTime()))
    .columns(chatter_id=Integer, start=UTCDateTime)
)


def _minute_rows(slots: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Slots (chatter, start, length, online, active, paused), in order, as minute rows."""
    row: dict[str, Any] | None = None
    for chatter, start, length, online, active, paused in slots:
        second = epoch(start)
        minute = second - second % MINUTE
        if row is None or row["chatter_id"] != chatter or row["minute"] != minute:
            if row is not None:
                yield row
            row = {
                "chatter_id": chatter,
                "minute": minute,
                "online": 0,
                "active": 0,
                "paused": 0,
                "first_active": None,
                "active_until": None,
            }
        row["online"] += int(online)
        row["active"] += int(active)
        row["paused"] += int(paused)
        if active > 0:
            offset = second - minute
            if row["first_active"] is None or offset < row["first_active"]:
                row["first_active"] = offset
            until = offset + int(length)
            if row["active_until"] is None or until > row["active_until"]:
                row["active_until"] = until
    if row is not None:
        yield row


def refresh(connection: Connection, chatter_id: int, starts: Iterable[dt.datetime]) -> None:
    """Recompute the chatter's minutes holding these slice starts, and forget the cached
    spans they fall in.  Called by the ingest after it stored slices."""
    minutes = sorted({epoch(s) - epoch(s) % MINUTE for s in starts})
    if not minutes:
        return
    for lo, hi, _members in runs(minutes, MINUTE):
        slots = connection.execute(
            _SLOTS_OF, {"chatter": chatter_id, "lo": from_epoch(lo), "hi": from_epoch(hi)}
        ).all()
        connection.execute(
            delete(M).where(M.c.chatter_id == chatter_id, M.c.minute >= lo, M.c.minute < hi)
        )
        rows = list(_minute_rows(slots))
        if rows:
            connection.execute(insert(M), rows)
    # A span holds a minute when it starts before the minute's end and ends after its start.
    connection.execute(
        delete(SP).where(
            SP.c.chatter_id == chatter_id,
            SP.c.starts < minutes[-1] + MINUTE,
            SP.c.ends > minutes[0],
        )
    )


def rebuild(connection: Connection) -> None:
    """Every minute from the slices still kept (before the purge watermark the minutes
    stay as they are: their slices are gone), and no cached span."""
    since = retention.watermarks(connection).slices_epoch() or 0
    connection.execute(delete(M).where(M.c.minute >= since))
    connection.execute(delete(SP))
    result = connection.execute(
        _SLOTS_SINCE,
        {"since": from_epoch(since)},
        execution_options={"stream_results": True, "yield_per": _CHUNK},
    )
    batch: list[dict[str, Any]] = []
    for row in _minute_rows(result):
        batch.append(row)
        if len(batch) >= _CHUNK:
            connection.execute(insert(M), batch)
            batch = []
    if batch:
        connection.execute(insert(M), batch)


def erase(connection: Connection, chatter_id: int) -> int:
    """Delete the chatter's minutes and spans (an erasure, collector/retention/privacy.py);
    how many rows went."""
    minutes = connection.execute(delete(M).where(M.c.chatter_id == chatter_id)).rowcount
    spans = connection.execute(delete(SP).where(SP.c.chatter_id == chatter_id)).rowcount
    return int(minutes) + int(spans)


Span = tuple[int, int, int]  # chatter, starts, ends (epoch seconds)


_EMPTY = Sums()


def span_sums(connection: Connection, wanted: Iterable[Span]) -> dict[Span, Sums]:
    """The sums of each wanted span: cached ones read, the others computed from the minutes
    and stored (in a write transaction of their own, see the module's docstring)."""
    # Per span the least Python work that will do: the warm view reads every cached span
    # of the range (54,000 for 200 chatters over 90 days), so each set, tuple and object
    # made per row counts.
    keys = {s for s in wanted if s[2] > s[1]}
    found: dict[Span, Sums] = {}
    if not keys:
        return found
    lo = min(s[1] for s in keys)
    hi = max(s[2] for s in keys)
    chatters = sorted({s[0] for s in keys})
    for i in range(0, len(chatters), 500):
        query = select(SP).where(
            SP.c.chatter_id.in_(chatters[i : i + 500]), SP.c.starts >= lo, SP.c.ends <= hi
        )
        for c, a, b, online, active, paused, first, last in connection.execute(query).all():
            if (key := (c, a, b)) in keys:
                found[key] = Sums(online, active, paused, first, last)
    missing: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for c, a, b in sorted(keys.difference(found)):
        missing[c].append((a, b))
    for chatter, computed in _fill(connection.engine, missing).items():
        for (a, b), sums in computed.items():
            found[(chatter, a, b)] = sums
    for key in keys.difference(found):
        found[key] = _EMPTY
    return found


# The wanted spans go to a temporary table and the database adds up their minutes: one
# range scan of the (chatter_id, minute) key per span, in C, instead of every minute row
# through Python (90 days of 200 chatters are millions of rows).
_WANTED = "attendance_wanted"
_ADD_UP = text(
    f"""
    SELECT w.chatter_id, w.starts, w.ends, COALESCE(SUM(m.online), 0),
           COALESCE(SUM(m.active), 0), COALESCE(SUM(m.paused), 0),
           MIN(m.minute + m.first_active), MAX(m.minute + m.active_until)
    FROM {_WANTED} w LEFT JOIN attendance_minutes m
      ON m.chatter_id = w.chatter_id AND m.minute >= w.starts AND m.minute < w.ends
    GROUP BY w.chatter_id, w.starts, w.ends
    """
)


def _fill(
    engine: Engine, missing: Mapping[int, list[tuple[int, int]]]
) -> dict[int, dict[tuple[int, int], Sums]]:
    out: dict[int, dict[tuple[int, int], Sums]] = defaultdict(dict)
    if not missing:
        return out
    # A few chatters per transaction: their ingests wait for the activity lock only that long.
    chatters = sorted(missing)
    with engine.connect() as connection:
        for i in range(0, len(chatters), _FILL_CHATTERS):
            some = chatters[i : i + _FILL_CHATTERS]
            with write_transaction(connection):
                for chatter in some:
                    locks.serialise(connection, locks.ACTIVITY, chatter)
                rows = []
                for chatter, a, b, online, active, paused, first, last in add_up(
                    connection, {c: missing[c] for c in some}
                ):
                    s = Sums(int(online), int(active), int(paused), first, last)
                    out[chatter][(a, b)] = s
                    rows.append(
                        {
                            "chatter_id": chatter,
                            "starts": a,
                            "ends": b,
                            "online": s.online,
                            "active": s.active,
                            "paused": s.paused,
                            "first_active": first,
                            "last_active": last,
                        }
                    )
                for j in range(0, len(rows), _CHUNK):
                    insert_ignoring_conflicts(
                        connection,
                        AttendanceSpan,
                        rows[j : j + _CHUNK],
                        ("chatter_id", "starts", "ends"),
                        "chatter_id",
                    )
    return out


def add_up(connection: Connection, spans: Mapping[int, Iterable[tuple[int, int]]]) -> list[Any]:
    """(chatter, starts, ends, online, active, paused, first active, last active) of each
    span, from the minutes (spans start and end on minutes)."""
    postgres = connection.dialect.name == "postgresql"
    # Keyed and filled in key order: SQLite then reads the wanted spans in the GROUP BY's
    # order and adds up each as it goes, instead of sorting every joined minute row in a
    # temporary B-tree first (three times slower on the bench's data).
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {_WANTED} (chatter_id INTEGER, starts BIGINT, ends BIGINT, "
        "PRIMARY KEY (chatter_id, starts, ends))"
        + (" ON COMMIT DROP" if postgres else " WITHOUT ROWID")
    )
    try:
        wanted = [{"c": c, "a": a, "b": b} for c in sorted(spans) for a, b in sorted(set(spans[c]))]
        for i in range(0, len(wanted), _CHUNK):
            connection.execute(
                text(f"INSERT INTO {_WANTED} VALUES (:c, :a, :b)"), wanted[i : i + _CHUNK]
            )
        return list(connection.execute(_ADD_UP))
    finally:
        if not postgres:
            connection.exec_driver_sql(f"DROP TABLE {_WANTED}")
