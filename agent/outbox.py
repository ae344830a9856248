"""The durable outbox: sealed slices wait here until the collector acknowledged them.

Peek, send, delete: rows leave only after the collector's reply for their batch,
and a batch keeps its id until then so every retry is recognisably the same batch.

Beside the database a small *mark* file keeps what a damaged outbox would take
with it: the highest seq given out, how many slices were waiting, and the end of
the last sealed slice.  When the outbox cannot be read any more it is moved
aside, a new one continues the seq numbering after the mark (so the collector's
missing-slice count covers exactly the lost ones), and the loss is counted and
reported to the collector with every batch (``queue.lost``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from agent.timeline import SliceTotals
from shared.protocol import TIMING_FIELDS

SCHEMA = """
CREATE TABLE IF NOT EXISTS slices (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    start INTEGER NOT NULL UNIQUE,
    slice_seconds INTEGER NOT NULL,
    duration INTEGER NOT NULL,
    active_seconds INTEGER NOT NULL,
    input_seconds INTEGER NOT NULL,
    paused_seconds INTEGER NOT NULL,
    keystrokes INTEGER NOT NULL,
    mouse_events INTEGER NOT NULL,
    batch_id TEXT,
    parked_reason TEXT,
    bursts INTEGER,
    keyed_bursts INTEGER,
    gaps INTEGER,
    gap_ms_sum INTEGER,
    gap_ms_sum_sq INTEGER
);
CREATE INDEX IF NOT EXISTS ix_slices_batch ON slices (batch_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS daily (
    day TEXT PRIMARY KEY,
    online INTEGER NOT NULL,
    active INTEGER NOT NULL,
    paused INTEGER NOT NULL,
    keystrokes INTEGER NOT NULL,
    mouse_events INTEGER NOT NULL
);
"""

# Added after the first release: an older outbox gets them on opening (its rows: NULL,
# sent without timing).
TIMING_COLUMNS = TIMING_FIELDS
# SliceTotals' fields in order, then the seq the outbox gave the slice.
COLUMNS = (
    "start, slice_seconds, duration, active_seconds, input_seconds, paused_seconds, "
    f"keystrokes, mouse_events, {', '.join(TIMING_COLUMNS)}, seq"
)

_INSERTED = COLUMNS.removesuffix(", seq")
_PLACES = ", ".join("?" * len(_INSERTED.split(",")))


@dataclass(frozen=True, slots=True)
class QueuedSlice(SliceTotals):
    seq: int = field(kw_only=True)


@dataclass(frozen=True)
class Batch:
    batch_id: str
    slices: list[QueuedSlice]


@dataclass(frozen=True)
class QueueCounts:
    queued: int
    parked: int
    dropped: int
    oldest: int | None
    lost: int = 0
    lost_reason: str | None = None


log = logging.getLogger(__name__)

# What SQLite says about a file that is not a healthy database (as opposed to one that is
# busy, locked or not permitted, which is no reason to set it aside).
_DAMAGE = ("malformed", "not a database", "corrupt", "encrypted")


def is_damage(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.DatabaseError) and any(
        word in str(exc).lower() for word in _DAMAGE
    )


def mark_path(path: Path) -> Path:
    return path.with_name(path.name + ".mark")


@dataclass(frozen=True)
class Mark:
    seq: int = 0
    pending: int = 0
    last_sealed_start: int | None = None
    last_sealed_end: int | None = None


def read_mark(path: Path) -> Mark:
    try:
        raw = json.loads(mark_path(path).read_text())
        return Mark(
            int(raw["seq"]),
            int(raw["pending"]),
            None if raw.get("last_sealed_start") is None else int(raw["last_sealed_start"]),
            None if raw.get("last_sealed_end") is None else int(raw["last_sealed_end"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return Mark()


@dataclass(frozen=True)
class SetAside:
    """A damaged outbox moved out of the way, and what went with it."""

    moved_to: Path
    problem: str
    lost: int
    mark: Mark

    @property
    def reason(self) -> str:
        return (
            f"outbox damaged ({self.problem}); moved aside to {self.moved_to.name} on "
            f"{dt.date.today().isoformat()}"
        )


def set_aside_if_damaged(path: Path) -> SetAside | None:
    """Check the outbox; a damaged one is renamed (with its WAL) so a new one can start."""
    if not path.exists():
        return None
    problem = _damage(path)
    if problem is None:
        return None
    mark = read_mark(path)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    moved = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, Path(f"{moved}{suffix}"))
    return SetAside(moved, problem, mark.pending, mark)


def _damage(path: Path) -> str | None:
    try:
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        return str(exc) if is_damage(exc) else None
    try:
        rows = db.execute("PRAGMA quick_check").fetchall()
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        if is_damage(exc):
            return str(exc)
        raise
    finally:
        db.close()
    results = [str(r[0]) for r in rows]
    return None if results == ["ok"] else "; ".join(results)[:200]


class Outbox:
    """One connection; make one Outbox per thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._mark = mark_path(path)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a sealed slice survives a power cut, not only a crash.
        self._db.execute("PRAGMA synchronous=FULL")
        # The outbox is small and read in order: a 256 KiB page cache is plenty
        # (SQLite's default is 2 MiB per connection).
        self._db.execute("PRAGMA cache_size=-256")
        self._db.executescript(SCHEMA)
        known = {row[1] for row in self._db.execute("PRAGMA table_info(slices)")}
        for name in TIMING_COLUMNS:
            if name not in known:
                try:
                    self._db.execute(f"ALTER TABLE slices ADD COLUMN {name} INTEGER")
                except sqlite3.OperationalError as exc:  # another connection added it first
                    if "duplicate column" not in str(exc):
                        raise

    def close(self) -> None:
        self._db.close()

    # Writing -------------------------------------------------------------------

    def add(self, totals: SliceTotals, day: str) -> int | None:
        """Store a sealed slice and add it to the day's totals; its seq, or None if known."""
        with self._transaction():
            cursor = self._db.execute(
                f"INSERT OR IGNORE INTO slices ({_INSERTED}) VALUES ({_PLACES})",
                (
                    totals.start,
                    totals.slice_seconds,
                    totals.duration,
                    totals.active_seconds,
                    totals.input_seconds,
                    totals.paused_seconds,
                    totals.keystrokes,
                    totals.mouse_events,
                    *(getattr(totals, name) for name in TIMING_COLUMNS),
                ),
            )
            if cursor.rowcount != 1:
                return None
            for key, value in (
                ("last_sealed_start", totals.start),
                ("last_sealed_end", totals.start + totals.slice_seconds),
            ):
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET "
                    "value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                    (key, str(value)),
                )
            self._db.execute(
                "INSERT INTO daily (day, online, active, paused, keystrokes, mouse_events) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (day) DO UPDATE SET "
                "online = online + excluded.online, active = active + excluded.active, "
                "paused = paused + excluded.paused, "
                "keystrokes = keystrokes + excluded.keystrokes, "
                "mouse_events = mouse_events + excluded.mouse_events",
                (
                    day,
                    totals.duration - totals.paused_seconds,
                    totals.active_seconds,
                    totals.paused_seconds,
                    totals.keystrokes,
                    totals.mouse_events,
                ),
            )
            self._write_mark()
            return cursor.lastrowid

    def next_batch(self, limit: int = 1000) -> Batch | None:
        """The oldest batch in flight, else a new batch of the oldest queued slices."""
        with self._transaction():
            row = self._db.execute(
                "SELECT batch_id FROM slices WHERE batch_id IS NOT NULL AND parked_reason IS NULL "
                "ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                batch_id = uuid.uuid4().hex
                # One slice length per batch: the oldest queued slice's.
                self._db.execute(
                    "UPDATE slices SET batch_id = ? WHERE seq IN (SELECT seq FROM slices "
                    "WHERE batch_id IS NULL AND parked_reason IS NULL AND slice_seconds = "
                    "(SELECT slice_seconds FROM slices WHERE batch_id IS NULL AND "
                    "parked_reason IS NULL ORDER BY seq LIMIT 1) ORDER BY seq LIMIT ?)",
                    (batch_id, limit),
                )
            else:
                batch_id = row[0]
            rows = self._db.execute(
                f"SELECT {COLUMNS} FROM slices WHERE batch_id = ? AND parked_reason IS NULL "
                "ORDER BY seq",
                (batch_id,),
            ).fetchall()
        if not rows:
            return None
        return Batch(batch_id, [QueuedSlice(*r[:-1], seq=r[-1]) for r in rows])

    def ack(self, batch_id: str) -> int:
        with self._transaction():
            done = self._db.execute("DELETE FROM slices WHERE batch_id = ?", (batch_id,)).rowcount
            self._write_mark()
            return done

    def park(self, batch_id: str, reason: str, seqs: list[int] | None = None) -> int:
        """Set aside the refused slices (all of the batch, or ``seqs``); the rest re-batch."""
        with self._transaction():
            if seqs is None:
                parked = self._db.execute(
                    "UPDATE slices SET parked_reason = ? WHERE batch_id = ?", (reason, batch_id)
                ).rowcount
            else:
                marks = ",".join("?" * len(seqs))
                parked = self._db.execute(
                    f"UPDATE slices SET parked_reason = ? WHERE batch_id = ? AND seq IN ({marks})",
                    (reason, batch_id, *seqs),
                ).rowcount
                self._db.execute(
                    "UPDATE slices SET batch_id = NULL "
                    "WHERE batch_id = ? AND parked_reason IS NULL",
                    (batch_id,),
                )
            return parked

    def unpark(self) -> int:
        with self._transaction():
            return self._db.execute(
                "UPDATE slices SET parked_reason = NULL, batch_id = NULL "
                "WHERE parked_reason IS NOT NULL"
            ).rowcount

    def enforce_bound(self, max_days: int, now: float | None = None) -> int:
        """Drop slices older than ``max_days``, oldest first, and count them."""
        cutoff = int(now if now is not None else time.time()) - max_days * 86400
        with self._transaction():
            dropped = self._db.execute("DELETE FROM slices WHERE start < ?", (cutoff,)).rowcount
            if dropped:
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('dropped', ?) ON CONFLICT (key) "
                    "DO UPDATE SET value = CAST(value AS INTEGER) + excluded.value",
                    (str(dropped),),
                )
                self._write_mark()
            return dropped

    def record_loss(self, lost: int, reason: str) -> None:
        """Count slices that were sealed and then lost before the collector had them."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('lost', ?) ON CONFLICT (key) "
                "DO UPDATE SET value = CAST(value AS INTEGER) + excluded.value",
                (str(lost),),
            )
            self.set_meta("lost_reason", reason[:200])

    def continue_after(self, mark: Mark) -> None:
        """A new outbox after a damaged one: seqs go on after the old ones, and nothing is
        recorded over a slice sealed before."""
        with self._transaction():
            if mark.seq:
                self._db.execute("DELETE FROM sqlite_sequence WHERE name = 'slices'")
                self._db.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('slices', ?)", (mark.seq,)
                )
            for key, value in (
                ("last_sealed_start", mark.last_sealed_start),
                ("last_sealed_end", mark.last_sealed_end),
            ):
                if value is not None:
                    self.set_meta(key, str(value))
            self._write_mark()

    def _write_mark(self) -> None:
        """Called inside a write transaction, so writers take turns and the mark follows
        the database.  Best effort: a full disk or a read-only folder must not stop the
        outbox itself (the mark only matters once the outbox is damaged)."""
        row = self._db.execute(
            "SELECT (SELECT seq FROM sqlite_sequence WHERE name = 'slices'), "
            "(SELECT COUNT(*) FROM slices), "
            "(SELECT value FROM meta WHERE key = 'last_sealed_start'), "
            "(SELECT value FROM meta WHERE key = 'last_sealed_end')"
        ).fetchone()
        mark = {
            "seq": int(row[0] or 0),
            "pending": int(row[1]),
            "last_sealed_start": None if row[2] is None else int(row[2]),
            "last_sealed_end": None if row[3] is None else int(row[3]),
        }
        tmp = self._mark.with_name(self._mark.name + ".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(mark))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._mark)
        except OSError as exc:
            log.debug("outbox mark not written: %s", exc)

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # Reading -------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def counts(self) -> QueueCounts:
        queued, parked, oldest = self._db.execute(
            "SELECT COUNT(*) FILTER (WHERE parked_reason IS NULL), "
            "COUNT(*) FILTER (WHERE parked_reason IS NOT NULL), MIN(start) FROM slices"
        ).fetchone()
        return QueueCounts(
            queued,
            parked,
            int(self.get_meta("dropped") or 0),
            oldest,
            int(self.get_meta("lost") or 0),
            self.get_meta("lost_reason"),
        )

    def parked_reasons(self) -> list[tuple[str, int]]:
        rows = self._db.execute(
            "SELECT parked_reason, COUNT(*) FROM slices WHERE parked_reason IS NOT NULL "
            "GROUP BY parked_reason ORDER BY 2 DESC"
        ).fetchall()
        return [(str(r[0]), int(r[1])) for r in rows]

    def day(self, day: str) -> dict[str, int]:
        row = self._db.execute(
            "SELECT online, active, paused, keystrokes, mouse_events FROM daily WHERE day = ?",
            (day,),
        ).fetchone()
        names = ("online", "active", "paused", "keystrokes", "mouse_events")
        return dict(zip(names, row or (0, 0, 0, 0, 0), strict=True))

    def last_sealed(self) -> tuple[int, int] | None:
        """Start and end of the newest sealed slice (slices never overlap, so the
        largest start and the largest end are the same slice's)."""
        start = self.get_meta("last_sealed_start")
        if start is None:
            return None
        end = self.get_meta("last_sealed_end")
        if end is None:  # an outbox from before ends were kept: the slice's minute
            return int(start), int(start) // 60 * 60 + 60
        return int(start), int(end)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()  # a failed COMMIT (disk full) must not leave it open
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (SQLITE_FULL, SQLITE_IOERR); the
        # error that got us here is the one worth raising, not this one.
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
