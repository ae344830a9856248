"""The fan view's rollup: per chatter, creator, fan and UTC day, what the view adds up.

A row sums a chatter's interactions with one fan on one UTC day (METRICS.md "Fan
interactions"): the direct messages they sent (with the PPVs among them and whether
each was bought), and the fan's PPV purchases, tips and refunds credited to them.  The
fan view (fans.py) reads whole UTC days from here and the window's ragged edges from
the events, so 90 days of a busy chatter are a few thousand rows, not every event.

As with the sales rollups, a row is never patched with a delta.  When events arrive (or
a sale is reassigned), every (creator, UTC day, fan) they touch is recomputed from the
events with their stored facts (facts.py), for every chatter at once: a sale whose
credit moved leaves its old chatter's row right too.  A refund names no fan; it counts
for its sale's.  The rebuild writes what the refresh would; the rebuild test compares
the tables and the property test compares the view with the reference.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, insert, literal_column, select

from collector.db import retention
from collector.db.buckets import DAY, day_of, from_epoch, pack
from collector.db.models import Event, FanDay
from collector.stats import facts

E = cast(Table, Event.__table__)
FD = cast(Table, FanDay.__table__)
SALE = E.alias("sale")  # a refund's sale, which names the fan
_CHUNK = 500
_SALES = ("ppv_purchase", "tip")

# (creator_id, UTC day, fan): the unit the refresh recomputes.
Key = tuple[int, int, str]


@dataclass
class _Sums:
    messages_sent: int = 0
    ppv_sent: int = 0
    ppv_bought: int = 0
    ppv_revenue: int = 0
    tip_revenue: int = 0
    refunds: int = 0
    last_contact: dt.datetime | None = None
    waits: list[int] = field(default_factory=list)

    def touched(self, moment: dt.datetime) -> None:
        if self.last_contact is None or moment > self.last_contact:
            self.last_contact = moment


def of_type(table: Any, kind: str) -> Any:
    """``type = 'kind'`` written into the SQL, so the partial indexes of migration 0012
    visibly apply (a bound parameter hides that from both planners)."""
    assert kind.isidentifier()  # our own constants only
    return table.c.type == literal_column(f"'{kind}'")


def interactions(where_sent: list[Any], where_sales: list[Any], where_refunds: list[Any]) -> Any:
    """The events a fan row adds up, one row each: (chatter, creator, fan, at, type,
    ref, bought, amount, wait).  Each list narrows one part: the direct messages (``E``), the
    credited sales (``E``), and the credited refunds (``E``) joined to their ``sale``."""
    sent = select(
        E.c.chatter_id,
        E.c.creator_id,
        E.c.contact,
        E.c.occurred_at,
        E.c.type,
        E.c.ref,
        E.c.bought,
        E.c.amount_minor,
        E.c.response_seconds,
    ).where(
        of_type(E, "message_sent"),
        E.c.kind == literal_column("'direct'"),  # written in, as in of_type
        E.c.chatter_id.is_not(None),
        *where_sent,
    )
    sales = select(
        E.c.credit_chatter_id,
        E.c.creator_id,
        E.c.contact,
        E.c.occurred_at,
        E.c.type,
        E.c.ref,
        E.c.bought,
        E.c.amount_minor,
        literal_column("NULL"),
    ).where(E.c.type.in_(_SALES), E.c.credit_chatter_id.is_not(None), *where_sales)
    sale = SALE
    refunds = (
        select(
            E.c.credit_chatter_id,
            E.c.creator_id,
            sale.c.contact,
            E.c.occurred_at,
            E.c.type,
            E.c.ref,
            E.c.bought,
            E.c.amount_minor,
            literal_column("NULL"),
        )
        .select_from(E.join(sale, sale.c.event_id == E.c.ref))
        .where(
            E.c.type == "refund",
            E.c.credit_type.is_not(None),
            E.c.credit_chatter_id.is_not(None),
            *where_refunds,
        )
    )
    return sent, sales, refunds


def _add(acc: dict[tuple[int, int, int, str], _Sums], rows: Iterable[Any]) -> None:
    """Sums per (chatter, creator, UTC day, fan) of interaction rows."""
    for chatter, creator, fan, at, kind, ref, bought, amount, wait in rows:
        s = acc[(chatter, creator, day_of(at), fan)]
        if kind == "message_sent":
            s.messages_sent += 1
            if wait is not None:
                s.waits.append(int(wait))
            if ref is not None:
                s.ppv_sent += 1
                s.ppv_bought += bool(bought)
        elif kind == "ppv_purchase":
            s.ppv_revenue += amount
        elif kind == "tip":
            s.tip_revenue += amount
        else:
            s.refunds += amount
        s.touched(at)


def _rows(acc: dict[tuple[int, int, int, str], _Sums]) -> Iterator[dict[str, Any]]:
    for (chatter, creator, day, fan), s in acc.items():
        yield {
            "chatter_id": chatter,
            "creator_id": creator,
            "day": day,
            "contact": fan,
            "messages_sent": s.messages_sent,
            "ppv_sent": s.ppv_sent,
            "ppv_bought": s.ppv_bought,
            "ppv_revenue": s.ppv_revenue,
            "tip_revenue": s.tip_revenue,
            "refunds": s.refunds,
            "last_contact": s.last_contact,
            "response_values": pack(s.waits),
        }


def keys(connection: Connection, rows: Iterable[facts.Row]) -> set[Key]:
    """The (creator, day, fan) rows these new or changed events may change."""
    found: set[Key] = set()
    refunds: list[facts.Row] = []
    for r in rows:
        if r.type == "refund":
            if r.ref is not None:
                refunds.append(r)
        elif r.type == "message_sent" and r.kind != "direct":
            continue  # mass and automated messages count in no fan's row
        elif r.type in ("message_sent", *_SALES) and r.contact is not None:
            found.add((r.creator_id, day_of(r.occurred_at), r.contact))
    sales = facts.load(connection, sorted({r.ref for r in refunds if r.ref is not None}))
    fan_of = {s.event_id: s.contact for s in sales if s.type in _SALES}
    for r in refunds:
        fan = fan_of.get(r.ref or "")
        if fan is not None:
            found.add((r.creator_id, day_of(r.occurred_at), fan))
    return found


def refresh(connection: Connection, rows: Iterable[facts.Row]) -> None:
    """Recompute the fan rows these new or changed events fall in (every chatter's)."""
    # A purged period is closed: its rows keep the sums they had (db/retention.py).
    closed = retention.watermarks(connection).events_epoch() or 0
    by_day: dict[tuple[int, int], set[str]] = defaultdict(set)
    for creator, day, fan in keys(connection, rows):
        if day >= closed:
            by_day[(creator, day)].add(fan)
    for (creator, day), fans in sorted(by_day.items()):
        ordered = sorted(fans)
        for i in range(0, len(ordered), _CHUNK):
            _recompute(connection, creator, day, ordered[i : i + _CHUNK])


def _recompute(connection: Connection, creator: int, day: int, fans: list[str]) -> None:
    start, end = from_epoch(day), from_epoch(day + DAY)
    in_day = [E.c.occurred_at >= start, E.c.occurred_at < end]
    mine = [E.c.creator_id == creator, E.c.contact.in_(fans), *in_day]
    # A refund counts for the fan of its sale (found by the sale's conversation index).
    refunded = [E.c.creator_id == creator, SALE.c.contact.in_(fans), *in_day]
    sent, sales, refunds = interactions(mine, mine, refunded)
    acc: dict[tuple[int, int, int, str], _Sums] = defaultdict(_Sums)
    for part in (sent, sales, refunds):
        _add(acc, connection.execute(part))
    connection.execute(
        delete(FD).where(FD.c.creator_id == creator, FD.c.day == day, FD.c.contact.in_(fans))
    )
    written = list(_rows(acc))
    if written:
        connection.execute(insert(FD), written)


def rebuild(connection: Connection) -> None:
    """Every fan row from the events (rows of purged periods stay, as for the sales)."""
    since = retention.watermarks(connection).events_epoch() or 0
    connection.execute(delete(FD).where(FD.c.day >= since))
    after = [E.c.occurred_at >= from_epoch(since)]
    creators = [
        c for (c,) in connection.execute(select(E.c.creator_id).distinct()) if c is not None
    ]
    for creator in creators:
        # One creator's fans at a time: memory stays flat on millions of events.
        mine = [E.c.creator_id == creator, *after]
        sent, sales, refunds = interactions(mine, mine, mine)
        acc: dict[tuple[int, int, int, str], _Sums] = defaultdict(_Sums)
        for part in (sent, sales, refunds):
            _add(acc, connection.execute(part, execution_options={"stream_results": True}))
        written = list(_rows(acc))
        for i in range(0, len(written), 20_000):
            connection.execute(insert(FD), written[i : i + 20_000])


def forget_before(connection: Connection, cut: int) -> None:
    """Purging events before ``cut`` (a UTC midnight) takes their fan rows with them.

    Unlike the other rollups, these name fans: they go as the raw events do, and the fan
    view covers only the time since the cut (fans.kept).
    """
    connection.execute(delete(FD).where(FD.c.day < cut))


def whole_days(start: dt.datetime, end: dt.datetime) -> tuple[int, int] | None:
    """The UTC days [first, end) inside [start, end), or None when there is none."""
    first = -(-int(start.timestamp()) // DAY) * DAY
    last = int(end.timestamp()) // DAY * DAY
    return (first, last) if first < last else None
