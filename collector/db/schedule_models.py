"""Schedules and live presence: shifts, their exceptions, required coverage, presence.

A shift keeps its *local wall times* in its own IANA zone: 22:00-06:00 Europe/Paris is
22:00-06:00 on both sides of a DST change (so 7 or 9 hours those nights).  Occurrences
are computed, never stored (collector/shifts/occurrences.py).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from collector.db.base import Base

# Days of the week as a bit mask: bit 0 is Monday (date.weekday() == 0) ... bit 6 Sunday.
ALL_WEEKDAYS = 0b1111111


class Shift(Base):
    """A chatter's shift for a creator: weekly on ``weekdays`` from ``first_day`` (until
    ``last_day`` when set), or once (``weekdays`` 0) on ``first_day``.

    ``start_minute`` and ``end_minute`` are minutes after local midnight; an end at or
    before the start ends on the next local day (overnight; equal means 24 hours).
    """

    __tablename__ = "shifts"
    __table_args__ = (
        CheckConstraint("start_minute >= 0 AND start_minute < 1440", name="start_minute"),
        CheckConstraint("end_minute >= 0 AND end_minute < 1440", name="end_minute"),
        CheckConstraint("weekdays >= 0 AND weekdays <= 127", name="weekdays"),
        Index("ix_shifts_chatter", "chatter_id"),
        Index("ix_shifts_creator", "creator_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chatter_id: Mapped[int] = mapped_column(ForeignKey("chatters.id"))
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id"))
    zone: Mapped[str] = mapped_column(String(64))
    weekdays: Mapped[int] = mapped_column(SmallInteger)  # 0: a one-off shift
    start_minute: Mapped[int] = mapped_column(SmallInteger)
    end_minute: Mapped[int] = mapped_column(SmallInteger)
    first_day: Mapped[dt.date]
    last_day: Mapped[dt.date | None]
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class ShiftException(Base):
    """One occurrence of a shift changed: cancelled, or worked by another chatter (a swap
    between two chatters is two exceptions, one on each chatter's shift).  ``day`` is the
    local date the occurrence starts on."""

    __tablename__ = "shift_exceptions"
    __table_args__ = (
        UniqueConstraint("shift_id", "day"),
        CheckConstraint(
            "(kind = 'cancelled' AND replacement_chatter_id IS NULL)"
            " OR (kind = 'swapped' AND replacement_chatter_id IS NOT NULL)",
            name="kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"))
    day: Mapped[dt.date]
    kind: Mapped[str] = mapped_column(String(16))  # "cancelled" | "swapped"
    replacement_chatter_id: Mapped[int | None] = mapped_column(ForeignKey("chatters.id"))
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[dt.datetime]


class CoverageRule(Base):
    """How many chatters a creator needs online: ``required`` during local
    ``start_minute``..``end_minute`` on ``weekdays`` (the same shape as a weekly shift).
    Where rules overlap, the highest ``required`` holds."""

    __tablename__ = "coverage_rules"
    __table_args__ = (
        CheckConstraint("start_minute >= 0 AND start_minute < 1440", name="start_minute"),
        CheckConstraint("end_minute >= 0 AND end_minute < 1440", name="end_minute"),
        CheckConstraint("weekdays >= 1 AND weekdays <= 127", name="weekdays"),
        CheckConstraint("required >= 0 AND required <= 1000", name="required"),
        Index("ix_coverage_rules_creator", "creator_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id"))
    zone: Mapped[str] = mapped_column(String(64))
    weekdays: Mapped[int] = mapped_column(SmallInteger)
    start_minute: Mapped[int] = mapped_column(SmallInteger)
    end_minute: Mapped[int] = mapped_column(SmallInteger)
    required: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Presence(Base):
    """A device's latest presence message (one row per device, replaced in place).

    ``sent_at`` is the agent's clock (signed), ``received_at`` the collector's: a device is
    online while ``received_at`` is within ``collector.presence.state.OFFLINE_AFTER``.
    Stored in the database so that every collector process gives the same answer.
    """

    __tablename__ = "presence"
    __table_args__ = (Index("ix_presence_chatter", "chatter_id"),)

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    chatter_id: Mapped[int] = mapped_column(ForeignKey("chatters.id"))
    state: Mapped[str] = mapped_column(String(8))  # active | idle | paused
    idle_seconds: Mapped[int]  # since the last input, rounded to 10 s
    sent_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime]


# Attendance's stored fast path (METRICS.md, "How attendance is kept").
#
# ``attendance_minutes`` is a chatter's activity per UTC minute, independent of any
# schedule: shifts start and end on whole local minutes, and every zone in use is a whole
# number of minutes from UTC, so a shift is a set of whole minutes.  It is kept on every
# slice ingest and rebuilt from the slices, and it stays when the purge deletes them, so a
# shift edited after the purge is still measured exactly.
#
# ``attendance_spans`` caches the sums over one interval of a chatter's minutes (a shift
# occurrence, or a stretch of time outside shifts).  It is keyed by the interval itself, so
# a shift edit needs no recomputation: the edited shift's occurrences are new intervals,
# computed from the minutes the first time they are asked for.  An ingest deletes the
# spans its minutes fall in; a rebuild deletes them all.


class AttendanceMinute(Base):
    """Per chatter and UTC minute (``minute``: its first second since the epoch), over
    the slices that start in it, each slot once (the maxima over devices, as activity):
    online (duration - paused), active and paused seconds; ``first_active`` is the
    offset in the minute of the first slot with activity, ``active_until`` the offset of
    the end of the last one (None without activity).  ``human``, ``first_human`` and
    ``human_until`` are the same for the active time that is not regular input (per slot
    the most active seconds of its slices not flagged ``regular``): what attendance counts
    as active when the setting exclude_regular_input is on (METRICS.md)."""

    __tablename__ = "attendance_minutes"
    # SQLite keeps the rows in key order (WITHOUT ROWID): adding up a span's minutes is
    # one range read of the table, not an index walk plus a row look-up per minute.
    __table_args__ = {"sqlite_with_rowid": False}

    chatter_id: Mapped[int] = mapped_column(ForeignKey("chatters.id"), primary_key=True)
    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    online: Mapped[int] = mapped_column(Integer)
    active: Mapped[int] = mapped_column(Integer)
    paused: Mapped[int] = mapped_column(Integer)
    first_active: Mapped[int | None] = mapped_column(Integer)
    active_until: Mapped[int | None] = mapped_column(Integer)
    human: Mapped[int] = mapped_column(Integer, server_default="0")
    first_human: Mapped[int | None] = mapped_column(Integer)
    human_until: Mapped[int | None] = mapped_column(Integer)


class AttendanceHour(Base):
    """The minutes of a chatter's UTC hour (``hour``: its first second) added up, so a
    span is read as its whole hours plus the minutes at its edges.  First and last
    (human) active moments as epoch seconds.  Kept with the minutes (ingest, rebuild)."""

    __tablename__ = "attendance_hours"
    __table_args__ = {"sqlite_with_rowid": False}  # as attendance_minutes

    chatter_id: Mapped[int] = mapped_column(ForeignKey("chatters.id"), primary_key=True)
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    online: Mapped[int] = mapped_column(Integer)
    active: Mapped[int] = mapped_column(Integer)
    paused: Mapped[int] = mapped_column(Integer)
    first_active: Mapped[int | None] = mapped_column(BigInteger)
    last_active: Mapped[int | None] = mapped_column(BigInteger)
    human: Mapped[int] = mapped_column(Integer)
    first_human: Mapped[int | None] = mapped_column(BigInteger)
    last_human: Mapped[int | None] = mapped_column(BigInteger)


class AttendanceVersion(Base):
    """A chatter's attendance sums as of now: a random number set anew whenever their
    minutes change (ingest, rebuild).  A serving process keeps the spans it read under the
    number it read first (collector/attendance/store.py); no row: nothing is kept."""

    __tablename__ = "attendance_versions"

    chatter_id: Mapped[int] = mapped_column(ForeignKey("chatters.id"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class AttendanceSpan(Base):
    """The sums of a chatter's minutes in [starts, ends) (epoch seconds); first and last
    active moments as epoch seconds (None without activity)."""

    __tablename__ = "attendance_spans"
    __table_args__ = (
        Index("ix_attendance_spans_ends", "chatter_id", "ends"),
        {"sqlite_with_rowid": False},  # as attendance_minutes: the view reads key ranges
    )

    chatter_id: Mapped[int] = mapped_column(ForeignKey("chatters.id"), primary_key=True)
    starts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ends: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    online: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[int] = mapped_column(BigInteger)
    paused: Mapped[int] = mapped_column(BigInteger)
    first_active: Mapped[int | None] = mapped_column(BigInteger)
    last_active: Mapped[int | None] = mapped_column(BigInteger)
    human: Mapped[int] = mapped_column(BigInteger, server_default="0")
    first_human: Mapped[int | None] = mapped_column(BigInteger)
    last_human: Mapped[int | None] = mapped_column(BigInteger)
