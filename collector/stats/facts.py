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

from sqlalchemy import Connection, Table, bindparam, select, update

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
    return [Row(*r) for r in connection.execute(query)]


def load(connection: Connection, event_ids: Sequence[str]) -> list[Row]:
    found: list[Row] = []
    for i in range(0, len(event_ids), _CHUNK):
        found += fetch_rows(connection, SELECT.where(E.c.event_id.in_(event_ids[i : i + _CHUNK])))
    return found


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
                for contact, first, last in chunk:
                    window = [
                        r
                        for r in by_contact[contact]
                        if first - reach <= r.occurred_at <= last + reach
                    ]
                    self._conversation(creator_id, contact, first, last, window)

    def _conversation(
        self,
        creator_id: int,
        contact: str,
        first: dt.datetime,
        last: dt.datetime,
        window: list[Row],
    ) -> None:
        """Recompute the facts the conversation's new events between first and last can change.

        A new event changes the wait of the first reply at or after it, and the
        converter of tips up to 24 h after it.  ``window`` holds the conversation
        from 24 h before ``first`` to 24 h after ``last``.  Waits are recomputed
        from the last reply before ``first`` (a reply leaves nobody waiting); without
        one, the state at the window's start is read from the rows before it.
        """
        conn = self.connection
        start, horizon = (
            first - max(MAX_WAIT, CONVERTER_WINDOW),
            last + max(MAX_WAIT, CONVERTER_WINDOW),
        )
        same = (E.c.creator_id == creator_id) & (E.c.contact == contact)
        if not any(r.is_reply and r.occurred_at > last for r in window):
            next_reply = conn.execute(
                select(E.c.occurred_at)
                .where(same, *_reply_filter(), E.c.occurred_at > horizon)
                .order_by(E.c.occurred_at)
                .limit(1)
            ).scalar()
            if next_reply is not None:
                window += self.keep(
                    fetch_rows(
                        conn,
                        SELECT.where(
                            same,
                            E.c.type.in_(_CONVERSATION_TYPES),
                            E.c.occurred_at > horizon,
                            E.c.occurred_at <= next_reply,
                        ),
                    )
                )
        earlier = [r.order for r in window if r.is_reply and r.occurred_at < first]
        if earlier:
            walk_conversation(
                window, None, first, horizon, after=max(earlier), holders=self.holders
            )
        else:
            walk_conversation(
                window, self._waiting_at(same, start), first, horizon, holders=self.holders
            )

    def _waiting_at(self, same: Any, moment: dt.datetime) -> dt.datetime | None:
        """Since when a fan had been waiting just before ``moment`` (None: nobody waits)."""
        conn = self.connection
        # Ties break on event ids compared byte by byte, as Row.order does in Python.
        ident = E.c.event_id.collate("C") if conn.dialect.name == "postgresql" else E.c.event_id
        last_reply = conn.execute(
            select(E.c.occurred_at, E.c.event_id)
            .where(same, *_reply_filter(), E.c.occurred_at < moment)
            .order_by(E.c.occurred_at.desc(), ident.desc())
            .limit(1)
        ).first()
        after = [same, E.c.type == "fan_message", E.c.occurred_at < moment]
        if last_reply is not None:
            at, event_id = last_reply
            after.append((E.c.occurred_at > at) | ((E.c.occurred_at == at) & (ident > event_id)))
        return conn.execute(
            select(E.c.occurred_at).where(*after).order_by(E.c.occurred_at).limit(1)
        ).scalar()

    # PPVs: who sold each purchase, which PPV messages were bought.

    def ppvs(self, groups: set[tuple[int, str]]) -> None:
        by_creator: dict[int, list[str]] = defaultdict(list)
        for creator_id, ref in groups:
            by_creator[creator_id].append(ref)
        for creator_id, refs in by_creator.items():
            refs.sort()
            for i in range(0, len(refs), _CHUNK):
                # By ref alone: with the creator in the WHERE clause SQLite may pick the
                # creator index and scan all of that creator's events.
                found = fetch_rows(self.connection, SELECT.where(E.c.ref.in_(refs[i : i + _CHUNK])))
                rows = self.keep(
                    r
                    for r in found
                    if r.creator_id == creator_id and r.type in ("message_sent", "ppv_purchase")
                )
                by_ref: dict[str | None, list[Row]] = defaultdict(list)
                for row in rows:
                    by_ref[row.ref].append(row)
                for group in by_ref.values():
                    ppv_group(group, self.holders)

    # Refunds follow the sale they refund.

    def refunds(self, sales: Iterable[Row], refunds: Iterable[Row]) -> None:
        sale_ids = sorted({s.event_id for s in sales if s.type in ("ppv_purchase", "tip")})
        candidates = list(refunds)
        for i in range(0, len(sale_ids), _CHUNK):
            candidates += fetch_rows(
                self.connection,
                SELECT.where(E.c.type == "refund", E.c.ref.in_(sale_ids[i : i + _CHUNK])),
            )
        candidates = self.keep(candidates)
        wanted = sorted({r.ref for r in candidates if r.ref})
        refunded: dict[str, Row] = {}
        for i in range(0, len(wanted), _CHUNK):
            for row in self.keep(
                fetch_rows(self.connection, SELECT.where(E.c.event_id.in_(wanted[i : i + _CHUNK])))
            ):
                refunded[row.event_id] = row
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


def _reply_filter() -> tuple[Any, ...]:
    return (E.c.type == "message_sent", E.c.kind == "direct", E.c.chatter_id.is_not(None))


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


def store(connection: Connection, rows: Sequence[Row]) -> None:
    if not rows:
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
            for r in rows
        ],
    )
