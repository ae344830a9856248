"""PostgreSQL advisory locks: derivations that read rows other transactions write run
one at a time.  SQLite's write lock already serialises writers, so there it is a no-op."""

from __future__ import annotations

from sqlalchemy import Connection, text

EVENTS = 727_001  # sales facts and rollups
ACTIVITY = 727_002  # activity rollups, per chatter
CONVERSATIONS = 727_003  # conversation facts and rollups
SLICES = 727_004  # a device's slices, per device: the overlap check sees every stored one


def serialise(connection: Connection, key: int, sub: int | None = None) -> None:
    """Hold a transaction-scoped lock so concurrent ingests see each other's rows."""
    if connection.dialect.name != "postgresql":
        return
    if sub is None:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key, :sub)"), {"key": key, "sub": sub}
        )
