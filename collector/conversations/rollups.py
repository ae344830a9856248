"""Conversation figures per 15-minute UTC bucket and per UTC day.

Three kinds of rollup, each recomputed from its rows (the request and order
facts, the widget and survey events) whenever anything in the bucket may have
changed, never patched:

- additive sums per bucket and agent, and per bucket for all agents
  (requests and conversations by initiator and channel, durations,
  attributed orders and GMV, surveys by rating, auto message clicks);
- the distinct visitors of each kind (impression, click, requester,
  conversation, buyer, and ``auto`` per trigger) as sorted uint32 ids, so
  distinct counts over any range stay exact (a union, not a sum);
- requests and conversations per page.

Days, and the visitor sets' UTC hours, are recomputed from their buckets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, cast

import numpy as np
from sqlalchemy import Connection, Table, and_, delete, func, insert, select, text

from collector.conversations.facts import CO, CR, CV, E
from collector.db.buckets import DAY, HOUR, QUARTER, bucket_of, from_epoch, pack, runs, unpack_array
from collector.db.conversation_models import (
    ConversationDay,
    ConversationQuarter,
    ConversationQuarterTotal,
    ConversationUrlDay,
    ConversationUrlQuarter,
    ConversationVisitorDay,
    ConversationVisitorHour,
    ConversationVisitorQuarter,
)

Q = cast(Table, ConversationQuarter.__table__)
QT = cast(Table, ConversationQuarterTotal.__table__)
D = cast(Table, ConversationDay.__table__)
VQ = cast(Table, ConversationVisitorQuarter.__table__)
VD = cast(Table, ConversationVisitorDay.__table__)
VH = cast(Table, ConversationVisitorHour.__table__)
UQ = cast(Table, ConversationUrlQuarter.__table__)
UD = cast(Table, ConversationUrlDay.__table__)


SUMS = (
    "req_agent_text",
    "req_agent_video",
    "req_visitor_text",
    "req_visitor_video",
    "conv_agent_text",
    "conv_agent_video",
    "conv_visitor_text",
    "conv_visitor_video",
    "duration_total",
    "orders",
    "gmv",
    "nps_responses",
    "nps_rated",
    "nps_total",
    "nps_1",
    "nps_2",
    "nps_3",
    "nps_4",
    "nps_5",
    "auto_clicks",
)
INDEX = {name: i for i, name in enumerate(SUMS)}
KINDS = ("impression", "click", "requester", "conversation", "buyer", "auto")
_WIDGET_KIND = {"widget_impression": "impression", "widget_click": "click"}


def _between(column: Any, lo: int, hi: int) -> Any:
    return and_(column >= lo, column < hi)


class Accumulator:
    """The rollup rows of a range of buckets, built from the facts and events in it."""

    def __init__(self) -> None:
        self.sums: dict[tuple[int, int | None], list[int]] = defaultdict(lambda: [0] * len(SUMS))
        self.sets: dict[tuple[int, str, str], set[int]] = defaultdict(set)
        self.events: dict[tuple[int, str, str], int] = defaultdict(int)
        self.urls: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])

    def read(self, connection: Connection, lo: int, hi: int) -> None:
        requests = select(
            CR.c.bucket,
            CR.c.initiator,
            CR.c.channel,
            CR.c.agent_id,
            CR.c.connected_at.is_not(None),
            CR.c.duration_seconds,
            CR.c.visitor_id,
            CR.c.url,
        ).where(_between(CR.c.bucket, lo, hi))
        for (
            bucket,
            initiator,
            channel,
            agent,
            connected,
            duration,
            visitor,
            url,
        ) in connection.execute(requests):
            s = self.sums[(bucket, agent)]
            s[INDEX[f"req_{initiator}_{channel}"]] += 1
            page = self.urls[(bucket, url)]
            page[0] += 1
            if initiator == "visitor":
                self._visitor(bucket, "requester", "", visitor)
            if connected:
                s[INDEX[f"conv_{initiator}_{channel}"]] += 1
                s[INDEX["duration_total"]] += duration or 0
                page[1] += 1
                self._visitor(bucket, "conversation", "", visitor)
        orders = select(CO.c.bucket, CO.c.agent_id, CO.c.value, CO.c.visitor_id).where(
            _between(CO.c.bucket, lo, hi), CO.c.request_id.is_not(None)
        )
        for bucket, agent, value, visitor in connection.execute(orders):
            s = self.sums[(bucket, agent)]
            s[INDEX["orders"]] += 1
            s[INDEX["gmv"]] += value
            self._visitor(bucket, "buyer", "", visitor)
        lo_at, hi_at = from_epoch(lo), from_epoch(hi)
        nps = (
            select(E.c.occurred_at, E.c.rating, func.coalesce(E.c.chatter_id, CR.c.agent_id))
            .select_from(E.outerjoin(CR, CR.c.request_id == E.c.ref))
            .where(E.c.type == "nps_response", E.c.occurred_at >= lo_at, E.c.occurred_at < hi_at)
        )
        for at, rating, agent in connection.execute(nps):
            s = self.sums[(bucket_of(at), agent)]
            s[INDEX["nps_responses"]] += 1
            if rating is not None:
                s[INDEX["nps_rated"]] += 1
                s[INDEX["nps_total"]] += rating
                s[INDEX[f"nps_{rating}"]] += 1
        widget = (
            select(E.c.type, E.c.occurred_at, CV.c.id, E.c.ref)
            .select_from(E.join(CV, CV.c.visitor == E.c.contact))
            .where(
                E.c.type.in_(("widget_impression", "widget_click", "auto_message_click")),
                E.c.occurred_at >= lo_at,
                E.c.occurred_at < hi_at,
            )
        )
        for type_, at, visitor, ref in connection.execute(widget):
            bucket = bucket_of(at)
            if type_ == "auto_message_click":
                self.sums[(bucket, None)][INDEX["auto_clicks"]] += 1
                self._visitor(bucket, "auto", ref or "", visitor)
            else:
                self._visitor(bucket, _WIDGET_KIND[type_], "", visitor)

    def _visitor(self, bucket: int, kind: str, key: str, visitor: int) -> None:
        self.sets[(bucket, kind, key)].add(visitor)
        self.events[(bucket, kind, key)] += 1

    def write(self, connection: Connection, lo: int, hi: int) -> None:
        for table in (Q, QT, VQ, UQ):
            connection.execute(delete(table).where(_between(table.c.bucket, lo, hi)))
        sums = [
            {"bucket": b, "agent_id": a, **dict(zip(SUMS, s, strict=True))}
            for (b, a), s in self.sums.items()
            if any(s)
        ]
        totals: dict[int, list[int]] = defaultdict(lambda: [0] * len(SUMS))
        for (b, _), s in self.sums.items():
            totals[b] = [t + v for t, v in zip(totals[b], s, strict=True)]
        bucket_totals = [
            {"bucket": b, **dict(zip(SUMS, s, strict=True))} for b, s in totals.items() if any(s)
        ]
        sets = [
            {
                "bucket": b,
                "kind": kind,
                "key": key,
                "visitors": len(ids),
                "events": self.events[(b, kind, key)],
                "ids": pack(ids),
            }
            for (b, kind, key), ids in self.sets.items()
        ]
        urls = [
            {"bucket": b, "url": url, "requests": r, "conversations": c}
            for (b, url), (r, c) in self.urls.items()
        ]
        for table, rows in ((Q, sums), (QT, bucket_totals), (VQ, sets), (UQ, urls)):
            for i in range(0, len(rows), 5000):
                connection.execute(insert(table), rows[i : i + 5000])


def refresh(connection: Connection, buckets: Iterable[int]) -> None:
    """Recompute these buckets from their rows, then their days from the buckets."""
    chosen = set(buckets)
    if not chosen:
        return
    for lo, hi, _ in runs(chosen, QUARTER):
        acc = Accumulator()
        acc.read(connection, lo, hi)
        acc.write(connection, lo, hi)
    refresh_days(connection, {b - b % DAY for b in chosen})


_DAY_SUMS = text(
    f"""
    INSERT INTO conversation_days (day, agent_id, {", ".join(SUMS)})
    SELECT :day, agent_id, {", ".join(f"coalesce(sum({n}), 0)" for n in SUMS)}
    FROM conversation_quarters
    WHERE bucket >= :day AND bucket < :day_end
    GROUP BY agent_id
    """
)
_DAY_URLS = text(
    """
    INSERT INTO conversation_url_days (day, url, requests, conversations)
    SELECT :day, url, sum(requests), sum(conversations)
    FROM conversation_url_quarters
    WHERE bucket >= :day AND bucket < :day_end
    GROUP BY url
    """
)


def refresh_days(connection: Connection, days: Iterable[int]) -> None:
    chosen = sorted(set(days))
    if not chosen:
        return
    for lo, hi, _ in runs(chosen, DAY):
        for table, column in ((D, D.c.day), (VD, VD.c.day), (VH, VH.c.hour), (UD, UD.c.day)):
            connection.execute(delete(table).where(_between(column, lo, hi)))
        params = [{"day": d, "day_end": d + DAY} for d in range(lo, hi, DAY)]
        connection.execute(_DAY_SUMS, params)
        connection.execute(_DAY_URLS, params)
        days_of: dict[tuple[int, str, str], list[Any]] = defaultdict(list)
        hours_of: dict[tuple[int, str, str], list[Any]] = defaultdict(list)
        query = select(VQ.c.bucket, VQ.c.kind, VQ.c.key, VQ.c.events, VQ.c.ids).where(
            _between(VQ.c.bucket, lo, hi)
        )
        for bucket, kind, key, count, blob in connection.execute(query):
            part = (count, unpack_array(blob))
            days_of[(bucket - bucket % DAY, kind, key)].append(part)
            hours_of[(bucket - bucket % HOUR, kind, key)].append(part)
        _insert_sets(connection, VD, "day", days_of, 2000)
        _insert_sets(connection, VH, "hour", hours_of, 5000)


def _insert_sets(
    connection: Connection,
    table: Table,
    column: str,
    merged: dict[tuple[int, str, str], list[Any]],
    batch: int,
) -> None:
    """Each merged set's union of visitors and sum of events as rows of ``table``."""
    rows = []
    for (start, kind, key), parts in merged.items():
        ids = np.unique(np.concatenate([ids for _, ids in parts]))
        rows.append(
            {
                column: start,
                "kind": kind,
                "key": key,
                "visitors": len(ids),
                "events": sum(count for count, _ in parts),
                "ids": ids.astype("<u4").tobytes(),
            }
        )
    for i in range(0, len(rows), batch):
        connection.execute(insert(table), rows[i : i + batch])
