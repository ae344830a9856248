"""Where raw rows have been purged: the watermarks every writer and rebuild respects.

The purge (collector/retention/purge.py) deletes raw slices and raw events before a UTC
midnight and moves the watermark there; it never moves back, even when a retention
setting is raised afterwards.  Before a watermark the period is closed: its rollups are
kept as they were and nothing recomputes them (ingest refuses rows that old, rebuilds
start at the watermark).  The watermarks live in the settings table under their own
scope, so no setting of that name can be typed in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from collector.db.buckets import from_epoch
from collector.db.direct import Fixed
from collector.db.models import Setting

SCOPE = "retention"
SLICES = "slices_purged_before"
EVENTS = "events_purged_before"


@dataclass(frozen=True)
class Watermarks:
    """Raw rows before these moments are gone (None: nothing purged yet)."""

    slices: dt.datetime | None = None
    events: dt.datetime | None = None

    def slices_epoch(self) -> int | None:
        return None if self.slices is None else int(self.slices.timestamp())

    def events_epoch(self) -> int | None:
        return None if self.events is None else int(self.events.timestamp())


# Built once: every heartbeat batch reads the watermarks (constructing the statement
# cost more than running it).
_QUERY = Fixed(select(Setting.name, Setting.value).where(Setting.scope == SCOPE))


def watermarks(db: Session | Connection) -> Watermarks:
    return watermarks_of({name: value for name, value in _QUERY.rows(db, {})})


def watermarks_of(rows: dict[str, str]) -> Watermarks:
    """The watermarks from their stored rows ({name: value})."""
    found = {name: from_epoch(int(rows[name])) for name in (SLICES, EVENTS) if name in rows}
    return Watermarks(slices=found.get(SLICES), events=found.get(EVENTS))


def advance(session: Session, name: str, moment: dt.datetime, now: dt.datetime) -> None:
    """Move a watermark forward to ``moment`` (never back)."""
    row = session.scalar(select(Setting).where(Setting.name == name, Setting.scope == SCOPE))
    value = str(int(moment.timestamp()))
    if row is None:
        session.add(Setting(name=name, scope=SCOPE, value=value, updated_at=now))
    elif int(row.value) < int(value):
        row.value, row.updated_at = value, now
