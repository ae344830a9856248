"""Coverage rules: how many chatters a creator needs online, by weekday and local time.

A rule has the shape of a weekly shift without a chatter: weekdays, start, end and zone
(an end at or before the start ends the next day; start equal to end, e.g. 00:00-00:00 or
00:00-24:00, is the whole day).  Rules of one creator may overlap: the highest number
holds there (collector.db.schedule_models.CoverageRule).  The same rule twice is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.db import audit
from collector.db.models import Creator
from collector.db.schedule_models import CoverageRule
from collector.errors import DomainError
from collector.shifts.fields import (
    hhmm,
    invalid,
    minute_of,
    weekdays_of,
    weekdays_text,
    whole_number,
    zone_of,
)
from collector.shifts.manage import MAX_ID, Scope, _unknown, creator_named, in_scope

FIELDS = ("creator", "zone", "weekdays", "start", "end", "required")
MOST_REQUIRED = 1000


def rule_values(
    session: Session,
    data: Mapping[str, Any],
    *,
    default_zone: str,
    scope: Scope = None,
    base: CoverageRule | None = None,
) -> dict[str, Any]:
    _unknown(data, FIELDS)
    if base is None:
        missing = [n for n in ("creator", "weekdays", "start", "end", "required") if n not in data]
        if missing:
            raise DomainError(
                f"missing field(s): {', '.join(missing)}",
                422,
                code="invalid_field",
                details=[{"field": n, "message": "is required"} for n in missing],
            )
    old: dict[str, Any] = {}
    if base is not None:
        old = {k: getattr(base, k) for k in ("creator_id", "zone", "weekdays", "required")}
        old.update(start_minute=base.start_minute, end_minute=base.end_minute)
    if "creator" in data:
        creator = creator_named(session, data["creator"])
        if not creator.active and creator.id != old.get("creator_id"):
            raise invalid("creator", f"creator {creator.key!r} is deactivated")
    else:
        creator = session.get_one(Creator, old["creator_id"])
    in_scope(scope, creator.id, f"creator {creator.key!r}")
    values: dict[str, Any] = {"creator_id": creator.id}
    values["zone"] = (
        zone_of(data["zone"])
        if data.get("zone") not in (None, "")
        else old.get("zone", default_zone)
    )
    values["weekdays"] = weekdays_of(data["weekdays"]) if "weekdays" in data else old["weekdays"]
    values["start_minute"] = (
        minute_of(data["start"], "start") if "start" in data else old["start_minute"]
    )
    values["end_minute"] = (
        minute_of(data["end"], "end", end=True) if "end" in data else old["end_minute"]
    )
    values["required"] = (
        whole_number(data["required"], "required", 0, MOST_REQUIRED)
        if "required" in data
        else old["required"]
    )
    twin = session.scalar(
        select(CoverageRule.id).where(
            *(getattr(CoverageRule, k) == v for k, v in values.items() if k != "required"),
            CoverageRule.id != (base.id if base is not None else 0),
        )
    )
    if twin is not None:
        raise DomainError(
            f"creator {creator.key!r} already has coverage rule {twin} for these days and "
            "hours: edit that one",
            409,
        )
    return values


def find_rule(session: Session, rule_id: int, scope: Scope = None) -> CoverageRule:
    """The rule; 404 when there is none or it is another creator's than a team lead's
    (``scope``), as ``manage.find_shift`` answers for shifts."""
    rule = session.get(CoverageRule, rule_id) if 0 < rule_id <= MAX_ID else None
    if rule is None or (scope is not None and rule.creator_id not in scope):
        raise DomainError(f"no coverage rule {rule_id}", 404)
    return rule


def shown(session: Session, rule: CoverageRule | Mapping[str, Any]) -> dict[str, Any]:
    names = ("creator_id", "zone", "weekdays", "start_minute", "end_minute", "required")
    v = dict(rule) if isinstance(rule, Mapping) else {k: getattr(rule, k) for k in names}
    creator = session.get_one(Creator, v["creator_id"])
    return {
        "creator": creator.key,
        "zone": v["zone"],
        "weekdays": weekdays_text(v["weekdays"]),
        "start": hhmm(v["start_minute"]),
        "end": hhmm(v["end_minute"]),
        "required": v["required"],
    }


def add_rule(
    session: Session, values: dict[str, Any], actor: str, now: dt.datetime
) -> CoverageRule:
    rule = CoverageRule(**values, created_at=now, updated_at=now)
    session.add(rule)
    session.flush()
    audit.record(
        session, actor, "add_coverage_rule", f"coverage rule {rule.id}", now, **shown(session, rule)
    )
    return rule


def edit_rule(
    session: Session, rule: CoverageRule, values: dict[str, Any], actor: str, now: dt.datetime
) -> dict[str, Any]:
    before = shown(session, rule)
    after = shown(session, values)
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        for name, value in values.items():
            setattr(rule, name, value)
        rule.updated_at = now
        session.flush()
        audit.record(
            session, actor, "edit_coverage_rule", f"coverage rule {rule.id}", now, **changes
        )
    return changes


def remove_rule(session: Session, rule: CoverageRule, actor: str, now: dt.datetime) -> None:
    before = shown(session, rule)
    session.delete(rule)
    session.flush()
    audit.record(session, actor, "remove_coverage_rule", f"coverage rule {rule.id}", now, **before)


def rules(
    session: Session, scope: Scope = None, creator_id: int | None = None
) -> list[CoverageRule]:
    query = select(CoverageRule).order_by(CoverageRule.creator_id, CoverageRule.id)
    if scope is not None:
        query = query.where(CoverageRule.creator_id.in_(list(scope)))
    if creator_id is not None:
        query = query.where(CoverageRule.creator_id == creator_id)
    return list(session.scalars(query))


def describe(session: Session, rule: CoverageRule) -> dict[str, Any]:
    return {"id": rule.id, **shown(session, rule)}
