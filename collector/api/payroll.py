"""Payroll (issue 16, METRICS.md "Payroll"): a period's pay as JSON or an export, what a
line stands on, approving a period, and the pay rules.

Reads answer an API token or the dashboard's session: admins and managers see every
chatter (a team lead, a manager login limited to some creators, only the chatters of their
creators), a chatter only their own pay.  Approving a period and setting a pay rule want an
admin token and are audited under its name.  The rules live in ``collector.payroll``; every
refusal is a JSON error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from flask import Blueprint, Response, request
from sqlalchemy import select

from collector.auth import callers
from collector.auth.roles import MANAGERS, READERS
from collector.db import text
from collector.db.engine import begin_write
from collector.db.models import Chatter
from collector.db.payroll_models import PayRule
from collector.db.settings import currency_exponent
from collector.errors import ApiError, DomainError
from collector.http.auth import require_caller, require_token
from collector.http.database import db
from collector.http.exports import report_response
from collector.http.jsonio import json_response, read_body
from collector.payroll import ledger, report, rules, sources
from collector.payroll.report import Person
from shared.money import format_amount

bp = Blueprint("payroll", __name__, url_prefix="/api/v1/payroll")

BODY_LIMIT = 16 * 1024
ADMIN = ("admin",)
# A chatter has a few lines a period (three per pay rule, and the adjustments).
MAX_LINE = 10_000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _choice(name: str, allowed: tuple[str, ...]) -> str:
    raw = request.args.get(name) or allowed[0]
    if raw not in allowed:
        raise ApiError(
            400, "bad_parameter", f"{name}={raw[:20]!r} is not one of {', '.join(allowed)}"
        )
    return raw


def _period_text(raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ApiError(400, "bad_parameter", "period must be a string: a day or first..last")
    if len(raw) > 40:  # first..last is 22 characters
        raise ApiError(400, "bad_parameter", "period must be a day (YYYY-MM-DD) or first..last")
    return raw


def _chatter_of(people: dict[int, Person], caller: callers.Caller, key: str) -> Person:
    """The chatter ``key`` if ``caller`` may see their pay.  Like the stats: a chatter and a
    team lead learn nothing about keys outside what they see, not even that they exist."""
    try:
        text.check(key, "chatter", Chatter.key, status=400)
    except DomainError as exc:
        raise ApiError(400, "bad_parameter", exc.message) from None
    person = next((p for p in people.values() if p.key == key), None)
    if caller.role == "chatter" and person is None:
        raise ApiError(403, "forbidden", "a chatter sees only their own pay")
    if person is None and caller.limited:
        raise ApiError(403, "forbidden", "this login sees only the chatters of its creators")
    if person is None:
        raise ApiError(404, "not_found", f"no chatter {key[:40]!r}")
    return person


@bp.get("")
def show() -> Response:
    """A period's pay: per chatter, and each chatter's lines (JSON), or a table as a file."""
    session = db.session
    caller = require_caller(session, *READERS)
    fmt = _choice("format", report.FORMATS)
    view = _choice("view", report.VIEWS)
    now = _now()
    cal = ledger.calendar(session)
    period = report.parse_period(cal, _period_text(request.args.get("period")), now)
    payroll = report.build(session, caller, period, now)
    if fmt == "json":
        return json_response(report.body(payroll))
    return report_response(report.table(payroll, view), fmt)


@bp.get("/sources")
def line_sources() -> Response:
    """What one line of a chatter's pay stands on: ``line`` is its place (from 0) in the
    chatter's ``lines`` of the period's body; an adjustment lists only what arrived or
    changed between the approvals around it."""
    session = db.session
    caller = require_caller(session, *READERS)
    now = _now()
    cal = ledger.calendar(session)
    period = report.parse_period(cal, _period_text(request.args.get("period")), now)
    key = request.args.get("chatter")
    if not key:
        raise ApiError(400, "bad_parameter", "chatter: a chatter's key is required")
    payroll = report.build(session, caller, period, now)
    person = _chatter_of(payroll.people, caller, key)
    raw = request.args.get("line")
    if raw is None or raw == "":
        raise ApiError(400, "bad_parameter", "line: the line's place (from 0) is required")
    index = text.whole_number(raw, 0, MAX_LINE)
    if index is None:
        raise ApiError(
            400, "bad_parameter", f"line={raw[:20]!r}: a whole number from 0 to {MAX_LINE}"
        )
    mine = [line for line in payroll.lines if line.chatter_id == person.id]
    if index >= len(mine):
        raise ApiError(
            404,
            "not_found",
            f"{person.key} has {text.count_of(len(mine), 'line')} in {period.label()}",
        )
    line = mine[index]
    adjustment = line.origin != period
    since, until = sources.changed_between(session, payroll.locked)
    found = sources.sources(
        session,
        line,
        cal.tz,
        adjustment=adjustment,
        since=since if adjustment else None,
        until=until if adjustment else None,
        for_chatter=caller.role == "chatter",
    )
    return json_response(
        {
            "period": period.label(),
            "chatter": {"key": person.key, "name": person.name},
            "line": {"index": index, **report.line_row(payroll, line)},
            "changed_since": _utc(since) if adjustment and since is not None else None,
            "changed_until": _utc(until) if adjustment and until is not None else None,
            "limit": sources.LIMIT,
            **found,
        }
    )


def _object() -> dict[str, Any]:
    body = read_body(BODY_LIMIT)
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise ApiError(400, "bad_request", f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "send a JSON object")
    return data


@bp.post("/approve")
def approve() -> Response:
    """Lock a period that is over with the lines it pays now (admin; audited).  Periods are
    approved in order; a refusal is 409 with its code."""
    session = db.session
    begin_write(session)
    token = require_token(session, *ADMIN)
    data = _object()
    unknown = sorted(set(data) - {"period"})
    if unknown:
        raise ApiError(400, "bad_request", f"unknown field: {', '.join(unknown)[:100]}")
    raw = _period_text(data.get("period"))
    if not raw:
        raise ApiError(400, "bad_parameter", "period: a day or first..last is required")
    now = _now()
    cal = ledger.calendar(session)
    period = report.parse_period(cal, raw, now)
    actor = f"token:{token.name}"
    try:
        ledger.approve(session, cal, period, actor=actor, now=now)
        payroll = report.build(session, callers.of_token(token), period, now)
        body = report.body(payroll)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return json_response(body)


# Pay rules ---------------------------------------------------------------------------------


def _rule_row(person: Person, row: PayRule, exponent: int) -> dict[str, Any]:
    return {
        "chatter": person.key,
        "name": person.name,
        "valid_from": row.valid_from.isoformat(),
        **{field: getattr(row, field) for field in rules.FIELDS},
        "hourly": format_amount(row.hourly_minor, exponent),
        "bonus": format_amount(row.bonus_minor, exponent),
        "minimum": format_amount(row.minimum_minor, exponent),
        "created_at": _utc(row.created_at),
        "created_by": row.created_by,
    }


@bp.get("/rules")
def list_rules() -> Response:
    """Pay rules, by chatter and first day (managers; a team lead their creators' chatters)."""
    session = db.session
    caller = require_caller(session, *MANAGERS)
    people = report.visible(session, caller)
    key = request.args.get("chatter")
    if key:
        people = {(p := _chatter_of(people, caller, key)).id: p}
    currency, exponent = currency_exponent(session)
    rows = session.scalars(
        select(PayRule)
        .where(PayRule.chatter_id.in_(sorted(people)))
        .order_by(PayRule.chatter_id, PayRule.valid_from)
    ).all()
    found = [_rule_row(people[row.chatter_id], row, exponent) for row in rows]
    found.sort(key=lambda r: (str(r["name"]).lower(), r["chatter"], r["valid_from"]))
    return json_response({"currency": currency, "rules": found})


@bp.post("/rules")
def set_rule() -> Response:
    """Set a chatter's pay rule from a day on (admin; audited).  Amounts in minor units."""
    session = db.session
    begin_write(session)
    token = require_token(session, *ADMIN)
    data = _object()
    key, day = data.pop("chatter", None), data.pop("valid_from", None)
    replace = data.pop("replace", False)
    if not isinstance(replace, bool):
        raise ApiError(422, "invalid_rule", "replace: true or false")
    if not isinstance(key, str) or not key:
        raise ApiError(422, "invalid_rule", "chatter: a chatter's key is required")
    if not isinstance(day, str):
        raise ApiError(422, "invalid_rule", "valid_from: a day (YYYY-MM-DD) is required")
    valid_from = text.iso_day(day)
    if valid_from is None:
        raise ApiError(422, "invalid_rule", f"valid_from: {day[:20]!r} is not a day (YYYY-MM-DD)")
    try:
        rule = rules.checked(data)
    except DomainError as exc:
        raise ApiError(422, "invalid_rule", exc.message) from None
    try:
        text.check(key, "chatter", Chatter.key)
    except DomainError as exc:
        raise ApiError(422, "invalid_rule", exc.message) from None
    chatter = session.scalar(select(Chatter).where(Chatter.key == key))
    if chatter is None:
        raise ApiError(422, "invalid_rule", f"chatter: no chatter {key[:40]!r}")
    try:
        row = rules.set_rule(
            session,
            chatter,
            valid_from,
            rule,
            actor=f"token:{token.name}",
            now=_now(),
            replace=replace,
        )
    except DomainError as exc:
        session.rollback()
        code = exc.code if exc.status == 409 else "invalid_rule"
        raise ApiError(exc.status, code, exc.message) from None
    _, exponent = currency_exponent(session)
    body = _rule_row(Person(chatter.id, chatter.key, chatter.name), row, exponent)
    session.commit()
    return json_response(body, 201)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
