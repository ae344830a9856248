"""Derived facts on event rows, kept exact whatever order events arrive in.

Three facts depend on other events: who a sale is credited to (a PPV's sender,
a tip's converter, a refunded sale's chatter), whether a PPV message was
bought, and the wait a direct reply ended.  They are stored on the events so
that a rollup bucket can be recomputed from one creator's rows in that bucket
(collector/stats/rollups.py).  When events arrive, ``derive`` recomputes the
facts of every event the new ones can affect, and returns what changed.

The rules are METRICS.md's; collector/stats/metrics.py computes the same
numbers from scratch and the property tests hold the two together.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, column, select, update, values

from collector.db import lists
from collector.db.models import Event
from collector.db.settings import CreditRules, credit_rules
from collector.stats.holders import Holders
from collector.stats.metrics import CONVERTER_WINDOW, MAX_WAIT

E = cast(Table, Event.__table__)
_CHUNK = 500
_COLUMNS = (
    E.c.id,
    E.c.event_id,
    E.c.type,
    E.c.occurred_at,
    E.c.creator_id,
    E.c.chatter_id,
    E.c.contact,
    E.c.kind,
    E.c.ref,
    E.c.credit_chatter_id,
    E.c.credit_type,
    E.c.bought,
    E.c.response_seconds,
    E.c.assigned_chatter_id,
)
SELECT = select(*_COLUMNS)
# The event types a conversation's waits and converters are made of.
_CONVERSATION_TYPES = ("fan_message", "message_sent", "tip")


@dataclass
class Row:
    id: int
    event_id: str
    type: str
    occurred_at: dt.datetime
    creator_id: int
    chatter_id: int | None
    contact: str | None
    kind: str | None
    ref: str | None
    credit_chatter_id: int | None
    credit_type: str | None
    bought: bool
    response_seconds: int | None
    assigned_chatter_id: int | None

    @property
    def order(self) -> tuple[dt.datetime, str]:
        return (self.occurred_at, self.event_id)

    @property
    def is_reply(self) -> bool:
        return self.type == "message_sent" and self.kind == "direct" and self.chatter_id is not None

    def facts(self) -> tuple[int | None, str | None, bool, int | None]:
        return (self.credit_chatter_id, self.credit_type, self.bought, self.response_seconds)


def fetch_rows(connection: Connection, query: Any) -> list[Row]:
    return [Row(*r) for r in connection.execute(query).all()]


def load(connection: Connection, event_ids: Sequence[str]) -> list[Row]:
    """The rows of these event ids (those that exist)."""
    return [Row(*r) for r in lists.rows_with(connection, SELECT, E.c.event_id, event_ids)]


class _Derivation:
    """The facts of one ingest: candidate rows by id, with their new values."""

    def __init__(self, connection: Connection, holders: Holders | None = None) -> None:
        self.connection = connection
        self.holders = holders
        self.rows: dict[int, Row] = {}
        self.before: dict[int, tuple[int | None, str | None, bool, int | None]] = {}

    def keep(self, rows: Iterable[Row]) -> list[Row]:
        """The canonical instance of each row (facts already set this run win)."""
        kept = []
        for row in rows:
            if row.id not in self.rows:
                self.rows[row.id] = row
                self.before[row.id] = row.facts()
            kept.append(self.rows[row.id])
        return kept

    def changed(self) -> list[Row]:
        return [row for row in self.rows.values() if row.facts() != self.before[row.id]]

    # Conversations: reply waits and tip converters.

    def conversations(self, spans: dict[tuple[int, str], tuple[dt.datetime, dt.datetime]]) -> None:
        """Recompute the conversations the new events fell in, reading them in batches."""
        reach = max(MAX_WAIT, CONVERTER_WINDOW)
        groups: dict[tuple[int, dt.date], list[tuple[str, dt.datetime, dt.datetime]]] = defaultdict(
            list
        )
        for (creator_id, contact), (first, last) in spans.items():
            groups[(creator_id, first.date())].append((contact, first, last))
        for (creator_id, _), items in groups.items():
            for i in range(0, len(items), _CHUNK):
                chunk = items[i : i + _CHUNK]
                found = self.keep(
                    fetch_rows(
                        self.connection,
                        SELECT.where(
                            E.c.creator_id == creator_id,
                            E.c.contact.in_([contact for contact, _, _ in chunk]),
                            E.c.type.in_(_CONVERSATION_TYPES),
                            E.c.occurred_at >= min(f for _, f, _ in chunk) - reach,
                            E.c.occurred_at <= max(last for _, _, last in chunk) + reach,
                        ),
                    )
                )
                by_contact: dict[str | None, list[Row]] = defaultdict(list)
                for row in found:
                    by_contact[row.contact].append(row)
                windows = {
                    contact: [
                        r
                        for r in by_contact[contact]
                        if first - reach <= r.occurred_at <= last + reach
                    ]
                    for contact, first, last in chunk
                }
                self._chunk(creator_id, chunk, windows)

    def _chunk(
        self,
        creator_id: int,
        chunk: list[tuple[str, dt.datetime, dt.datetime]],
        windows: dict[str, list[Row]],
    ) -> None:
        """Recompute the facts a chunk of one creator's conversations can change.

        A new event changes the wait of the first reply at or after it, and the
        converter of tips up to 24 h after it.  Each window holds its conversation
        from 24 h before its first new event to 24 h after its last.  Where no reply
        follows within the window, it is extended to the next reply (the wait that
        reply ends may start inside the window).  Waits are recomputed from the last
        reply before the first new event (a reply leaves nobody waiting); without one,
        the state at the window's start is read from the rows before it.  The reads
        beyond the windows take a few statements per chunk, not per conversation.
        """
        reach = max(MAX_WAIT, CONVERTER_WINDOW)
        open_ended = {
            contact: last + reach
            for contact, _, last in chunk
            if not any(r.is_reply and r.occurred_at > last for r in windows[contact])
        }
        for row in self._until_next_reply(creator_id, open_ended):
            windows[row.contact or ""].append(row)
        unanchored = {
            contact: first - reach
            for contact, first, _ in chunk
            if not any(r.is_reply and r.occurred_at < first for r in windows[contact])
        }
        waiting = self._waiting_at(creator_id, unanchored)
        for contact, first, last in chunk:
            window, horizon = windows[contact], last + reach
            earlier = [r.order for r in window if r.is_reply and r.occurred_at < first]
            if earlier:
                walk_conversation(
                    window, None, first, horizon, after=max(earlier), holders=self.holders
                )
            else:
                walk_conversation(
                    window, waiting.get(contact), first, horizon, holders=self.holders
                )

    def _until_next_reply(self, creator_id: int, horizons: dict[str, dt.datetime]) -> list[Row]:
        """Each conversation's rows after its horizon, up to and with its next reply."""
        if not horizons:
            return []
        bounds = _values(
            "horizons", horizons.items(), ("contact", E.c.contact), ("after", E.c.occurred_at)
        )
        nxt = E.alias("nxt")
        next_reply = (
            select(nxt.c.occurred_at)
            .where(
                nxt.c.creator_id == creator_id,
                nxt.c.contact == bounds.c.contact,
                *_reply_filter(nxt),
                nxt.c.occurred_at > bounds.c.after,
            )
            .order_by(nxt.c.occurred_at)
            .limit(1)
            .scalar_subquery()
        )
        ends = select(bounds.c.contact, bounds.c.after, next_reply.label("until")).subquery("ends")
        return self.keep(
            fetch_rows(
                self.connection,
                select(*_COLUMNS)
                .select_from(ends)
                .join(E, (E.c.creator_id == creator_id) & (E.c.contact == ends.c.contact))
                .where(
                    ends.c.until.is_not(None),
                    E.c.type.in_(_CONVERSATION_TYPES),
                    E.c.occurred_at > ends.c.after,
                    E.c.occurred_at <= ends.c.until,
                ),
            )
        )

    def _waiting_at(
        self, creator_id: int, moments: dict[str, dt.datetime]
    ) -> dict[str, dt.datetime | None]:
        """Since when each fan had been waiting just before its moment (absent: nobody)."""
        if not moments:
            return {}
        conn = self.connection
        points = _values(
            "moments", moments.items(), ("contact", E.c.contact), ("before", E.c.occurred_at)
        )
        # Ties break on event ids compared byte by byte, as Row.order does in Python.
        last = E.alias("last_reply")
        last_id = _ident(conn, last.c.event_id)
        last_reply = (
            select(last.c.id)
            .where(
                last.c.creator_id == creator_id,
                last.c.contact == points.c.contact,
                *_reply_filter(last),
                last.c.occurred_at < points.c.before,
            )
            .order_by(last.c.occurred_at.desc(), last_id.desc())
            .limit(1)
            .scalar_subquery()
        )
        found = select(points.c.contact, last_reply.label("reply_id")).subquery("found")
        replies = {
            contact: (at, event_id)
            for contact, at, event_id in conn.execute(
                select(found.c.contact, E.c.occurred_at, E.c.event_id)
                .select_from(found)
                .join(E, E.c.id == found.c.reply_id)
            )
        }
        waiting = self._first_fan_message(
            creator_id, [(c, m) for c, m in moments.items() if c not in replies]
        )
        waiting.update(
            self._first_fan_message(
                creator_id, [(c, m, *replies[c]) for c, m in moments.items() if c in replies]
            )
        )
        return waiting

    def _first_fan_message(
        self, creator_id: int, marks: list[tuple[Any, ...]]
    ) -> dict[str, dt.datetime | None]:
        """The first fan message before each (contact, moment), after the reply each mark
        may add as (its time, its event id)."""
        if not marks:
            return {}
        columns = [("contact", E.c.contact), ("before", E.c.occurred_at)]
        after_reply = len(marks[0]) == 4
        if after_reply:
            columns += [("reply_at", E.c.occurred_at), ("reply_id", E.c.event_id)]
        listed = _values("marks", marks, *columns)
        fan = E.alias("fan")
        where = [
            fan.c.creator_id == creator_id,
            fan.c.contact == listed.c.contact,
            fan.c.type == "fan_message",
            fan.c.occurred_at < listed.c.before,
        ]
        if after_reply:
            fan_id = _ident(self.connection, fan.c.event_id)
            where += [
                fan.c.occurred_at >= listed.c.reply_at,
                (fan.c.occurred_at > listed.c.reply_at) | (fan_id > listed.c.reply_id),
            ]
        first = select(fan.c.occurred_at).where(*where).order_by(fan.c.occurred_at).limit(1)
        query = select(listed.c.contact, first.scalar_subquery())
        return {contact: at for contact, at in self.connection.execute(query)}

    # PPVs: who sold each purchase, which PPV messages were bought.

    def ppvs(self, groups: set[tuple[int, str]]) -> None:
        by_creator: dict[int, list[str]] = defaultdict(list)
        for creator_id, ref in groups:
            by_creator[creator_id].append(ref)
        for creator_id, refs in by_creator.items():
            # By ref alone: with the creator in the WHERE clause SQLite may pick the
            # creator index and scan all of that creator's events.
            found = lists.rows_with(self.connection, SELECT, E.c.ref, sorted(refs))
            rows = self.keep(
                row
                for row in (Row(*r) for r in found)
                if row.creator_id == creator_id and row.type in ("message_sent", "ppv_purchase")
            )
            by_ref: dict[str | None, list[Row]] = defaultdict(list)
            for row in rows:
                by_ref[row.ref].append(row)
            for group in by_ref.values():
                ppv_group(group, self.holders)

    # Refunds follow the sale they refund.

    def refunds(self, sales: Iterable[Row], refunds: Iterable[Row]) -> None:
        sale_ids = sorted({s.event_id for s in sales if s.type in ("ppv_purchase", "tip")})
        refunding = SELECT.where(E.c.type == "refund")
        found = lists.rows_with(self.connection, refunding, E.c.ref, sale_ids)
        candidates = self.keep([*refunds, *(Row(*r) for r in found)])
        wanted = sorted({r.ref for r in candidates if r.ref})
        refunded = {row.event_id: row for row in self.keep(load(self.connection, wanted))}
        for refund in candidates:
            settle_refund(refund, refunded.get(refund.ref or ""))


def walk_conversation(
    rows: list[Row],
    waiting: dt.datetime | None,
    tips_from: dt.datetime | None = None,
    tips_to: dt.datetime | None = None,
    *,
    after: tuple[dt.datetime, str] | None = None,
    holders: Holders | None = None,
) -> None:
    """Set reply waits and tip credits over one conversation's rows (any order).

    ``waiting`` is the state before the first row; with ``after`` (a reply's
    order), waits are recomputed only past that reply, and nobody waits there.
    Tips outside ``tips_from``..``tips_to`` keep their credit (their look-back
    is incomplete).  ``holders``: the shift rule, when a setting asks for it.
    """
    rows.sort(key=lambda r: r.order)
    reply_times: list[dt.datetime] = []
    reply_chatters: list[int] = []
    tips: list[Row] = []
    for row in rows:
        settled = after is not None and row.order <= after
        if row.type == "fan_message":
            if waiting is None and not settled:
                waiting = row.occurred_at
        elif row.is_reply:
            reply_times.append(row.occurred_at)
            reply_chatters.append(row.chatter_id)  # type: ignore[arg-type]
            if settled:
                continue
            row.response_seconds = None
            if waiting is not None:
                wait = row.occurred_at - waiting
                if wait <= MAX_WAIT:
                    row.response_seconds = int(wait.total_seconds())
                waiting = None
        elif row.type == "tip":
            if (tips_from is None or tips_from <= row.occurred_at) and (
                tips_to is None or row.occurred_at <= tips_to
            ):
                tips.append(row)
    for tip in tips:
        tip.credit_chatter_id = (
            tip.assigned_chatter_id
            or (holders and holders.holder(tip.type, tip.creator_id, tip.occurred_at))
            or tip.chatter_id
            or _converter(reply_times, reply_chatters, tip.occurred_at)
        )


def settle_refund(refund: Row, sale: Row | None) -> None:
    """A refund follows the sale it refunds; of an unknown sale it is unmatched."""
    if sale is None or sale.type not in ("ppv_purchase", "tip"):
        refund.credit_chatter_id, refund.credit_type = None, None
    else:
        refund.credit_chatter_id, refund.credit_type = sale.credit_chatter_id, sale.type


def _reply_filter(table: Any = E) -> tuple[Any, ...]:
    return (
        table.c.type == "message_sent",
        table.c.kind == "direct",
        table.c.chatter_id.is_not(None),
    )


def _ident(connection: Connection, event_id: Any) -> Any:
    """An event id that sorts byte by byte on both databases, as Python compares str."""
    return event_id.collate("C") if connection.dialect.name == "postgresql" else event_id


def _values(name: str, rows: Iterable[tuple[Any, ...]], *columns: tuple[str, Any]) -> Any:
    """A VALUES list as a CTE, its columns typed like the event columns they hold."""
    return (
        values(*(column(label, like.type) for label, like in columns), name=name)
        .data(list(rows))
        .cte(name)
    )


def _converter(times: list[dt.datetime], chatters: list[int], moment: dt.datetime) -> int | None:
    """The chatter of the last reply at or before ``moment``, if within 24 h."""
    i = bisect.bisect_right(times, moment) - 1
    if i < 0 or moment - times[i] > CONVERTER_WINDOW:
        return None
    return chatters[i]


def ppv_group(rows: list[Row], holders: Holders | None = None) -> None:
    """One PPV of one creator: credit each purchase to whoever sent it to that fan."""
    rows.sort(key=lambda r: r.order)
    sender_to: dict[str | None, int | None] = {}
    first_sender: int | None = None
    buyers = set()
    for row in rows:
        if row.type == "message_sent":
            sender_to.setdefault(row.contact, row.chatter_id)
            if first_sender is None:
                first_sender = row.chatter_id
        else:
            buyers.add(row.contact)
    for row in rows:
        if row.type == "message_sent":
            row.bought = row.contact in buyers
        else:
            row.credit_chatter_id = (
                row.assigned_chatter_id
                or (holders and holders.holder(row.type, row.creator_id, row.occurred_at))
                or sender_to.get(row.contact, first_sender)
            )


def holders_for(connection: Connection, rules: CreditRules | None) -> Holders | None:
    """The shift holders when a setting credits some sales by shift (None: no extra read)."""
    if rules is None:
        rules = credit_rules(connection)
    return Holders(connection, rules) if rules.by_shift else None


def derive(
    connection: Connection,
    new_ids: Sequence[str],
    rules: CreditRules | None = None,
    *,
    fresh: bool = True,
) -> list[Row]:
    """Recompute every fact the new events can change; store and return the changed rows.

    The new rows are returned too (their buckets changed even when no fact did), unless
    ``fresh`` is False (the rows are old ones whose credit may have changed).  ``rules``:
    the settings ppv_credit and tip_credit when the caller has read them (else read here).
    """
    holders = holders_for(connection, rules)
    work = _Derivation(connection, holders)
    new = work.keep(load(connection, new_ids))
    if holders is not None:
        holders.load({r.creator_id for r in new})
    spans: dict[tuple[int, str], tuple[dt.datetime, dt.datetime]] = {}
    ppv_groups: set[tuple[int, str]] = set()
    for row in new:
        if row.type in _CONVERSATION_TYPES and row.contact is not None:
            key = (row.creator_id, row.contact)
            lo, hi = spans.get(key, (row.occurred_at, row.occurred_at))
            spans[key] = (min(lo, row.occurred_at), max(hi, row.occurred_at))
        if row.ref is not None and row.type in ("message_sent", "ppv_purchase"):
            ppv_groups.add((row.creator_id, row.ref))
    work.conversations(spans)
    work.ppvs(ppv_groups)
    recredited = [r for r in work.changed() if r.type in ("ppv_purchase", "tip")]
    work.refunds(
        [r for r in new if r.type in ("ppv_purchase", "tip")] + recredited,
        [r for r in new if r.type == "refund"],
    )
    changed = work.changed()
    store(connection, changed)
    if not fresh:
        return changed
    seen = {r.id for r in changed}
    return changed + [r for r in new if r.id not in seen]


# PostgreSQL: one statement for any number of rows, the new facts as one array per column
# (an executemany of single-row UPDATEs is a round trip and a plan per row).
_STORE_ARRAYS = """
    UPDATE events
    SET credit_chatter_id = f.credit, credit_type = f.credit_kind, bought = f.is_bought,
        response_seconds = f.wait
    FROM unnest(%s::bigint[], %s::integer[], %s::varchar[], %s::boolean[], %s::integer[])
        AS f(row_id, credit, credit_kind, is_bought, wait)
    WHERE events.id = f.row_id
"""


def store(connection: Connection, rows: Sequence[Row]) -> None:
    """Write the rows' facts back, in id order (the table's order: neighbours share pages)."""
    if not rows:
        return
    ordered = sorted(rows, key=lambda r: r.id)
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            _STORE_ARRAYS,
            (
                [r.id for r in ordered],
                [r.credit_chatter_id for r in ordered],
                [r.credit_type for r in ordered],
                [r.bought for r in ordered],
                [r.response_seconds for r in ordered],
            ),
        )
        return
    connection.execute(
        update(E)
        .where(E.c.id == bindparam("row_id"))
        .values(
            credit_chatter_id=bindparam("credit"),
            credit_type=bindparam("credit_kind"),
            bought=bindparam("is_bought"),
            response_seconds=bindparam("wait"),
        ),
        [
            {
                "row_id": r.id,
                "credit": r.credit_chatter_id,
                "credit_kind": r.credit_type,
                "is_bought": r.bought,
                "wait": r.response_seconds,
            }
            for r in ordered
        ],
    )
