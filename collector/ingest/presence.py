"""Storing a verified presence message: the device's newest state, replaced in place.

One row per device (``collector.db.schedule_models.Presence``).  The upsert decides in the
database which message is newer, so two collector processes (or a delayed retry) never
let an older message overwrite a newer one: the row changes only when the incoming
``sent_at`` is later than the stored one.  A replayed message (same ``sent_at``) changes
nothing, so replaying a captured request cannot keep a stopped agent online.

The same upsert keeps the rate: a message that arrives sooner than ``min_interval``
after the stored one's arrival changes nothing and is refused (429, Retry-After).  The
condition is the upsert's own, evaluated on the row as the database locks it, so of
messages racing through several processes only one is taken.  A device whose agent said
it was uninstalled sends no presence: a message signed before the uninstall arrived (one
on its way, or one sent again) is refused (409 ``device_retired``).  One signed after it
comes from a reinstalled agent: it makes the device current again, as a batch of slices
does (``collector.devices.management.signed_after_retirement``, one rule for both), so
the chatter shows online from the reinstalled agent's first message.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache
from typing import cast

import msgspec
from sqlalchemy import Connection, Insert, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from collector.auth.signatures import AgentCaller
from collector.db.base import UTCDateTime, iso
from collector.db.schedule_models import Presence
from collector.devices import management
from collector.errors import ApiError
from shared import signing
from shared.protocol import Presence as PresenceMessage
from shared.protocol import format_time, problem_text

_decoder = msgspec.json.Decoder(PresenceMessage)
_table = cast(Table, Presence.__table__)
# The agent's clock is corrected by the collector's time; a message stamped further off
# than a signature may be is refused, so a wrong clock cannot pin a device's state (a
# far-future sent_at would win over every later message).
MAX_SKEW = dt.timedelta(seconds=signing.TOLERANCE_SECONDS)


def decode(body: bytes) -> PresenceMessage:
    try:
        return _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_presence", problem_text(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc}") from None


def check(message: PresenceMessage, now: dt.datetime) -> dt.datetime:
    """The message's ``sent_at`` in UTC, when it is close enough to the server's time."""
    try:
        sent_at = message.sent_at.astimezone(dt.UTC)
        off = sent_at - now
    except OverflowError:
        off = dt.timedelta.max
        sent_at = now
    if abs(off) > MAX_SKEW:
        raise ApiError(
            422,
            "invalid_presence",
            f"sent_at {message.sent_at.isoformat()} is more than {signing.TOLERANCE_SECONDS} s "
            f"from the server time {format_time(now)}",
            [{"field": "sent_at", "message": "too far from the server time"}],
        )
    # Never later than now: a message dated ahead (inside the tolerance, or a clock
    # corrected backwards) would otherwise win over every real one until that time came.
    return min(sent_at, now)


@cache
def _upsert(dialect: str, limited: bool) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(_table).values(
        device_id=bindparam("device_id"),
        chatter_id=bindparam("chatter_id"),
        state=bindparam("state"),
        idle_seconds=bindparam("idle_seconds"),
        sent_at=bindparam("sent_at", type_=UTCDateTime),
        received_at=bindparam("received_at", type_=UTCDateTime),
    )
    return stmt.on_conflict_do_update(
        index_elements=[_table.c.device_id],
        set_={
            name: stmt.excluded[name]
            for name in ("chatter_id", "state", "idle_seconds", "sent_at", "received_at")
        },
        # Only a newer message replaces the stored one; equal (a replay) changes nothing.
        # And only when the stored one arrived at least the least interval ago: checked on
        # the row the database has locked (PostgreSQL re-reads it after waiting for a
        # racing writer), so two messages racing the limit are never both taken.
        where=(_table.c.sent_at < stmt.excluded.sent_at)
        & (_table.c.received_at <= bindparam("taken_until", type_=UTCDateTime))
        if limited
        else _table.c.sent_at < stmt.excluded.sent_at,
    ).returning(_table.c.device_id)


def store(
    connection: Connection,
    caller: AgentCaller,
    message: PresenceMessage,
    sent_at: dt.datetime,
    now: dt.datetime,
    min_interval: dt.timedelta,
) -> bool:
    """Keep the message unless a newer one of the device is stored; True when kept.

    Refused: signed before the device's uninstall (409 ``device_retired``), or its last
    message arrived less than ``min_interval`` ago (429 ``presence_too_soon``,
    Retry-After).  Signed after the uninstall: the device is current again."""
    retired_at = caller.retired_at  # read with the signature's key, no query of its own
    if retired_at is not None:
        if not management.signed_after_retirement(retired_at, caller.signed_at):
            raise ApiError(
                409,
                "device_retired",
                f"device {caller.device_uid} was uninstalled at {iso(retired_at)} "
                f"(chatter-agent retire): a message signed before that "
                f"({iso(caller.signed_at)}) is not taken; a reinstalled agent's is",
            )
        management.reinstalled(connection, caller.device_id, caller.signed_at)
    limited = min_interval > dt.timedelta(0)  # 0: no limit (a test's agent every 0.5 s)
    row = connection.execute(
        _upsert(connection.dialect.name, limited),
        {
            "device_id": caller.device_id,
            "chatter_id": caller.chatter_id,
            "state": message.state,
            "idle_seconds": message.idle_seconds,
            "sent_at": sent_at,
            "received_at": now,
            "taken_until": now - min_interval,
        },
    ).first()
    if row is not None:
        return True
    if not limited:
        return False
    # Not taken: the row as it is now (committed by whoever won) says why.
    last = connection.scalar(
        select(Presence.received_at).where(Presence.device_id == caller.device_id)
    )
    wait = None if last is None else (last + min_interval - now).total_seconds()
    if wait is not None and wait > 0:
        # At most the interval, whatever another process's clock stamped.
        seconds = max(1, math.ceil(min(wait, min_interval.total_seconds())))
        raise ApiError(
            429,
            "presence_too_soon",
            f"the device's last presence message arrived at {iso(last)}; at most one is "
            f"taken every {min_interval.total_seconds():g} s: send again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    return False
