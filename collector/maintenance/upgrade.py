"""Upgrading a database to the newest schema, with the statistics its new tables need."""

from __future__ import annotations

from sqlalchemy import Engine

from collector.attendance import store as attendance
from collector.conversations import rebuild as conversations
from collector.db import migrate
from collector.stats import fan_days
from collector.stats import rebuild as stats
from collector.stats.repair import SliceRepair

# Revisions after which the derived facts and rollups must be recomputed from raw rows:
# chatter stats appeared in 0002, conversation analytics in 0005 (events from 0004 on).
_REBUILD_CONVERSATIONS_AFTER = {"0001", "0004"}
# Slices record their length from this revision on; a database from before it may hold
# overlapping slices of one device, which the stats rebuild removes (and reports).
SLICE_LENGTHS = "0007"
# Conversation durations start at the first call or message from this revision on: the
# stored conversation facts and rollups of an older database are recomputed.
CONVERSATION_DURATION = "0009_conversation_duration"
# The fan view's rollup appears in this revision: filled from the events once.
FAN_DAYS = "0013_fan_days"
# Attendance's minutes appear here: filled from the slices still kept.
ATTENDANCE = "0017_attendance"
# Attendance's hours and the minutes' active time without regular input appear here: the
# minutes of the slices still kept are recomputed (their regular flags known).
ATTENDANCE_HOURS = "0020_attendance_hours"
# The conversation visitor sets per hour and the NPS feedback facts appear here: filled
# from the stored quarters and events.
CONVERSATION_HOURS = "0023_conversation_hours_feedback"


def upgrade(engine: Engine, revision: str = "head") -> SliceRepair | None:
    """Migrate; returns the stats rebuild's report when the upgrade needed one."""
    before = migrate.current(engine)
    repaired = None
    with engine.begin() as connection:
        migrate.upgrade(connection, revision)
        if revision != "head":
            return None
        # Revision ids are zero-padded numbers: their order is the order of the chain.
        if before is not None and before < SLICE_LENGTHS:
            repaired = stats.rebuild_all(connection)
        if before is not None and before < ATTENDANCE_HOURS:
            attendance.rebuild(connection)
        if before in _REBUILD_CONVERSATIONS_AFTER or (
            before is not None and "0005" <= before < CONVERSATION_DURATION
        ):
            conversations.rebuild(connection)
        elif before is not None and before < CONVERSATION_HOURS:
            conversations.rebuild_hours_and_feedback(connection)
        if before is not None and SLICE_LENGTHS <= before < FAN_DAYS:
            fan_days.rebuild(connection)
    return repaired
