"""One chatter's fans in a range: what each fan did with them, and the revenue breakdown.

A fan row is a conversation (creator, fan) the chatter took part in within the range: a
direct message they sent the fan, or a sale or refund credited to them (METRICS.md "Fan
interactions").  Mass and automated messages go to many fans at once (the demo's
"all-fans"), so they make no fan row and count in no fan's columns.  Everything is read
from the events with their stored facts (collector/stats/facts.py), so the credit rules
are the rollups' own; the breakdown's net equals the chatter's total_sales in the
all-chatters table.

The table is grouped, searched, sorted and paged in SQL over the fan_days rollup
(fan_days.py: one row per fan and UTC day) and, for the range's ragged edges, the events
themselves; the fan's own messages and the median wait are then read for the page's fans
only, from indexes alone (migration 0012).  The reference computation is
``collector.stats.metrics.fan_interactions``.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from sqlalchemy import (
    Connection,
    String,
    Table,
    bindparam,
    case,
    func,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from collector.db import retention
from collector.db.base import UTCDateTime
from collector.db.buckets import from_epoch, unpack
from collector.db.models import Creator, Event
from collector.db.text import whole_parameter
from collector.errors import ApiError
from collector.stats import fan_days, reports
from collector.stats.periods import Period
from collector.stats.queries import Selection
from collector.stats.tables import Column

E = cast(Table, Event.__table__)
_CHUNK = 500
PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_SEARCH = 200  # as long as a fan reference can be (events.contact)

# Sort keys of the fan table: the grouped query's columns, the fan's messages (counted
# per fan when sorted by), and the median wait (sorted in Python: see _by_median).
SORTS = (
    "fan",
    "creator",
    "messages_sent",
    "fan_messages",
    "ppv_sent",
    "ppv_bought",
    "ppv_revenue",
    "tip_revenue",
    "refunds",
    "net_revenue",
    "last_contact",
    "median_wait_seconds",
)
DEFAULT_SORT = "net_revenue"  # top spenders first

FAN_COLUMNS = [
    Column("fan", "Fan", "text"),
    Column("creator", "Creator", "text"),
    Column("creator_name", "Creator name", "text"),
    Column("messages_sent", "Messages sent", "integer"),
    Column("fan_messages", "Fan messages", "integer"),
    Column("ppv_sent", "Sent PPVs", "integer"),
    Column("ppv_bought", "Bought PPVs", "integer"),
    Column("ppv_revenue", "PPV spend", "money"),
    Column("tip_revenue", "Tip spend", "money"),
    Column("refunds", "Refunds", "money"),
    Column("net_revenue", "Net spend", "money"),
    Column("median_wait_seconds", "Median wait for a reply", "duration"),
    Column("last_contact", "Last contact", "datetime"),
]

# Sales before refunds; refunds a positive amount deducted (net = ppv + tips - refunds).
BREAKDOWN_COLUMNS = [
    Column("creator", "Creator", "text"),
    Column("name", "Creator name", "text"),
    Column("ppv_revenue", "PPV sales (before refunds)", "money"),
    Column("tip_revenue", "Tips (before refunds)", "money"),
    Column("refunds", "Refunds (deducted)", "money"),
    Column("net_revenue", "Net (= total sales)", "money"),
]


@dataclass
class FanRow:
    creator_id: int
    fan: str
    messages_sent: int = 0  # direct messages, as messages_sent in METRICS.md
    fan_messages: int = 0
    ppv_sent: int = 0
    ppv_bought: int = 0
    ppv_revenue: int = 0  # minor units, before refunds
    tip_revenue: int = 0
    refunds: int = 0
    last_contact: dt.datetime | None = None  # UTC
    waits: list[int] = field(default_factory=list)

    @property
    def net_revenue(self) -> int:
        return self.ppv_revenue + self.tip_revenue - self.refunds

    @property
    def median_wait_seconds(self) -> float | None:
        return float(statistics.median(self.waits)) if self.waits else None


@dataclass
class FanPage:
    rows: list[FanRow]
    total: int  # fans matching the search, over every page


@dataclass
class Revenue:
    ppv_revenue: int = 0
    tip_revenue: int = 0
    refunds: int = 0

    @property
    def net_revenue(self) -> int:
        return self.ppv_revenue + self.tip_revenue - self.refunds


def _where(table: Any, window: Period, creator_ids: frozenset[int] | None) -> list[Any]:
    """The window, and the chosen creators (None: every creator; a team lead's several)."""
    where = [table.c.occurred_at >= window.start, table.c.occurred_at < window.end]
    return where + _chosen(table, window, creator_ids)


def _chosen(table: Any, window: Period, creator_ids: frozenset[int] | None) -> list[Any]:
    condition = Selection(window, creator_ids).sold_for(table.c.creator_id)
    return [] if condition is None else [condition]


def _zero(name: str) -> Any:
    return literal_column("0").label(name)


def _interactions(chatter_id: int, window: Period, creator_ids: frozenset[int] | None) -> Any:
    """The chatter's interactions in the range as addends, one row per fan and UTC day.

    Whole UTC days come from the fan_days rollup (fan_days.py); the ragged edges of a
    local range (a few hours at each end) from the events themselves: direct messages
    by the chatter index (it holds the kind), sales and refunds by the credit index
    (migration 0012); a refund names no fan, so it takes its sale's.
    """
    parts: list[Any] = []
    days = fan_days.whole_days(window.start, window.end)
    edges = [(window.start, window.end)]
    if days is not None:
        first, end = days
        fd = fan_days.FD
        parts.append(
            select(
                fd.c.creator_id,
                fd.c.contact,
                fd.c.last_contact.label("at"),
                fd.c.messages_sent.label("direct"),
                fd.c.ppv_sent.label("ppv"),
                fd.c.ppv_bought.label("bought"),
                fd.c.ppv_revenue,
                fd.c.tip_revenue,
                fd.c.refunds,
            ).where(
                fd.c.chatter_id == chatter_id,
                fd.c.day >= first,
                fd.c.day < end,
                *_chosen(fd, window, creator_ids),
            )
        )
        edges = [(window.start, from_epoch(first)), (from_epoch(end), window.end)]
    for lo, hi in edges:
        if lo < hi:
            parts += _raw(chatter_id, replace(window, start=lo, end=hi), creator_ids)
    return union_all(*parts).subquery("interactions")


def _raw(chatter_id: int, window: Period, creator_ids: frozenset[int] | None) -> list[Any]:
    """The events of the chatter with a fan in ``window``, one row each, as addends."""
    sent = select(
        E.c.creator_id,
        E.c.contact,
        E.c.occurred_at.label("at"),
        literal_column("1").label("direct"),
        case((E.c.ref.is_not(None), 1), else_=0).label("ppv"),
        case((E.c.ref.is_not(None) & E.c.bought.is_(True), 1), else_=0).label("bought"),
        _zero("ppv_revenue"),
        _zero("tip_revenue"),
        _zero("refunds"),
    ).where(
        E.c.chatter_id == chatter_id,
        fan_days.of_type(E, "message_sent"),
        E.c.kind == literal_column("'direct'"),  # written in, as in fan_days.of_type
        *_where(E, window, creator_ids),
    )
    sales = select(
        E.c.creator_id,
        E.c.contact,
        E.c.occurred_at,
        _zero("direct"),
        _zero("ppv"),
        _zero("bought"),
        case((E.c.type == "ppv_purchase", E.c.amount_minor), else_=0),
        case((E.c.type == "tip", E.c.amount_minor), else_=0),
        _zero("refunds"),
    ).where(
        E.c.credit_chatter_id == chatter_id,
        E.c.type.in_(("ppv_purchase", "tip")),
        *_where(E, window, creator_ids),
    )
    sale = E.alias("sale")
    refunds = (
        select(
            E.c.creator_id,
            sale.c.contact,
            E.c.occurred_at,
            _zero("direct"),
            _zero("ppv"),
            _zero("bought"),
            _zero("ppv_revenue"),
            _zero("tip_revenue"),
            E.c.amount_minor,
        )
        .select_from(E.join(sale, sale.c.event_id == E.c.ref))
        .where(
            E.c.credit_chatter_id == chatter_id,
            E.c.type == "refund",
            E.c.credit_type.is_not(None),
            *_where(E, window, creator_ids),
        )
    )
    return [sent, sales, refunds]


def _fan_messages(window: Period, grouped: Any) -> Any:
    """The fan's own messages in the range, per grouped row (to sort by them)."""
    fan = E.alias("fan")
    return (
        select(func.count())
        .where(
            fan.c.creator_id == grouped.c.creator_id,
            fan.c.contact == grouped.c.contact,
            fan_days.of_type(fan, "fan_message"),
            *_where(fan, window, None),
        )
        .scalar_subquery()
    )


def fan_page(
    connection: Connection,
    chatter_id: int,
    window: Period,
    *,
    creator_ids: frozenset[int] | None = None,
    search: str = "",
    sort: str = DEFAULT_SORT,
    descending: bool = True,
    page: int = 1,
    per_page: int | None = PER_PAGE,
) -> FanPage:
    """One page of the chatter's fans (``per_page=None``: all of them), sorted and searched."""
    if window.start >= window.end:  # a range wholly before the purge cut (kept)
        return FanPage([], 0)
    u = _interactions(chatter_id, window, creator_ids)
    ppv_revenue = func.sum(u.c.ppv_revenue)
    tip_revenue = func.sum(u.c.tip_revenue)
    refunds = func.sum(u.c.refunds)
    grouped = (
        select(
            u.c.creator_id,
            u.c.contact,
            func.sum(u.c.direct).label("messages_sent"),
            func.sum(u.c.ppv).label("ppv_sent"),
            func.sum(u.c.bought).label("ppv_bought"),
            ppv_revenue.label("ppv_revenue"),
            tip_revenue.label("tip_revenue"),
            refunds.label("refunds"),
            (ppv_revenue + tip_revenue - refunds).label("net_revenue"),
            func.max(u.c.at).label("last_contact"),
        )
        .group_by(u.c.creator_id, u.c.contact)
        .subquery("fans")
    )
    fan_contact: Any = grouped.c.contact
    if connection.dialect.name == "postgresql":
        fan_contact = fan_contact.collate("C")  # byte order, as on SQLite
    query = select(grouped)
    if search:
        query = query.where(
            _any_case(connection, grouped.c.contact).contains(search.lower(), autoescape=True)
        )
    if sort == "median_wait_seconds":
        chosen = (chatter_id, window, creator_ids)
        return _by_median(connection, chosen, query, descending, page, per_page)
    columns: dict[str, Any] = {name: grouped.c[name] for name in SORTS if name in grouped.c}
    columns["fan"] = fan_contact
    if sort == "creator":  # by name, as the page shows it; the fan and id break ties
        creators = cast(Table, Creator.__table__)
        name: Any = (
            select(creators.c.name).where(creators.c.id == grouped.c.creator_id).scalar_subquery()
        )
        if connection.dialect.name == "postgresql":
            name = name.collate("C")  # byte order, as on SQLite
        columns["creator"] = name
    if sort == "fan_messages":
        columns["fan_messages"] = _fan_messages(window, grouped)
    order = columns[sort]
    query = query.add_columns(func.count().over().label("total")).order_by(
        order.desc() if descending else order.asc(),
        fan_contact.asc(),
        grouped.c.creator_id.asc(),
    )
    if per_page is not None:
        query = query.limit(per_page).offset((page - 1) * per_page)
    rows: list[FanRow] = []
    total = 0
    for r in connection.execute(query).mappings():
        total = int(r["total"])
        rows.append(_fan_row(r))
    if not rows and page > 1:  # past the last page: still say how many there are
        everything = query.order_by(None).limit(None).offset(None).subquery()
        counted = select(func.count()).select_from(everything)
        total = int(connection.execute(counted).scalar() or 0)
    _fan_message_counts(connection, window, rows)
    _waits(connection, chatter_id, window, rows)
    return FanPage(rows, total)


def _any_case(connection: Connection, column: Any) -> Any:
    """``column`` in lower case, every letter on both databases (SQLite's lower() is
    ASCII-only: db/engine.py gives it Python's)."""
    lower = func.unicode_lower if connection.dialect.name == "sqlite" else func.lower
    return lower(column)


def _fan_row(r: Any) -> FanRow:
    return FanRow(
        creator_id=r["creator_id"],
        fan=r["contact"],
        messages_sent=int(r["messages_sent"] or 0),
        ppv_sent=int(r["ppv_sent"] or 0),
        ppv_bought=int(r["ppv_bought"] or 0),
        ppv_revenue=int(r["ppv_revenue"] or 0),
        tip_revenue=int(r["tip_revenue"] or 0),
        refunds=int(r["refunds"] or 0),
        last_contact=r["last_contact"],
    )


def _by_median(
    connection: Connection,
    chosen: tuple[int, Period, frozenset[int] | None],
    query: Any,
    descending: bool,
    page: int,
    per_page: int | None,
) -> FanPage:
    """Sorted by the median wait: every matching fan's waits are read (the rollup keeps
    them per day), the medians sorted here (SQLite has no median); fans without a reply
    last either way, as in the other tables, then by fan and creator."""
    chatter_id, window, creator_ids = chosen
    rows = [_fan_row(r) for r in connection.execute(query).mappings()]
    waits = _all_waits(connection, chatter_id, window, creator_ids)
    for row in rows:
        row.waits = sorted(waits.get((row.creator_id, row.fan), ()))
    # Ties by fan and creator, as in SQL: code point order is UTF-8's byte order.
    rows.sort(key=lambda row: (row.fan, row.creator_id))
    answered = [row for row in rows if row.waits]
    answered.sort(key=lambda row: cast(float, row.median_wait_seconds), reverse=descending)
    ordered = answered + [row for row in rows if not row.waits]
    shown = ordered if per_page is None else ordered[(page - 1) * per_page : page * per_page]
    _fan_message_counts(connection, window, shown)
    return FanPage(shown, len(ordered))


def _all_waits(
    connection: Connection,
    chatter_id: int,
    window: Period,
    creator_ids: frozenset[int] | None,
    fans: Sequence[str] | None = None,
) -> dict[tuple[int, str], list[int]]:
    """The chatter's reply waits to each fan in the range (or to ``fans`` only): the
    rollup's whole UTC days (fan_days.py) and the events of the ragged edges."""
    found: dict[tuple[int, str], list[int]] = defaultdict(list)
    edges = [(window.start, window.end)]
    days = fan_days.whole_days(window.start, window.end)
    if days is not None:
        first, end = days
        fd = fan_days.FD
        stored = select(fd.c.creator_id, fd.c.contact, fd.c.response_values).where(
            fd.c.chatter_id == chatter_id,
            fd.c.day >= first,
            fd.c.day < end,
            fd.c.response_values != b"",
            *_chosen(fd, window, creator_ids),
        )
        if fans is not None:
            stored = stored.where(fd.c.contact.in_(_listed(fans)))
        for creator_id, contact, blob in connection.execute(stored):
            found[(creator_id, contact)].extend(unpack(blob))
        edges = [(window.start, from_epoch(first)), (from_epoch(end), window.end)]
    for lo, hi in edges:
        if lo < hi:
            replies = select(E.c.creator_id, E.c.contact, E.c.response_seconds).where(
                E.c.chatter_id == chatter_id,
                fan_days.of_type(E, "message_sent"),
                *_where(E, replace(window, start=lo, end=hi), creator_ids),
                E.c.response_seconds.is_not(None),
            )
            if fans is not None:
                replies = replies.where(E.c.contact.in_(_listed(fans)))
            for creator_id, contact, wait in connection.execute(replies):
                found[(creator_id, contact)].append(int(wait))
    return found


def _page_fans(rows: Sequence[FanRow]) -> Iterator[tuple[int, list[str], dict[str, FanRow]]]:
    """(creator, chunk of fans, their rows): the page's fans by creator, in chunks."""
    by_creator: dict[int, dict[str, FanRow]] = defaultdict(dict)
    for row in rows:
        by_creator[row.creator_id][row.fan] = row
    for creator_id, fans in by_creator.items():
        names = sorted(fans)
        for i in range(0, len(names), _CHUNK):
            yield creator_id, names[i : i + _CHUNK], fans


def _listed(fans: Sequence[str]) -> Any:
    """A page's fans written into the SQL: as 500 parameters, psycopg prepared the query
    after five runs and PostgreSQL then planned it once for any fans, scanning every fan
    message of the range (an export of 37 chunks took 35 s instead of 1 s)."""
    return bindparam("fans", list(fans), String(), expanding=True, literal_execute=True)


def _fan_messages_sql(hint: str) -> Any:
    return text(
        f"""
        SELECT contact, count(*) FROM events {hint}
        WHERE creator_id = :creator AND contact IN :fans AND type = 'fan_message'
          AND occurred_at >= :lo AND occurred_at < :hi
        GROUP BY contact
        """
    ).bindparams(
        bindparam("fans", type_=String(), expanding=True, literal_execute=True),
        bindparam("lo", type_=UTCDateTime()),
        bindparam("hi", type_=UTCDateTime()),
    )


# Written out to name the index for SQLite (SQLAlchemy renders no table hint there):
# without statistics it took the (type, contact) index and then fetched every message's
# row to check its creator, 90 ms for a page of busy fans instead of a few.
_FAN_MESSAGES = {
    "sqlite": _fan_messages_sql("INDEXED BY ix_events_fan_messages"),
    "postgresql": _fan_messages_sql(""),
}


def _fan_message_counts(connection: Connection, window: Period, rows: Sequence[FanRow]) -> None:
    """The fan's messages in the range, for these fans only (an index alone, 0012)."""
    counted = _FAN_MESSAGES[connection.dialect.name]
    for creator_id, chunk, fans in _page_fans(rows):
        found = connection.execute(
            counted, {"creator": creator_id, "fans": chunk, "lo": window.start, "hi": window.end}
        )
        for contact, count in found:
            fans[contact].fan_messages = int(count)


def _waits(connection: Connection, chatter_id: int, window: Period, rows: Sequence[FanRow]) -> None:
    """The chatter's reply waits to these fans only."""
    for creator_id, chunk, fans in _page_fans(rows):
        found = _all_waits(connection, chatter_id, window, frozenset([creator_id]), chunk)
        for (_, contact), waits in found.items():
            fans[contact].waits = sorted(waits)


def revenue_by_creator(
    connection: Connection,
    chatter_id: int,
    window: Period,
    creator_ids: frozenset[int] | None = None,
) -> dict[int, Revenue]:
    """Sales and refunds credited to the chatter in the range, per creator (gross)."""
    amount = func.sum(E.c.amount_minor)
    query = (
        select(E.c.creator_id, E.c.type, amount)
        .where(
            E.c.credit_chatter_id == chatter_id,
            E.c.type.in_(("ppv_purchase", "tip", "refund")),
            *_where(E, window, creator_ids),
        )
        .group_by(E.c.creator_id, E.c.type)
    )
    found: dict[int, Revenue] = defaultdict(Revenue)
    for creator, kind, total in connection.execute(query):
        part = found[creator]
        if kind == "ppv_purchase":
            part.ppv_revenue += int(total or 0)
        elif kind == "tip":
            part.tip_revenue += int(total or 0)
        else:
            part.refunds += int(total or 0)
    return dict(found)


# The reports: JSON bodies, or tables for the exports.


def kept(connection: Connection, window: Period) -> Period:
    """The part of the range whose events are still kept (after the purge cut, if any).

    The fan view and the breakdown read events and the fan_days rollup, which go when
    the events are purged (retention): a range reaching before the cut counts from it.
    """
    cut = retention.watermarks(connection).events
    return window if cut is None or cut <= window.start else replace(window, start=cut)


def _page_args(args: reports.Args) -> tuple[int, int]:
    return (
        whole_parameter(args, "page", 1, 1_000_000),
        whole_parameter(args, "per_page", PER_PAGE, MAX_PER_PAGE),
    )


def _creators(session: Session) -> dict[int, tuple[str, str]]:
    return {i: (k, n) for i, k, n in session.execute(select(Creator.id, Creator.key, Creator.name))}


def fans(session: Session, req: reports.Request, key: str) -> reports.Report:
    """The chatter's fans in the range: ``q`` (fan reference), ``sort``/``order``, paging.

    An export has every matching fan in the same order (no paging).
    """
    chatter = reports.find_chatter(req, key)
    sort = req.args.get("sort") or DEFAULT_SORT
    if sort not in SORTS:
        raise ApiError(400, "bad_parameter", f"sort={sort!r}: use one of {', '.join(SORTS)}")
    descending = reports.choice(req.args, "order", reports.ORDERS, "desc") == "desc"
    page, per_page = _page_args(req.args)
    search = (req.args.get("q") or "").strip()
    if len(search) > MAX_SEARCH:
        # Also SQLite's limit: a LIKE pattern of ~50,000 characters is "too complex".
        raise ApiError(400, "bad_parameter", f"q: at most {MAX_SEARCH} characters")
    found = fan_page(
        session.connection(),
        chatter.id,
        kept(session.connection(), req.period),
        creator_ids=req.creator_ids,
        search=search,
        sort=sort,
        descending=descending,
        page=page,
        per_page=per_page if req.fmt == "json" else None,
    )
    creators = _creators(session)
    rows = [_fan_fields(req, r, creators) for r in found.rows]
    if req.fmt != "json":
        columns = reports.export_columns(req.args, FAN_COLUMNS)
        return req.export(f"Fans of {chatter.name}", columns, rows, f"fans_{key}")
    return {
        **req.base(),
        "chatter": {"key": chatter.key, "name": chatter.name},
        "sort": sort,
        "order": "desc" if descending else "asc",
        "q": search,
        "page": page,
        "per_page": per_page,
        "total": found.total,
        "pages": max(1, -(-found.total // per_page)),
        "fans": rows,
    }


def _fan_fields(
    req: reports.Request, row: FanRow, creators: dict[int, tuple[str, str]]
) -> dict[str, Any]:
    last = row.last_contact
    return {
        "fan": row.fan,
        "creator": creators[row.creator_id][0],
        "creator_name": creators[row.creator_id][1],
        "messages_sent": row.messages_sent,
        "fan_messages": row.fan_messages,
        "ppv_sent": row.ppv_sent,
        "ppv_bought": row.ppv_bought,
        "ppv_revenue": req.money(row.ppv_revenue),
        "tip_revenue": req.money(row.tip_revenue),
        "refunds": req.money(row.refunds),
        "net_revenue": req.money(row.net_revenue),
        "median_wait_seconds": row.median_wait_seconds,
        "replies": len(row.waits),
        "last_contact": None if last is None else last.astimezone(req.period.tz).isoformat(),
    }


def breakdown(session: Session, req: reports.Request, key: str) -> reports.Report:
    """The chatter's revenue in the range by creator and by kind: PPV sales, tips, refunds."""
    chatter = reports.find_chatter(req, key)
    connection = session.connection()
    window = kept(connection, req.period)
    parts = revenue_by_creator(connection, chatter.id, window, req.creator_ids)
    creators = _creators(session)
    ordered = sorted(parts.items(), key=lambda item: creators[item[0]][1].lower())
    rows = [_revenue_fields(req, r) | _creator(creators[c]) for c, r in ordered]
    total = Revenue()
    for part in parts.values():
        total.ppv_revenue += part.ppv_revenue
        total.tip_revenue += part.tip_revenue
        total.refunds += part.refunds
    if req.fmt != "json":
        columns = reports.export_columns(req.args, BREAKDOWN_COLUMNS)
        return req.export(f"Revenue of {chatter.name}", columns, rows, f"revenue_{key}")
    return {
        **req.base(),
        "chatter": {"key": chatter.key, "name": chatter.name},
        "creators": rows,
        "totals": _revenue_fields(req, total),
    }


def _creator(known: tuple[str, str]) -> dict[str, str]:
    return {"creator": known[0], "name": known[1]}


def _revenue_fields(req: reports.Request, r: Revenue) -> dict[str, Any]:
    return {
        "ppv_revenue": req.money(r.ppv_revenue),
        "tip_revenue": req.money(r.tip_revenue),
        "refunds": req.money(r.refunds),
        "net_revenue": req.money(r.net_revenue),
    }
