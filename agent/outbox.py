"""The durable outbox: sealed slices wait here until the collector acknowledged them.

Peek, send, delete: rows leave only after a 200 reply for their batch, and a
batch keeps its id until then so every retry is recognisably the same batch.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from agent.timeline import SliceTotals

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
    parked_reason TEXT
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

# SliceTotals' fields in order, then the seq the outbox gave the slice.
COLUMNS = (
    "start, slice_seconds, duration, active_seconds, input_seconds, paused_seconds, "
    "keystrokes, mouse_events, seq"
)


@dataclass(frozen=True, slots=True)
class QueuedSlice(SliceTotals):
    seq: int


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


class Outbox:
    """One connection; make one Outbox per thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a sealed slice survives a power cut, not only a crash.
        self._db.execute("PRAGMA synchronous=FULL")
        # The outbox is small and read in order: a 256 KiB page cache is plenty
        # (SQLite's default is 2 MiB per connection).
        self._db.execute("PRAGMA cache_size=-256")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    # Writing -------------------------------------------------------------------

    def add(self, totals: SliceTotals, day: str) -> int | None:
        """Store a sealed slice and add it to the day's totals; its seq, or None if known."""
        with self._transaction():
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO slices (start, slice_seconds, duration, active_seconds, "
                "input_seconds, paused_seconds, keystrokes, mouse_events) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    totals.start,
                    totals.slice_seconds,
                    totals.duration,
                    totals.active_seconds,
                    totals.input_seconds,
                    totals.paused_seconds,
                    totals.keystrokes,
                    totals.mouse_events,
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
        return Batch(batch_id, [QueuedSlice(*r) for r in rows])

    def ack(self, batch_id: str) -> int:
        with self._transaction():
            return self._db.execute("DELETE FROM slices WHERE batch_id = ?", (batch_id,)).rowcount

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
            return dropped

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
        return QueueCounts(queued, parked, int(self.get_meta("dropped") or 0), oldest)

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
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
