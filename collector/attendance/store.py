"""Attendance's stored fast path: minutes and hours kept on ingest, spans cached on read
(in the database, and in the serving process under the chatter's version).

See collector/db/schedule_models.py (AttendanceMinute, AttendanceHour, AttendanceSpan,
AttendanceVersion) and METRICS.md, "How attendance is kept".  ``refresh`` runs in the
ingest's transaction under the chatter's activity lock; ``rebuild`` in the statistics
rebuild's; ``span_sums`` fills missing spans in a write transaction of its own under the
same lock, so a span is never stored from minutes an ingest has since changed.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from itertools import groupby
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    NullPool,
    Table,
    bindparam,
    create_engine,
    delete,
    insert,
    select,
    text,
)

from collector.attendance.definitions import Sums
from collector.db import locks, retention
from collector.db.base import UTCDateTime
from collector.db.buckets import epoch, from_epoch, runs
from collector.db.direct import Fixed
from collector.db.engine import configure_engine, database_file, write_transaction
from collector.db.schedule_models import (
    AttendanceHour,
    AttendanceMinute,
    AttendanceSpan,
    AttendanceVersion,
)
from collector.db.upsert import insert_ignoring_conflicts

M = cast(Table, AttendanceMinute.__table__)
SP = cast(Table, AttendanceSpan.__table__)
H = cast(Table, AttendanceHour.__table__)
V = cast(Table, AttendanceVersion.__table__)
MINUTE = 60
HOUR = 3600
_CHUNK = 5_000
_FILL_CHATTERS = 10

# One row per slot (a chatter's slices of one start): the maxima over devices, as the
# activity rollups take them (METRICS.md, "Activity").
_SLOTS = """
    SELECT chatter_id AS chatter_id, start AS start, max(slice_seconds) AS length,
           max(duration - paused_seconds) AS online, max(active_seconds) AS active,
           max(paused_seconds) AS paused,
           coalesce(max(CASE WHEN regular THEN NULL ELSE active_seconds END), 0) AS human
    FROM slices WHERE {where} GROUP BY chatter_id, start ORDER BY chatter_id, start
"""
_SLOTS_OF = Fixed(
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
    """Slots (chatter, start, length, online, active, paused, human), in order, as minute
    rows."""
    row: dict[str, Any] | None = None
    for chatter, start, length, online, active, paused, human in slots:
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
                "human": 0,
                "first_human": None,
                "human_until": None,
            }
        row["online"] += int(online)
        row["active"] += int(active)
        row["paused"] += int(paused)
        row["human"] += int(human)
        offset = second - minute
        until = offset + int(length)
        for seconds, first, last in (
            (active, "first_active", "active_until"),
            (human, "first_human", "human_until"),
        ):
            if seconds > 0:
                if row[first] is None or offset < row[first]:
                    row[first] = offset
                if row[last] is None or until > row[last]:
                    row[last] = until
    if row is not None:
        yield row


# The ingest's statements, built once: building one per call cost more than running it
# (a 1-slice heartbeat runs each once; profile in issue 17's note).
_MINUTE_VALUES = (
    "online",
    "active",
    "paused",
    "first_active",
    "active_until",
    "human",
    "first_human",
    "human_until",
)
_UPSERT_MINUTES = Fixed(
    text(
        f"INSERT INTO attendance_minutes (chatter_id, minute, {', '.join(_MINUTE_VALUES)}) "
        f"VALUES (:chatter_id, :minute, {', '.join(':' + c for c in _MINUTE_VALUES)}) "
        "ON CONFLICT (chatter_id, minute) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in _MINUTE_VALUES)
    )
)
# A span holds a minute when it starts before the minute's end and ends after its start.
_FORGET_SPANS = Fixed(
    delete(SP).where(
        SP.c.chatter_id == bindparam("chatter"),
        SP.c.starts < bindparam("before"),
        SP.c.ends > bindparam("after"),
    )
)


def refresh(connection: Connection, chatter_id: int, starts: Iterable[dt.datetime | int]) -> None:
    """Recompute the chatter's minutes (and hours) holding these slice starts (datetimes,
    or epoch seconds), and forget the cached spans they fall in.  Called by the ingest
    after it stored slices, with the starts whose regular flag changed too."""
    seconds = [s if isinstance(s, int) else epoch(s) for s in starts]
    minutes = sorted({s - s % MINUTE for s in seconds})
    if not minutes:
        return
    for lo, hi, _members in runs(minutes, MINUTE):
        slots = _SLOTS_OF.rows(
            connection, {"chatter": chatter_id, "lo": from_epoch(lo), "hi": from_epoch(hi)}
        )
        # Every minute of the run holds a slice (new or re-flagged), so each gets a row:
        # written over in place, no delete first.
        rows = list(_minute_rows(slots))
        if rows:
            _UPSERT_MINUTES.run_many(connection, rows)
    for lo, hi, _members in runs({m - m % HOUR for m in minutes}, HOUR):
        _UPSERT_HOURS.run(connection, {"chatter": chatter_id, "lo": lo, "hi": hi})
    _new_version(connection, chatter_id)
    _FORGET_SPANS.run(
        connection, {"chatter": chatter_id, "before": minutes[-1] + MINUTE, "after": minutes[0]}
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
    add_up_hours(connection, since - since % HOUR)
    connection.execute(delete(V))
    connection.execute(
        text("INSERT INTO attendance_versions (chatter_id, version) SELECT id, :v FROM chatters"),
        {"v": secrets.randbits(62)},
    )


# An hour's row from its minutes (first and last active moments as epoch seconds).
_HOURS = """
    INSERT INTO attendance_hours (chatter_id, hour, online, active, paused, first_active,
        last_active, human, first_human, last_human)
    SELECT chatter_id, minute - minute % 3600, sum(online), sum(active), sum(paused),
           min(minute + first_active), max(minute + active_until), sum(human),
           min(minute + first_human), max(minute + human_until)
    FROM attendance_minutes WHERE {where} GROUP BY 1, 2
"""
# The ingest's hours: each hour of its runs has minutes, so each gets a row, written over
# in place.
_UPSERT_HOURS = Fixed(
    text(
        _HOURS.format(where="chatter_id = :chatter AND minute >= :lo AND minute < :hi")
        + "ON CONFLICT (chatter_id, hour) DO UPDATE SET "
        + ", ".join(
            f"{c} = excluded.{c}"
            for c in (
                "online",
                "active",
                "paused",
                "first_active",
                "last_active",
                "human",
                "first_human",
                "last_human",
            )
        )
    )
)
_HOURS_SINCE = text(_HOURS.format(where="minute >= :lo"))


def add_up_hours(connection: Connection, lo: int) -> None:
    """Recompute every chatter's hours from ``lo`` (a whole hour) on from their minutes."""
    connection.execute(delete(H).where(H.c.hour >= lo))
    connection.execute(_HOURS_SINCE, {"lo": lo})


def erase(connection: Connection, chatter_id: int) -> int:
    """Delete the chatter's minutes, hours and spans (an erasure, collector/retention/privacy.py);
    how many rows went."""
    minutes = connection.execute(delete(M).where(M.c.chatter_id == chatter_id)).rowcount
    hours = connection.execute(delete(H).where(H.c.chatter_id == chatter_id)).rowcount
    spans = connection.execute(delete(SP).where(SP.c.chatter_id == chatter_id)).rowcount
    connection.execute(delete(V).where(V.c.chatter_id == chatter_id))
    return int(minutes) + int(hours) + int(spans)


_NEW_VERSION = Fixed(
    text(
        "INSERT INTO attendance_versions (chatter_id, version) VALUES (:c, :v) "
        "ON CONFLICT (chatter_id) DO UPDATE SET version = excluded.version"
    )
)


def _new_version(connection: Connection, chatter_id: int) -> None:
    """The chatter's minutes change: what a process kept of their spans is no longer used.
    Random, so a database made again under the same address never repeats one."""
    _NEW_VERSION.run(connection, {"c": chatter_id, "v": secrets.randbits(62)})


# What this process read of each chatter's spans, under the version it read before them:
# (database, chatter, without regular input) -> (version, span -> sums).  The version is
# read first, so what is kept is at least as new as it; a new version (another process's
# ingest, a rebuild) makes the process read the database again.
_KEPT: dict[tuple[str, int, bool], tuple[int, dict[Span, Sums]]] = {}
_KEPT_LOCK = threading.Lock()
_KEPT_SPANS = 20_000  # per chatter: beyond, start again (a year of shifts and days)


Span = tuple[int, int, int]  # chatter, starts, ends (epoch seconds)


# A span's columns as Sums, active time with regular input (False) or without it (True).
_READ = {
    False: "online, active, paused, first_active, last_active",
    True: "online, human, paused, first_human, last_human",
}


def span_sums(
    connection: Connection, wanted: Iterable[Span], *, exclude_regular: bool = False
) -> dict[Span, Sums]:
    """The sums of each wanted span: cached ones read, the others computed from the minutes
    and hours and stored (in a write transaction of their own, see the module's
    docstring).  ``exclude_regular``: active time without regular input (the setting
    exclude_regular_input)."""
    # Per span the least Python work that will do: the warm view reads every span of the
    # range (43,000 for 200 chatters over 90 days), so each object made per span counts.
    # The view asks for each chatter's spans together (compute.Plan.of).
    by_chatter: dict[int, list[Span]] = {}
    for chatter, group in groupby(wanted, itemgetter(0)):
        if (mine := by_chatter.get(chatter)) is None:
            by_chatter[chatter] = list(group)
        else:
            mine += group
    found: dict[Span, Sums] = {}
    if not by_chatter:
        return found
    database = database_of(connection)
    versions = _versions(connection, sorted(by_chatter))
    unread: list[Span] = []
    for chatter, mine in by_chatter.items():
        kept = _KEPT.get((database, chatter, exclude_regular))
        version = versions.get(chatter)
        if kept is not None and version is not None and kept[0] == version:
            spans = kept[1]
            try:
                for key in mine:
                    found[key] = spans[key]
                continue
            except KeyError:
                pass
        unread += mine
    keys = {s for s in unread if s[2] > s[1]}
    if keys:
        read = _read(connection, keys, exclude_regular)
        found.update(read)
        _keep(database, versions, read, exclude_regular)
    return found


def database_of(connection: Connection) -> str:
    """Which database, for what a process keeps of it (without the password)."""
    return connection.engine.url.render_as_string(hide_password=True)


def versions(connection: Connection, chatters: list[int]) -> dict[int, int | None]:
    """Each chatter's version of their minutes; None: none stored yet (no minute since the
    last rebuild, which gives every chatter one)."""
    found = _versions(connection, chatters)
    return {c: found.get(c) for c in chatters}


def _versions(connection: Connection, chatters: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for i in range(0, len(chatters), 500):
        query = select(V.c.chatter_id, V.c.version).where(V.c.chatter_id.in_(chatters[i : i + 500]))
        out.update((c, v) for c, v in connection.execute(query))
    return out


def _keep(
    database: str, versions: Mapping[int, int], read: Mapping[Span, Sums], exclude: bool
) -> None:
    fresh: dict[int, dict[Span, Sums]] = defaultdict(dict)
    for key, sums in read.items():
        fresh[key[0]][key] = sums
    with _KEPT_LOCK:
        for chatter, spans in fresh.items():
            if (version := versions.get(chatter)) is None:
                continue
            kept = _KEPT.get((database, chatter, exclude))
            if kept is not None and kept[0] == version and len(kept[1]) < _KEPT_SPANS:
                kept[1].update(spans)
            else:
                _KEPT[(database, chatter, exclude)] = (version, spans)


def _read(connection: Connection, keys: set[Span], exclude_regular: bool) -> dict[Span, Sums]:
    """The spans from the database: those stored, the others computed and stored."""
    found: dict[Span, Sums] = {}
    lo = min(s[1] for s in keys)
    hi = max(s[2] for s in keys)
    chatters = sorted({s[0] for s in keys})
    make = Sums._make
    # Straight from the driver's cursor, in the transaction's connection: plain tuples,
    # half the time of result rows.  Only integers of ours are written into the text.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for i in range(0, len(chatters), 500):
            cursor.execute(
                f"SELECT chatter_id, starts, ends, {_READ[exclude_regular]} "
                "FROM attendance_spans WHERE chatter_id IN "
                f"({', '.join(str(int(c)) for c in chatters[i : i + 500])}) "
                f"AND starts >= {int(lo)} AND ends <= {int(hi)}"
            )
            for row in cursor.fetchall():
                if (key := row[:3]) in keys:
                    found[key] = make(row[3:])
    finally:
        cursor.close()
    if len(found) < len(keys):
        missing: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for c, a, b in sorted(keys.difference(found)):
            missing[c].append((a, b))
        for chatter, computed in _fill(connection.engine, missing).items():
            for (a, b), values in computed.items():
                found[(chatter, a, b)] = _sums(values, exclude_regular)
    return found


def _sums(row: tuple[int, ...], exclude_regular: bool) -> Sums:
    """Sums from (online, active, paused, first, last, human, first human, last human)."""
    online, active, paused, first, last, human, first_human, last_human = row
    if exclude_regular:
        return Sums(online, human, paused, first_human, last_human)
    return Sums(online, active, paused, first, last)


# The wanted spans go to a temporary table and the database adds up, per span, its whole
# UTC hours and the minutes at its edges (spans start and end on minutes): a few range
# scans of the (chatter_id, hour|minute) keys per span, in C, instead of every minute row
# through Python (90 days of 200 chatters are millions of minutes, 150,000 hours).
_WANTED = "attendance_wanted"
_PART = """
    SELECT w.chatter_id AS c, w.starts AS a, w.ends AS b, {columns}
    FROM {wanted} w JOIN {table} x ON x.chatter_id = w.chatter_id AND {where}
"""
_OF_HOURS = (
    "x.online, x.active, x.paused, x.first_active AS fa, x.last_active AS la, x.human, "
    "x.first_human AS fh, x.last_human AS lh"
)
_OF_MINUTES = (
    "x.online, x.active, x.paused, x.minute + x.first_active, x.minute + x.active_until, "
    "x.human, x.minute + x.first_human, x.minute + x.human_until"
)
_ADD_UP = text(
    f"""
    SELECT c, a, b, SUM(online), SUM(active), SUM(paused), MIN(fa), MAX(la), SUM(human),
           MIN(fh), MAX(lh)
    FROM ({
        " UNION ALL ".join(
            [
                _PART.format(
                    columns=_OF_HOURS,
                    wanted=_WANTED,
                    table="attendance_hours",
                    where="x.hour >= w.hs AND x.hour < w.he",
                ),
                _PART.format(
                    columns=_OF_MINUTES,
                    wanted=_WANTED,
                    table="attendance_minutes",
                    where="x.minute >= w.starts AND x.minute < w.hs",
                ),
                _PART.format(
                    columns=_OF_MINUTES,
                    wanted=_WANTED,
                    table="attendance_minutes",
                    where="x.minute >= w.he AND x.minute < w.ends",
                ),
            ]
        )
    }) AS parts
    GROUP BY c, a, b
    """
)
_NOTHING = (0, 0, 0, None, None, 0, None, None)


def _fill(
    engine: Engine, missing: Mapping[int, list[tuple[int, int]]]
) -> dict[int, dict[tuple[int, int], tuple[Any, ...]]]:
    out: dict[int, dict[tuple[int, int], tuple[Any, ...]]] = defaultdict(dict)
    if not missing:
        return out
    # A few chatters per transaction: their ingests wait for the activity lock only that long.
    chatters = sorted(missing)
    with _filler(engine).connect() as connection:
        for i in range(0, len(chatters), _FILL_CHATTERS):
            some = chatters[i : i + _FILL_CHATTERS]
            with write_transaction(connection):
                for chatter in some:
                    locks.serialise(connection, locks.ACTIVITY, chatter)
                spans = {c: missing[c] for c in some}
                for chatter, a, b, *sums in add_up(connection, spans):
                    out[chatter][(a, b)] = tuple(None if v is None else int(v) for v in sums)
                rows = []
                for chatter in some:
                    mine = out[chatter]
                    for a, b in spans[chatter]:
                        online, active, paused, first, last, human, first_human, last_human = (
                            mine.setdefault((a, b), _NOTHING)
                        )
                        rows.append(
                            {
                                "chatter_id": chatter,
                                "starts": a,
                                "ends": b,
                                "online": online,
                                "active": active,
                                "paused": paused,
                                "first_active": first,
                                "last_active": last,
                                "human": human,
                                "first_human": first_human,
                                "last_human": last_human,
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


# The fills' own engines, one per database: see _filler.
_FILLERS: dict[str, Engine] = {}
_FILLERS_LOCK = threading.Lock()


def _filler(engine: Engine) -> Engine:
    """The engine a fill writes with: unpooled, with the same per-connection settings.

    The view that asks keeps its own pooled connection meanwhile, so a fill taken from the
    same pool needs a second one: as many views at once as the pool holds would each wait
    for a connection only another view gives back (30 s, then an error; review of issue
    15).  A fill opens a connection of its own and closes it, so it never waits on a view
    and keeps no connection to a database once done."""
    if engine.dialect.name == "sqlite" and database_file(engine.url.database) is None:
        return engine  # in memory (or a URI): the engine's own connections only
    key = engine.url.render_as_string(hide_password=False)
    with _FILLERS_LOCK:
        filler = _FILLERS.get(key)
        if filler is None:
            filler = create_engine(engine.url, poolclass=NullPool)
            configure_engine(filler)
            _FILLERS[key] = filler
    return filler


def add_up(connection: Connection, spans: Mapping[int, Iterable[tuple[int, int]]]) -> list[Any]:
    """(chatter, starts, ends, online, active, paused, first active, last active, human,
    first human, last human) of each span with any minute (spans start and end on
    minutes), from the hours and minutes."""
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        # The temporary table has no statistics, so the planner guesses a huge cost and
        # compiles the query (JIT): 0.3-0.8 s per call, for what runs in 15 ms (one span)
        # to 2.4 s (the 40,000 spans of a cold 90-day view) without.  For this transaction.
        connection.exec_driver_sql("SET LOCAL jit = off")
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {_WANTED} (chatter_id INTEGER, starts BIGINT, ends BIGINT, "
        "hs BIGINT, he BIGINT, PRIMARY KEY (chatter_id, starts, ends))"
        + (" ON COMMIT DROP" if postgres else " WITHOUT ROWID")
    )
    try:
        wanted = []
        for c in sorted(spans):
            for a, b in sorted(set(spans[c])):
                # The whole hours inside [a, b): [hs, he); none when it holds none.
                hs, he = a + (-a) % HOUR, b - b % HOUR
                if hs >= he:
                    hs = he = b
                wanted.append({"c": c, "a": a, "b": b, "hs": hs, "he": he})
        for i in range(0, len(wanted), _CHUNK):
            connection.execute(
                text(f"INSERT INTO {_WANTED} VALUES (:c, :a, :b, :hs, :he)"),
                wanted[i : i + _CHUNK],
            )
        return list(connection.execute(_ADD_UP))
    finally:
        if not postgres:
            connection.exec_driver_sql(f"DROP TABLE {_WANTED}")
