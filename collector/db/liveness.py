"""A pooled PostgreSQL connection is checked before use without a round trip.

SQLAlchemy's ``pool_pre_ping`` sends a query at every checkout: one more round trip in
every request, 7 % of a heartbeat's time (docs/profiles). A connection the server has
closed (a restart, ``pg_terminate_backend``, an idle timeout) has its socket readable: the
server's last message, then the end of the stream. An idle connection with nothing to
read is alive as far as anything short of a query can tell, and a pre-ping could not tell
more (a peer gone without a word makes the ping wait for TCP's time-out, as the query
would). So the socket is polled, which costs one system call; only when something arrived
while the connection sat in the pool is it asked with a query, and one that fails is
replaced by a new connection, as with ``pool_pre_ping``.
"""

from __future__ import annotations

import select
from typing import Any

from sqlalchemy import Engine, event, exc


def check_on_checkout(engine: Engine) -> None:
    """Replace a pooled connection the server closed, when it is taken from the pool."""

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if not _something_arrived(dbapi_connection):
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()  # end the transaction the ping opened
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out another (SQLAlchemy's
            # documented pessimistic disconnect handling).
            raise exc.DisconnectionError(f"the pooled connection was closed: {error}") from error


def _something_arrived(dbapi_connection: Any) -> bool:
    """Whether the idle connection's socket has anything to read (or is gone)."""
    if dbapi_connection.closed:
        return True
    try:
        descriptor = dbapi_connection.fileno()
    except Exception:  # psycopg raises its OperationalError for a broken connection
        return True
    poller = select.poll()  # not select(): descriptors above 1023 are fine
    poller.register(descriptor, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))
