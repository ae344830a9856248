"""PostgreSQL advisory locks: derivations that read rows other transactions write run
one at a time.  SQLite's write lock already serialises writers, so there it is a no-op."""

from __future__ import annotations

import time

from sqlalchemy import Connection, text

from collector.db.direct import Fixed
from collector.telemetry import meters

EVENTS = 727_001  # sales facts and rollups
ACTIVITY = 727_002  # activity rollups, per chatter
CONVERSATIONS = 727_003  # conversation facts and rollups
LOGIN_ACCOUNTS = 727_004  # login attempts, per account (a hash of the email)
LOGIN_ADDRESSES = 727_005  # login attempts, per client address (a hash of it)
SLICES = 727_006  # a chatter's slices, per chatter: the overlap check sees every stored one
PURGE = 727_007  # the retention purge: one process at a time (taken with try, never waited for)
ALERTS = 727_018  # the alert evaluator: one process at a time (taken with try, never waited for)
ROSTER = 727_008  # the roster import: one at a time, each seeing the shifts the last one stored
SHIFT_DAYS = 727_009  # a shift's exceptions, per shift: two for one day, the second sees the first
PAYROLL = 727_010  # approving a pay period: one at a time, each seeing the periods locked before

_NAMES = {
    EVENTS: "events",
    ACTIVITY: "activity",
    CONVERSATIONS: "conversations",
    LOGIN_ACCOUNTS: "login_accounts",
    LOGIN_ADDRESSES: "login_addresses",
    SLICES: "slices",
    ROSTER: "roster",
    SHIFT_DAYS: "shift_days",
    PAYROLL: "payroll",
}


_LOCK = Fixed(text("SELECT pg_advisory_xact_lock(:key)"))
_LOCK_SUB = Fixed(text("SELECT pg_advisory_xact_lock(:key, :sub)"))


def serialise(connection: Connection, key: int, sub: int | None = None) -> None:
    """Hold a transaction-scoped lock so concurrent ingests see each other's rows."""
    if connection.dialect.name != "postgresql":
        return
    started = time.perf_counter()
    if sub is None:
        _LOCK.rows(connection, {"key": key})
    else:
        _LOCK_SUB.rows(connection, {"key": key, "sub": sub})
    meters.LOCK_WAIT.labels(_NAMES.get(key, "other")).observe(time.perf_counter() - started)
