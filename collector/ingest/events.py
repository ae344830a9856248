"""Validating and storing business events idempotently (by client-given id)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import msgspec
from sqlalchemy import Connection, Table, select
from sqlalchemy.orm import Session

from collector.conversations import ingest as conversation_ingest
from collector.db import lists, locks, retention, text
from collector.db.models import Chatter, Creator, Event
from collector.db.settings import CreditRules, currency_exponent, ingest_state
from collector.db.text import count_of
from collector.db.upsert import insert_ignoring_conflicts
from collector.errors import ApiError
from collector.stats import facts, fan_days, rollups
from shared import events as wire
from shared.money import AmountError, parse_amount
from shared.protocol import format_time, problem_text

FUTURE_TOLERANCE = dt.timedelta(minutes=5)

# No agency sold anything through this before 2000; an earlier time is a typo in the
# year, and would otherwise be stored where no range ever finds it.
EARLIEST_EVENT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


_EVENTS = cast(Table, Event.__table__)


def source_label(kind: str, name: str) -> str:
    """Where events came from (``api:<token name>``, ``import:<file>``), cut to its column."""
    return text.fit(f"{kind}:{name}", Event.source)


@dataclass
class Rejection:
    index: int
    id: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.id, "message": self.message}


@dataclass
class Prepared:
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


@dataclass
class Stored:
    accepted: int
    duplicates: int
    conflicts: list[str]


def split_body(body: bytes, content_type: str) -> list[bytes]:
    """The raw JSON of each event from a JSON array or NDJSON body."""
    stripped = body.lstrip()
    ndjson = "ndjson" in content_type or "jsonl" in content_type
    if not ndjson and stripped.startswith(b"["):
        try:
            raws = msgspec.json.decode(body, type=list[msgspec.Raw])
        except msgspec.DecodeError as exc:
            raise ApiError(
                400, "malformed_json", f"body is not a valid JSON array: {exc}"
            ) from None
        items = [bytes(raw) for raw in raws]
    elif ndjson or stripped.startswith(b"{"):
        items = [line for line in body.splitlines() if line.strip()]
    else:
        raise ApiError(
            400, "malformed_json", "send a JSON array of events or NDJSON (one per line)"
        )
    if not items:
        raise ApiError(422, "no_events", "the request holds no events")
    if len(items) > wire.MAX_EVENTS_PER_REQUEST:
        raise ApiError(
            413,
            "too_many_events",
            f"{len(items)} events in one request; at most {wire.MAX_EVENTS_PER_REQUEST}",
        )
    return items


def prepare(
    session: Session, raws: Sequence[bytes], *, source: str, now: dt.datetime, first_index: int = 0
) -> Prepared:
    """Decode and check every event; rows for the good ones, reasons for the rest."""
    result = Prepared()
    decoded: list[tuple[int, wire.Event]] = []
    for offset, raw in enumerate(raws):
        index = first_index + offset
        try:
            decoded.append((index, wire.decode_event(raw)))
        except RecursionError:
            # The API refuses deep bodies before this; an imported file can still hold one.
            result.rejected.append(Rejection(index, None, "the event is nested too deeply"))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            head = wire.decode_head(raw)
            event_id = head.id if isinstance(head.id, str) else None
            message = problem_text(exc) if isinstance(exc, msgspec.ValidationError) else str(exc)
            if isinstance(exc, msgspec.ValidationError) and "`$.type`" in message:
                message = f"unknown event type {head.type!r}; known: {', '.join(wire.EVENT_TYPES)}"
            result.rejected.append(Rejection(index, event_id, message))

    creators = _lookup(
        session, Creator.key, Creator.id, (c for _, ev in decoded if (c := _creator_of(ev)))
    )
    chatters = _lookup(
        session, Chatter.key, Chatter.id, (c for _, ev in decoded if (c := _chatter_of(ev)))
    )
    currency, exponent = currency_exponent(session)
    latest = now + FUTURE_TOLERANCE
    closed = retention.watermarks(session).events

    for index, ev in decoded:
        problems: list[str] = []
        creator_key = _creator_of(ev)
        creator_id = creators.get(creator_key) if creator_key else None
        if creator_key and creator_id is None:
            problems.append(f"unknown creator {creator_key!r}")
        chatter_key = _chatter_of(ev)
        chatter_id = chatters.get(chatter_key) if chatter_key else None
        if chatter_key and chatter_id is None:
            if isinstance(ev, wire.EventBase):
                problems.append(f"unknown chatter {chatter_key!r}")
            else:
                problems.append(
                    f"unknown agent {chatter_key!r} (an agent is a chatter: add it with "
                    "chatter-collector add-chatter)"
                )
        if ev.occurred_at > latest:
            problems.append(f"occurred_at {ev.occurred_at.isoformat()} is in the future")
        elif ev.occurred_at < EARLIEST_EVENT:
            problems.append(
                f"occurred_at {ev.occurred_at.isoformat()} is before {EARLIEST_EVENT.year}: "
                "a typo in the year?"
            )
        elif closed is not None and _purged(ev, closed):
            problems.append(
                f"occurred_at {ev.occurred_at.isoformat()} is before {format_time(closed)}, "
                "where raw events have been purged (retention_event_days)"
            )
        row = {
            "event_id": ev.id,
            "type": type(ev).__struct_config__.tag,
            "occurred_at": ev.occurred_at,
            "creator_id": creator_id,
            "chatter_id": chatter_id,
            "contact": None,
            "kind": None,
            "ref": None,
            "amount_minor": None,
            "attrs": None,
            "channel": None,
            "url": None,
            "rating": None,
            "source": source,
            "content_hash": hashlib.sha256(msgspec.json.encode(ev)).hexdigest(),
            "received_at": now,
        }
        try:
            row.update(_type_columns(ev, exponent))
        except AmountError as exc:
            problems.append(str(exc) if isinstance(ev, wire.Order) else f"amount {exc}")
        if isinstance(ev, wire.Order):
            problems += _order_problems(ev, currency, exponent)
        # The wire schema bounds what was sent; the columns bound what is stored.
        problems += [f"{name} {wrong}" for name, wrong in text.row_problems(_EVENTS, row)]
        if problems:
            result.rejected.append(Rejection(index, ev.id, "; ".join(problems)))
        else:
            result.rows.append(row)
    result.rejected.sort(key=lambda r: r.index)
    return result


def store(session: Session, rows: Sequence[dict[str, Any]]) -> Stored:
    """Insert new events; an id seen before is a duplicate, and a conflict if it differs."""
    first_by_id: dict[str, dict[str, Any]] = {}
    repeats: list[dict[str, Any]] = []
    for row in rows:
        if row["event_id"] in first_by_id:
            repeats.append(row)
        else:
            first_by_id[row["event_id"]] = row
    connection = session.connection()
    inserted = set(
        insert_ignoring_conflicts(
            connection, Event, list(first_by_id.values()), ("event_id",), "event_id"
        )
    )
    # Chatter stats (derived facts, rollups) are made of creator events only.
    creator_events = sorted(
        i for i in inserted if first_by_id[i]["type"] in wire.CREATOR_EVENT_TYPES
    )
    if creator_events:
        locks.serialise(connection, locks.EVENTS)
        credit = _refuse_purged(connection, [first_by_id[i] for i in creator_events])
        touched = facts.derive(connection, creator_events, credit)
        rollups.refresh_sales(connection, ((r.creator_id, r.occurred_at) for r in touched))
        fan_days.refresh(connection, touched)
    # Conversation analytics keep their own facts and rollups (collector/conversations).
    site_events = sorted(
        i for i in inserted if first_by_id[i]["type"] in wire.CONVERSATION_EVENT_TYPES
    )
    if site_events:
        conversation_ingest.after_store(connection, site_events)
    not_new = [r for r in first_by_id.values() if r["event_id"] not in inserted] + repeats
    stored_hash = _lookup(
        session, Event.event_id, Event.content_hash, (r["event_id"] for r in not_new)
    )
    conflicts = sorted(
        {r["event_id"] for r in not_new if stored_hash.get(r["event_id"]) != r["content_hash"]}
    )
    return Stored(accepted=len(inserted), duplicates=len(not_new), conflicts=conflicts)


def _purged(ev: wire.Event, closed: dt.datetime) -> bool:
    """Only chatter events are purged (collector/retention/purge.py)."""
    return isinstance(ev, wire.EventBase) and ev.occurred_at < closed


def _refuse_purged(connection: Connection, rows: Sequence[dict[str, Any]]) -> CreditRules:
    """The same rule under the lock a purge holds, for a purge that committed meanwhile.

    Returns the credit rules (settings ppv_credit, tip_credit), read in the same query
    under the lock a setting change holds too: ingest reads nothing more for them.
    """
    marks, credit = ingest_state(connection)
    closed = marks.events
    if closed is None:
        return credit
    old = [r["event_id"] for r in rows if r["occurred_at"] < closed]
    if old:
        raise ApiError(
            422,
            "purged_period",
            f"{count_of(len(old), 'event')} {'falls' if len(old) == 1 else 'fall'} before "
            f"{format_time(closed)}, purged while this request "
            "ran; nothing was stored",
            [{"id": i} for i in old[:100]],
        )
    return credit


def _creator_of(ev: wire.Event) -> str | None:
    return ev.creator if isinstance(ev, wire.EventBase) else None


def _chatter_of(ev: wire.Event) -> str | None:
    """The chatter an event names: ``chatter`` on creator events, ``agent`` on the others."""
    if isinstance(ev, wire.EventBase):
        return getattr(ev, "chatter", None)
    return getattr(ev, "agent", None)


def _lookup(session: Session, key: Any, value: Any, wanted: Iterable[str]) -> dict[str, Any]:
    """{key: value} for the wanted keys."""
    query = select(key, value)
    return dict(lists.rows_with(session.connection(), query, key, sorted(set(wanted))))


def _positive(value: object, exponent: int) -> int:
    minor = parse_amount(value, exponent)
    if minor <= 0:
        raise AmountError("must be greater than zero")
    return minor


def _type_columns(ev: wire.Event, exponent: int) -> dict[str, Any]:
    match ev:
        case wire.FanMessage():
            return {"contact": ev.fan}
        case wire.MessageSent():
            columns: dict[str, Any] = {"contact": ev.fan, "kind": ev.kind}
            if ev.ppv is not None:
                columns["ref"] = ev.ppv.id
                columns["amount_minor"] = parse_amount(ev.ppv.price, exponent)
            return columns
        case wire.PpvPurchase():
            return {
                "contact": ev.fan,
                "ref": ev.ppv_id,
                "amount_minor": _positive(ev.amount, exponent),
            }
        case wire.Tip():
            return {"contact": ev.fan, "amount_minor": _positive(ev.amount, exponent)}
        case wire.Refund():
            return {"ref": ev.refers_to, "amount_minor": _positive(ev.amount, exponent)}
        case wire.WidgetImpression():
            return {"contact": ev.visitor, "url": ev.url}
        case wire.WidgetClick():
            return {"contact": ev.visitor, "kind": ev.source, "url": ev.url}
        case wire.AutoMessageClick():
            return {"contact": ev.visitor, "ref": ev.trigger_id, "url": ev.url}
        case wire.ChatRequest():
            return {
                "contact": ev.visitor,
                "kind": ev.initiator,
                "ref": ev.request_id,
                "channel": ev.channel,
                "url": ev.url,
                "attrs": None if ev.trigger_id is None else {"trigger_id": ev.trigger_id},
            }
        case wire.ConversationMessage():
            return {"kind": ev.side, "ref": ev.request_id, "channel": ev.channel}
        case wire.CallStarted() | wire.CallEnded():
            return {"ref": ev.request_id}
        case wire.Order():
            parts, errors = {}, []
            for name in ("subtotal", "discount", "shipping", "tax"):
                try:
                    parts[name] = parse_amount(getattr(ev, name), exponent)
                except AmountError as exc:
                    errors.append(f"{name} {exc}")
            if errors:
                raise AmountError("; ".join(errors))
            return {
                "contact": ev.visitor,
                "ref": ev.order_id,
                "amount_minor": parts["subtotal"] - parts["discount"],
                "attrs": parts,
            }
        case wire.NpsResponse():
            return {
                "contact": ev.visitor,
                "kind": ev.status,
                "ref": ev.request_id,
                "rating": ev.rating,
                "attrs": None if ev.feedback is None else {"feedback": ev.feedback},
            }
    raise AssertionError(f"unhandled event type {type(ev).__name__}")


def _order_problems(ev: wire.Order, currency: str, exponent: int) -> list[str]:
    """An order's money must be the agency's and its discount at most its subtotal."""
    problems = []
    if ev.currency != currency:
        problems.append(
            f"currency {ev.currency} is not the agency currency {currency}; "
            "convert the order before sending it"
        )
    try:
        subtotal = parse_amount(ev.subtotal, exponent)
        discount = parse_amount(ev.discount, exponent)
    except AmountError:
        return problems  # already reported
    if discount > subtotal:
        problems.append(f"discount {ev.discount} is more than subtotal {ev.subtotal}")
    return problems
