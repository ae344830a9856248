"""An alert in words and JSON: the API's shape, the webhook body, the e-mail."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.alerts.rules import KIND_INFO
from collector.db.alert_models import Alert, AlertRule
from collector.db.base import iso
from collector.db.models import Chatter, Creator

EVENT = "alert.opened"


def state(alert: Alert) -> str:
    if alert.resolved_at is not None:
        return "resolved"
    if alert.acknowledged_at is not None:
        return "acknowledged"
    return "open"


def _person(session: Session, model: type[Chatter] | type[Creator], id_: int | None) -> Any:
    if id_ is None:
        return None
    row = session.execute(select(model.key, model.name).where(model.id == id_)).first()
    return None if row is None else {"key": row[0], "name": row[1]}


def describe(session: Session, alert: Alert, rule: AlertRule | None = None) -> dict[str, Any]:
    rule = rule or session.get(AlertRule, alert.rule_id)
    return {
        "id": alert.id,
        "state": state(alert),
        "rule": None if rule is None else {"id": rule.id, "name": rule.name, "kind": rule.kind},
        "kind": alert.kind,
        "message": alert.message,
        "chatter": _person(session, Chatter, alert.chatter_id),
        "creator": _person(session, Creator, alert.creator_id),
        "shift_id": alert.shift_id,
        "occurrence_start": iso(alert.occurrence_start),
        "occurrence_end": iso(alert.occurrence_end),
        "day": None if alert.day is None else alert.day.isoformat(),
        "opened_at": iso(alert.opened_at),
        "acknowledged_at": iso(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "resolved_at": iso(alert.resolved_at),
        "resolved_by": alert.resolved_by,
    }


def webhook_body(session: Session, rule: AlertRule, alert: Alert) -> bytes:
    """The JSON a webhook receives (its bytes are what the signature covers)."""
    return msgspec.json.encode({"event": EVENT, "alert": describe(session, alert, rule)})


def email_payload(session: Session, rule: AlertRule, alert: Alert) -> str:
    """The e-mail's subject and text, stored as JSON with its delivery."""
    about = describe(session, alert, rule)
    lines = [
        alert.message,
        "",
        f"Rule: {rule.name} ({KIND_INFO[rule.kind].label}, threshold {rule.threshold} "
        f"{KIND_INFO[rule.kind].unit})",
    ]
    if about["chatter"]:
        lines.append(f"Chatter: {about['chatter']['name']} ({about['chatter']['key']})")
    if about["creator"]:
        lines.append(f"Creator: {about['creator']['name']} ({about['creator']['key']})")
    if alert.occurrence_start is not None:
        lines.append(f"Shift: {about['occurrence_start']} to {about['occurrence_end']} (UTC)")
    if alert.day is not None:
        lines.append(f"Day: {about['day']}")
    lines += [
        f"Opened: {about['opened_at']} (UTC)",
        f"Alert id: {alert.id}",
        "",
        "Acknowledge it on the ChatterTrack dashboard (Chatter stats, Open alerts).",
    ]
    subject = f"[ChatterTrack] {rule.name}: {alert.message}"
    return json.dumps({"subject": " ".join(subject.split())[:250], "text": "\n".join(lines)})
