"""A chatter's data subject rights: everything stored about them, and erasing it.

``export`` gathers every row about one chatter into plain JSON-ready data (the layout is
README's "A chatter's data"): times in UTC ISO 8601, money as exact decimal strings with
the agency's currency, and never a secret (signing secrets, token and password hashes).

``erase`` removes their personal data and pseudonymises what the agency must keep: the
chatter row stays under a random pseudonym so the agency's sales (events credited to
them, sales rollups, creator totals) are unchanged; their devices, keys, slices, activity
sums, enrollment tokens, failed logins and own settings are deleted; their logins and API
tokens stay as rows, pseudonymised and switched off (deactivated, every session ended;
revoked), because ids must never be handed out again (SQLite reuses the highest deleted
id, and a session or a `revoke-token ID` names a row by its id); audit entries naming them
are rewritten with the pseudonym.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from collector.attendance import store as attendance
from collector.auth import accounts
from collector.db import audit, locks
from collector.db.alert_models import Alert, AlertDelivery, AlertDeliveryAttempt
from collector.db.base import iso
from collector.db.buckets import from_epoch, unpack
from collector.db.conversation_models import ConversationOrder, ConversationRequest
from collector.db.models import (
    ERASED_NAME,
    ERASED_PREFIX,
    ActivityDay,
    ActivityQuarter,
    ApiToken,
    AuditEntry,
    Chatter,
    Creator,
    Device,
    DeviceKey,
    EnrollmentToken,
    Event,
    LoginFailure,
    SaleReassignment,
    SalesDay,
    Setting,
    Slice,
    User,
)
from collector.db.schedule_models import Presence
from collector.db.settings import currency_exponent, scope_for
from shared.money import format_amount

FORMAT = "chattertrack-chatter-export"
VERSION = 1
ACTION = "erase_chatter"


class _Money:
    def __init__(self, session: Session) -> None:
        self.currency, self.exponent = currency_exponent(session)

    def __call__(self, minor: int | None) -> dict[str, str] | None:
        if minor is None:
            return None
        return {"amount": format_amount(int(minor), self.exponent), "currency": self.currency}


def export(session: Session, chatter: Chatter, now: dt.datetime) -> dict[str, Any]:
    """Everything stored about ``chatter`` (see the module doc)."""
    money = _Money(session)
    cid = chatter.id
    keys: dict[int, str] = {i: k for i, k in session.execute(select(Chatter.id, Chatter.key))}
    creators: dict[int, str] = {i: k for i, k in session.execute(select(Creator.id, Creator.key))}
    devices = session.scalars(select(Device).where(Device.chatter_id == cid).order_by(Device.id))
    device_rows = []
    uids: dict[int, str] = {}
    for d in devices:
        uids[d.id] = d.uid
        device_keys = session.scalars(
            select(DeviceKey).where(DeviceKey.device_id == d.id).order_by(DeviceKey.id)
        )
        device_rows.append(
            {
                "uid": d.uid,
                "hostname": d.hostname,
                "platform": d.platform,
                "agent_version": d.agent_version,
                "enrolled_at": iso(d.enrolled_at),
                "last_seen_at": iso(d.last_seen_at),
                "revoked_at": iso(d.revoked_at),
                "retired_at": iso(d.retired_at),
                "retired_unsent": d.retired_unsent,
                "slices_received": d.slices_received,
                "clock_skew_seconds": d.clock_skew_seconds,
                "queue_health": d.queue_health,
                # The key ids and their lifetimes; the signing secrets never leave the server.
                "keys": [
                    {
                        "key_id": k.key_id,
                        "created_at": iso(k.created_at),
                        "expires_at": iso(k.expires_at),
                    }
                    for k in device_keys
                ],
            }
        )
    users = session.scalars(select(User).where(User.chatter_id == cid).order_by(User.id)).all()
    emails = [u.email for u in users]
    events = session.scalars(
        select(Event)
        .where(
            or_(
                Event.chatter_id == cid,
                Event.credit_chatter_id == cid,
                Event.assigned_chatter_id == cid,
            )
        )
        .order_by(Event.occurred_at, Event.id)
    )
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": iso(now),
        "currency": money.currency,
        "chatter": {
            "key": chatter.key,
            "name": chatter.name,
            "active": chatter.active,
            "created_at": iso(chatter.created_at),
            "creators": sorted(c.key for c in chatter.creators),
        },
        "logins": [
            {
                "email": u.email,
                "role": u.role,
                "active": u.active,
                "created_at": iso(u.created_at),
                "last_login_at": iso(u.last_login_at),
                # Failed logins are kept briefly (they are what limits guessing).
                "failed_logins": [
                    {"at": iso(f.at), "address": f.address}
                    for f in session.scalars(
                        select(LoginFailure)
                        .where(LoginFailure.email == u.email)
                        .order_by(LoginFailure.at, LoginFailure.id)
                    )
                ],
            }
            for u in users
        ],
        "devices": device_rows,
        "enrollment_tokens": [
            {
                "created_at": iso(t.created_at),
                "expires_at": iso(t.expires_at),
                "used_at": iso(t.used_at),
                "device": uids.get(t.device_id) if t.device_id else None,
            }
            for t in session.scalars(
                select(EnrollmentToken)
                .where(EnrollmentToken.chatter_id == cid)
                .order_by(EnrollmentToken.id)
            )
        ],
        "api_tokens": [
            {
                "name": t.name,
                "role": t.role,
                "created_at": iso(t.created_at),
                "last_used_at": iso(t.last_used_at),
                "revoked_at": iso(t.revoked_at),
            }
            for t in session.scalars(
                select(ApiToken).where(ApiToken.chatter_id == cid).order_by(ApiToken.id)
            )
        ],
        "settings": [
            {"name": s.name, "value": s.value, "updated_at": iso(s.updated_at)}
            for s in session.scalars(
                select(Setting).where(Setting.scope == scope_for(chatter)).order_by(Setting.name)
            )
        ],
        "slices": [
            {
                "device": uids.get(s.device_id),
                "start": iso(s.start),
                "slice_seconds": s.slice_seconds,
                "duration": s.duration,
                "active_seconds": s.active_seconds,
                "input_seconds": s.input_seconds,
                "paused_seconds": s.paused_seconds,
                "keystrokes": s.keystrokes,
                "mouse_events": s.mouse_events,
                # Input timing and the regular-input flag (METRICS.md): moments, no keys.
                "bursts": s.bursts,
                "keyed_bursts": s.keyed_bursts,
                "gaps": s.gaps,
                "gap_ms_sum": s.gap_ms_sum,
                "gap_ms_sum_sq": s.gap_ms_sum_sq,
                "regular": s.regular,
                "seq": s.seq,
                "received_at": iso(s.received_at),
            }
            for s in session.scalars(
                select(Slice).where(Slice.chatter_id == cid).order_by(Slice.start, Slice.id)
            )
        ],
        "events": [_event(e, keys, creators, money) for e in events],
        "sale_reassignments": [
            {
                "event_id": session.scalar(select(Event.event_id).where(Event.id == r.event_id)),
                "from": keys.get(r.from_chatter_id) if r.from_chatter_id else None,
                "to": keys.get(r.to_chatter_id) if r.to_chatter_id else None,
                "actor": r.actor,
                "reason": r.reason,
                "at": iso(r.at),
            }
            for r in session.scalars(
                select(SaleReassignment)
                .where(
                    or_(
                        SaleReassignment.from_chatter_id == cid,
                        SaleReassignment.to_chatter_id == cid,
                    )
                )
                .order_by(SaleReassignment.at, SaleReassignment.id)
            )
        ],
        "conversation_requests": [
            {
                "request_id": r.request_id,
                "occurred_at": iso(r.occurred_at),
                "initiator": r.initiator,
                "channel": r.channel,
                "url": r.url,
                "connected_at": iso(r.connected_at),
                "duration_seconds": r.duration_seconds,
            }
            for r in session.scalars(
                select(ConversationRequest)
                .where(ConversationRequest.agent_id == cid)
                .order_by(ConversationRequest.occurred_at, ConversationRequest.id)
            )
        ],
        "conversation_orders": [
            {
                "order_id": o.order_id,
                "occurred_at": iso(o.occurred_at),
                "value": money(o.value),
                "request_id": o.request_id,
            }
            for o in session.scalars(
                select(ConversationOrder)
                .where(ConversationOrder.agent_id == cid)
                .order_by(ConversationOrder.occurred_at, ConversationOrder.id)
            )
        ],
        "activity_days": [
            {
                "day": iso(from_epoch(a.day)),
                "online_seconds": a.online_seconds,
                "active_seconds": a.active_seconds,
                "paused_seconds": a.paused_seconds,
                "keystrokes": a.keystrokes,
                "mouse_events": a.mouse_events,
                "regular_seconds": a.regular_seconds,
            }
            for a in session.scalars(
                select(ActivityDay).where(ActivityDay.chatter_id == cid).order_by(ActivityDay.day)
            )
        ],
        "sales_days": [
            {
                "day": iso(from_epoch(s.day)),
                "creator": creators.get(s.creator_id),
                "ppv_sales": money(s.ppv_sales),
                "tips": money(s.tips),
                "refunds": money(s.refunds),
                "ppv_sent": s.ppv_sent,
                "ppv_bought": s.ppv_bought,
                "messages_sent": s.messages_sent,
                "mass_messages_sent": s.mass_messages_sent,
                "automated_messages_sent": s.automated_messages_sent,
                "response_seconds": list(unpack(s.response_values)),
            }
            for s in session.scalars(
                select(SalesDay)
                .where(SalesDay.chatter_id == cid)
                .order_by(SalesDay.day, SalesDay.creator_id)
            )
        ],
        "audit": [
            {
                "at": iso(a.at),
                "actor": a.actor,
                "action": a.action,
                "subject": a.subject,
                "detail": a.detail,
            }
            for a in session.scalars(
                select(AuditEntry)
                .where(
                    or_(
                        AuditEntry.subject.in_([chatter.key, *emails]),
                        AuditEntry.actor.in_(emails),
                    )
                )
                .order_by(AuditEntry.at, AuditEntry.id)
            )
        ],
    }


def _event(
    e: Event, keys: dict[int, str], creators: dict[int, str], money: _Money
) -> dict[str, Any]:
    return {
        "event_id": e.event_id,
        "type": e.type,
        "occurred_at": iso(e.occurred_at),
        "creator": creators.get(e.creator_id) if e.creator_id else None,
        "chatter": keys.get(e.chatter_id) if e.chatter_id else None,
        "contact": e.contact,
        "kind": e.kind,
        "ref": e.ref,
        "amount": money(e.amount_minor),
        "channel": e.channel,
        "url": e.url,
        "rating": e.rating,
        "attrs": e.attrs,
        "source": e.source,
        "received_at": iso(e.received_at),
        "credited_to": keys.get(e.credit_chatter_id) if e.credit_chatter_id else None,
        "assigned_to": keys.get(e.assigned_chatter_id) if e.assigned_chatter_id else None,
        "bought": e.bought,
        "response_seconds": e.response_seconds,
    }


@dataclass(frozen=True)
class Erasure:
    pseudonym: str
    devices: int
    device_keys: int
    slices: int
    activity_rows: int
    logins: int
    api_tokens: int
    enrollment_tokens: int
    settings: int
    audit_entries_rewritten: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def erase(session: Session, chatter: Chatter, actor: str, now: dt.datetime) -> Erasure:
    """Erase ``chatter``'s personal data in the session's transaction (see the module doc)."""
    cid = chatter.id
    # Ingest's locks, in ingest's order (slices, then activity): a heartbeat racing the
    # erase waits for it instead of deadlocking on the activity sums.
    connection = session.connection()
    locks.serialise(connection, locks.SLICES, cid)
    locks.serialise(connection, locks.ACTIVITY, cid)
    old_key, old_name = chatter.key, chatter.name
    users = session.scalars(select(User).where(User.chatter_id == cid)).all()
    emails = [u.email for u in users]
    device_ids = list(session.scalars(select(Device.id).where(Device.chatter_id == cid)))
    slices = _rowcount(session.execute(delete(Slice).where(Slice.chatter_id == cid)))
    activity = _rowcount(
        session.execute(delete(ActivityQuarter).where(ActivityQuarter.chatter_id == cid))
    ) + _rowcount(session.execute(delete(ActivityDay).where(ActivityDay.chatter_id == cid)))
    activity += attendance.erase(connection, cid)  # attendance's minutes and spans too
    enrollment = _rowcount(
        session.execute(delete(EnrollmentToken).where(EnrollmentToken.chatter_id == cid))
    )
    device_keys = _rowcount(
        session.execute(delete(DeviceKey).where(DeviceKey.device_id.in_(device_ids)))
    )
    # Alerts about them name them in their message and in what was sent: they go, with
    # their deliveries and the delivery log (found by review).
    alert_ids = select(Alert.id).where(Alert.chatter_id == cid).scalar_subquery()
    delivery_ids = (
        select(AlertDelivery.id).where(AlertDelivery.alert_id.in_(alert_ids)).scalar_subquery()
    )
    session.execute(
        delete(AlertDeliveryAttempt).where(AlertDeliveryAttempt.delivery_id.in_(delivery_ids))
    )
    session.execute(delete(AlertDelivery).where(AlertDelivery.alert_id.in_(alert_ids)))
    session.execute(delete(Alert).where(Alert.chatter_id == cid))
    # Live presence (one row per device) goes with the devices it names.
    session.execute(delete(Presence).where(Presence.device_id.in_(device_ids)))
    devices = _rowcount(session.execute(delete(Device).where(Device.id.in_(device_ids))))
    for email in emails:
        session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    own = _rowcount(session.execute(delete(Setting).where(Setting.scope == scope_for(chatter))))

    pseudonym = f"{ERASED_PREFIX}{secrets.token_hex(5)}"
    chatter.key, chatter.name, chatter.active = pseudonym, ERASED_NAME, False
    for user in users:
        accounts.retire(user, f"{pseudonym}-{user.id}@erased.invalid")
    tokens = session.scalars(select(ApiToken).where(ApiToken.chatter_id == cid)).all()
    token_names = [t.name for t in tokens]
    for token in tokens:
        token.name = pseudonym
        token.revoked_at = token.revoked_at or now
    replaced = {
        old_key: pseudonym,
        old_name: ERASED_NAME,
        **{e: pseudonym for e in emails},
        **{n: pseudonym for n in token_names},
    }
    rewritten = 0
    for entry in session.scalars(
        select(AuditEntry).where(
            or_(
                AuditEntry.subject.in_([old_key, *emails, *token_names]),
                AuditEntry.actor.in_(emails),
            )
        )
    ):
        entry.subject = replaced.get(entry.subject, entry.subject)
        entry.actor = replaced.get(entry.actor, entry.actor)
        entry.detail = _scrub(entry.detail, replaced)
        rewritten += 1
    # Entries naming them only in their detail (an assignment, a reassignment's target).
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.detail.is_not(None))):
        scrubbed = _scrub(entry.detail, replaced)
        if scrubbed != entry.detail:
            entry.detail = scrubbed
            rewritten += 1
    erasure = Erasure(
        pseudonym=pseudonym,
        devices=devices,
        device_keys=device_keys,
        slices=slices,
        activity_rows=activity,
        logins=len(users),
        api_tokens=len(tokens),
        enrollment_tokens=enrollment,
        settings=own,
        audit_entries_rewritten=rewritten,
    )
    # The entry names the pseudonym only: it must not bring back what it erased.
    audit.record(session, actor, ACTION, pseudonym, now, **erasure.as_dict())
    session.flush()
    return erasure


def _scrub(value: Any, replaced: dict[str, str]) -> Any:
    if isinstance(value, str):
        return replaced.get(value, value)
    if isinstance(value, list):
        return [_scrub(v, replaced) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, replaced) for k, v in value.items()}
    return value
