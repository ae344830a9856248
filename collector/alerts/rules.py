"""Alert rules: what each kind means, what a rule may hold, and changing rules.

Shared by the API, the admin page and the command line, so all three refuse the same
input with the same message (a ``DomainError``, 422).  Nothing here commits: the caller
owns the transaction and writes the audit entry in it.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.alerts import webhook
from collector.db import text
from collector.db.alert_models import KINDS, AlertRule
from collector.db.base import iso
from collector.db.models import Creator
from collector.db.text import count_of
from collector.errors import DomainError


@dataclass(frozen=True)
class Kind:
    label: str
    unit: str  # what the threshold counts
    low: int
    high: int
    one: str  # the unit of a threshold of 1

    def amount(self, value: int) -> str:
        """The threshold in words: "1 chatter missing", "5 minutes"."""
        return count_of(value, self.one, self.unit)


# The threshold of each kind, its unit and its bounds (also the OpenAPI description).
KIND_INFO: dict[str, Kind] = {
    "no_presence": Kind("No presence during a shift", "minutes", 1, 1440, "minute"),
    "idle": Kind("Idle during a shift", "minutes", 1, 1440, "minute"),
    "no_show": Kind("No-show", "minutes", 1, 1440, "minute"),
    "coverage": Kind("Coverage below required", "chatters missing", 1, 1000, "chatter missing"),
    "response_time": Kind("Average response time of a day", "seconds", 1, 86400, "second"),
}
assert tuple(KIND_INFO) == KINDS

MAX_EMAILS = 20
SECRET_PREFIX = "whsec_"
# An address a person can type; the full RFC 5322 grammar is not what anyone means.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


def _invalid(field: str, message: str) -> DomainError:
    return DomainError(
        f"{field} {message}",
        422,
        code="invalid_field",
        details=[{"field": field, "message": message}],
    )


def check_name(value: str) -> str:
    cleaned = " ".join(text.check_label(value, "name", AlertRule.name).split())
    if not cleaned:
        raise _invalid("name", "must not be empty")
    return cleaned


def check_kind(value: str) -> str:
    if value not in KIND_INFO:
        raise _invalid("kind", f"must be one of {', '.join(KINDS)}")
    return value


def check_threshold(kind: str, value: object) -> int:
    info = KIND_INFO[kind]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("threshold", f"must be a whole number of {info.unit}")
    if not info.low <= value <= info.high:
        raise _invalid(
            "threshold", f"must be between {info.low} and {info.high} {info.unit} for {kind}"
        )
    return value


def check_webhook_url(value: str, allow_private: bool = False) -> str:
    """An http(s) address of a host; "" for none.  Nothing else is ever POSTed to.

    Unless ``allow_private`` (CHATTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS), a host that is an
    address other than a public one, or names this machine, is refused; a host name is
    checked again at each send, against what it resolves to (collector/alerts/webhook.py).
    """
    value = text.check(value.strip(), "webhook_url", AlertRule.webhook_url)
    if not value:
        return ""
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise _invalid("webhook_url", "must be an http:// or https:// address of a host")
    if not _URL_CHARS.fullmatch(value):
        raise _invalid("webhook_url", "must not contain spaces or other unescaped characters")
    problem = None if allow_private else webhook.host_problem(parts.hostname)
    if problem is not None:
        raise _invalid(
            "webhook_url",
            f"must be a public address: its host is {problem} "
            "(CHATTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS=1 allows it)",
        )
    return value


def check_emails(values: list[str]) -> list[str]:
    found: list[str] = []
    for raw in values:
        address = text.check(raw.strip(), "emails", AlertRule.emails)
        if not address:
            continue
        if len(address) > 254 or not _EMAIL.fullmatch(address):
            raise _invalid("emails", f"{address!r} is not an e-mail address")
        if address.lower() not in (f.lower() for f in found):
            found.append(address)
    if len(found) > MAX_EMAILS:
        raise _invalid("emails", f"at most {MAX_EMAILS} addresses")
    text.check(",".join(found), "emails", AlertRule.emails)
    return found


def split_emails(value: str) -> list[str]:
    """A stored or typed list: commas, semicolons, spaces or new lines between addresses."""
    return [a for a in re.split(r"[,;\s]+", value) if a]


def find_creator(session: Session, key: str | None) -> Creator | None:
    if key is None or key == "":
        return None
    text.check(key, "creator")
    creator = session.scalar(select(Creator).where(Creator.key == key))
    if creator is None:
        raise _invalid("creator", f"no creator {key!r}")
    return creator


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@dataclass
class RuleInput:
    """A rule as a caller sends it; ``None`` fields are left as they are (PATCH)."""

    name: str | None = None
    kind: str | None = None
    threshold: object = None
    creator: str | None = None
    creator_given: bool = False  # "creator": null means all creators
    enabled: bool | None = None
    webhook_url: str | None = None
    emails: list[str] | None = None


def create(
    session: Session, data: RuleInput, now: dt.datetime, *, allow_private: bool = False
) -> tuple[AlertRule, str]:
    """A new rule and its webhook secret (to show once).  ``allow_private``: see
    ``check_webhook_url``."""
    if data.name is None or data.kind is None or data.threshold is None:
        raise DomainError(
            "a rule needs name, kind and threshold",
            422,
            code="invalid_field",
            details=[
                {"field": f, "message": "is required"}
                for f, v in (
                    ("name", data.name),
                    ("kind", data.kind),
                    ("threshold", data.threshold),
                )
                if v is None
            ],
        )
    kind = check_kind(data.kind)
    secret = new_secret()
    rule = AlertRule(
        name=check_name(data.name),
        kind=kind,
        threshold=check_threshold(kind, data.threshold),
        enabled=True if data.enabled is None else data.enabled,
        webhook_url=check_webhook_url(data.webhook_url or "", allow_private),
        webhook_secret=secret,
        emails=",".join(check_emails(data.emails or [])),
        created_at=now,
        updated_at=now,
    )
    creator = find_creator(session, data.creator)
    rule.creator_id = None if creator is None else creator.id
    session.add(rule)
    session.flush()
    return rule, secret


def update(
    session: Session,
    rule: AlertRule,
    data: RuleInput,
    now: dt.datetime,
    *,
    allow_private: bool = False,
) -> list[str]:
    """Apply the given fields; the names of those that changed."""
    changed: list[str] = []
    values: dict[str, Any] = {}
    if data.name is not None:
        values["name"] = check_name(data.name)
    kind = rule.kind
    if data.kind is not None:
        kind = values["kind"] = check_kind(data.kind)
    if data.threshold is not None or "kind" in values:
        values["threshold"] = check_threshold(
            kind, data.threshold if data.threshold is not None else rule.threshold
        )
    if data.creator_given:
        creator = find_creator(session, data.creator)
        values["creator_id"] = None if creator is None else creator.id
    if data.enabled is not None:
        values["enabled"] = data.enabled
    if data.webhook_url is not None:
        values["webhook_url"] = check_webhook_url(data.webhook_url, allow_private)
    if data.emails is not None:
        values["emails"] = ",".join(check_emails(data.emails))
    for name, value in values.items():
        if getattr(rule, name) != value:
            setattr(rule, name, value)
            changed.append(name)
    if changed:
        rule.updated_at = now
    return changed


def rotate_secret(rule: AlertRule, now: dt.datetime) -> str:
    rule.webhook_secret = new_secret()
    rule.updated_at = now
    return rule.webhook_secret


def get(session: Session, rule_id: int) -> AlertRule:
    # Past the id column's range nothing is stored (and PostgreSQL would refuse the query).
    rule = session.get(AlertRule, rule_id) if 0 < rule_id <= 2**31 - 1 else None
    if rule is None:
        raise DomainError(f"no alert rule {rule_id}", 404)
    return rule


def all_rules(session: Session) -> list[AlertRule]:
    return list(session.scalars(select(AlertRule).order_by(AlertRule.id)))


def describe(session: Session, rule: AlertRule) -> dict[str, Any]:
    """A rule as the API shows it: never its secret."""
    creator = None if rule.creator_id is None else session.get(Creator, rule.creator_id)
    return {
        "id": rule.id,
        "name": rule.name,
        "kind": rule.kind,
        "threshold": rule.threshold,
        "unit": KIND_INFO[rule.kind].unit,
        "creator": None if creator is None else creator.key,
        "enabled": rule.enabled,
        "webhook_url": rule.webhook_url or None,
        "emails": split_emails(rule.emails),
        "created_at": iso(rule.created_at),
        "updated_at": iso(rule.updated_at),
    }
