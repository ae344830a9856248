"""Schedules: shifts, their exceptions, coverage rules, the roster import, occurrences.

Reads answer an API token of a manager or admin, or the dashboard's session (a manager
login limited to some creators, a team lead, sees only their creators' shifts; another
creator's shift or key reads like one that does not exist).  Changes want a manager or
admin token and are audited under its name.  The rules live in ``collector.shifts``;
every refusal is a JSON error.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from flask import Blueprint, Response, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from collector.agency import credit
from collector.auth.roles import MANAGERS
from collector.db import settings, text
from collector.db.engine import begin_write
from collector.db.models import Chatter
from collector.errors import ApiError, DomainError
from collector.http.auth import require_caller, require_token
from collector.http.database import db
from collector.http.jsonio import json_response, read_body
from collector.shifts import coverage, listing, manage, roster
from collector.shifts.fields import day_of, key_of, zone_of
from collector.stats import reports
from shared.protocol import utc_now

bp = Blueprint("shifts", __name__, url_prefix="/api/v1")

BODY_LIMIT = 64 * 1024
MAX_PER_PAGE = 500
T = TypeVar("T")


@bp.before_request
def _ascii_path() -> None:
    """Flask's ``<int:...>`` reads any script's digits ("/shifts/１" would be shift 1):
    the numbers in these paths are ASCII digits, anything else names nothing."""
    if not request.path.isascii():
        raise ApiError(404, "not_found", "no such shift or coverage rule (numbers are digits 0-9)")


def _zone() -> str:
    return str(settings.get_value(db.session, "agency_timezone"))


def _read_scope() -> manage.Scope:
    caller = require_caller(db.session, *MANAGERS)
    return caller.creators


def _write() -> str:
    """Open the write transaction and check the token; the actor for the audit trail."""
    session = db.session
    begin_write(session)
    token = require_token(session, *MANAGERS)
    return f"token:{token.name}"


def _object() -> dict[str, Any]:
    body = read_body(BODY_LIMIT)
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise ApiError(400, "bad_request", f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "send a JSON object")
    return data


def _committed(change: Callable[[], T]) -> T:
    """Run a change and commit; two requests changing the same thing at once: 409."""
    session = db.session
    try:
        result = change()
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ApiError(
            409, "conflict", "someone changed the same thing at the same moment: try again"
        ) from None
    except BaseException:
        session.rollback()
        raise
    return result


def _page(name: str, default: int, highest: int) -> int:
    return text.whole_parameter(request.args, name, default, highest)


# No row has this id: the chatter filter of a team lead naming a key nobody has.
_NOBODY = 0


def _filter_ids(scope: manage.Scope) -> tuple[int | None, int | None]:
    """The creator and chatter named in the query.  A team lead learns nothing about
    keys outside their creators (stats.reports.visible_creator): another creator's key
    and an unknown one are both 403, and an unknown chatter lists nothing, like a chatter
    of other creators; to everyone else an unknown key is 400."""
    session = db.session
    creator_id = chatter_id = None
    if request.args.get("creator"):
        creator_id = reports.visible_creator(session, scope, _key("creator")).id
    if request.args.get("chatter"):
        key = _key("chatter")
        chatter_id = session.scalar(select(Chatter.id).where(Chatter.key == key))
        if chatter_id is None and scope is None:
            raise ApiError(400, "bad_parameter", f"chatter: no chatter {key!r}")
        if chatter_id is None:
            chatter_id = _NOBODY
    return creator_id, chatter_id


def _key(name: str) -> str:
    try:
        return key_of(request.args[name], name)
    except DomainError as exc:
        raise ApiError(400, "bad_parameter", exc.message) from None


# Shifts -----------------------------------------------------------------------------------


@bp.get("/shifts")
def list_shifts() -> Response:
    """Shifts with their exceptions, by creator and chatter, paged."""
    session = db.session
    scope = _read_scope()
    creator_id, chatter_id = _filter_ids(scope)
    page = _page("page", 1, 10**6)
    per_page = _page("per_page", 100, MAX_PER_PAGE)
    total, found = listing.shifts(
        session,
        scope,
        creator_id=creator_id,
        chatter_id=chatter_id,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    return json_response(
        {
            "shifts": listing.described(session, found, scope),
            "page": page,
            "per_page": per_page,
            "total": total,
        }
    )


def _one(shift_id: int, scope: manage.Scope = None) -> dict[str, Any]:
    session = db.session
    shift = manage.find_shift(session, shift_id, scope)
    return listing.described(session, [shift], scope)[0]


@bp.post("/shifts")
def add_shift() -> Response:
    actor = _write()
    data = _object()
    session = db.session

    def change() -> int:
        fields = manage.shift_fields(session, data, default_zone=_zone())
        return credit.add_shift(session, fields, actor, utc_now()).id

    shift_id = _committed(change)
    return json_response(_one(shift_id), 201)


@bp.get("/shifts/<int:shift_id>")
def show_shift(shift_id: int) -> Response:
    return json_response(_one(shift_id, _read_scope()))


@bp.patch("/shifts/<int:shift_id>")
def edit_shift(shift_id: int) -> Response:
    actor = _write()
    data = _object()
    session = db.session

    def change() -> dict[str, Any]:
        shift = manage.find_shift(session, shift_id)
        fields = manage.shift_fields(session, data, default_zone=_zone(), base=shift)
        return credit.edit_shift(session, shift, fields, actor, utc_now())

    changes = _committed(change)
    return json_response({**_one(shift_id), "changed": sorted(changes)})


@bp.delete("/shifts/<int:shift_id>")
def remove_shift(shift_id: int) -> Response:
    actor = _write()
    session = db.session
    _committed(
        lambda: credit.remove_shift(session, manage.find_shift(session, shift_id), actor, utc_now())
    )
    return json_response({"deleted": shift_id})


@bp.post("/shifts/<int:shift_id>/exceptions")
def add_exception(shift_id: int) -> Response:
    """Cancel a day, or hand it to another chatter (with_shift: a swap of two days)."""
    actor = _write()
    data = _object()
    session = db.session

    def change() -> None:
        shift = manage.find_shift(session, shift_id)
        credit.add_exception(session, shift, data, actor, utc_now())

    _committed(change)
    return json_response(_one(shift_id), 201)


@bp.delete("/shifts/<int:shift_id>/exceptions/<day>")
def remove_exception(shift_id: int, day: str) -> Response:
    actor = _write()
    session = db.session

    def change() -> None:
        shift = manage.find_shift(session, shift_id)
        credit.remove_exception(session, shift, day_of(day, "day"), actor, utc_now())

    _committed(change)
    return json_response(_one(shift_id))


@bp.post("/shifts/import")
def import_roster() -> Response:
    """A week's roster as CSV (see README, "Schedules"): every row or none."""
    actor = _write()
    session = db.session
    body = read_body(roster.MAX_BYTES)
    zone = _zone()
    start = _day_arg("from") or dt.datetime.now(zoneinfo.ZoneInfo(zone)).date()
    dry_run = request.args.get("dry_run", "") in ("1", "true", "yes")

    def change() -> roster.Imported:
        found = credit.import_roster(
            session, body, default_zone=zone, start_day=start, actor=actor, now=utc_now()
        )
        if dry_run:
            raise _DryRun(found)
        return found

    try:
        done = _committed(change)
    except _DryRun as checked:
        done = checked.result
    names = listing.keys(session)
    return json_response(
        {
            "dry_run": dry_run,
            "added": len(done.added),
            "shifts": [] if dry_run else [listing.describe(s, names) for s in done.added],
            "skipped": done.skipped,
        },
        200 if dry_run else 201,
    )


class _DryRun(Exception):
    """Ends a checked import without writing it (the transaction rolls back)."""

    def __init__(self, result: roster.Imported) -> None:
        super().__init__("dry run")
        self.result = result


def _day_arg(name: str, same: str | None = None) -> dt.date | None:
    """The day of query parameter ``name``, or of ``same`` (another name for it: the stats
    endpoints' start and end for from and to); both given, they must agree."""
    days = {}
    for key in (name, same) if same else (name,):
        raw = request.args.get(key)
        if raw:
            try:
                days[key] = day_of(raw, key)
            except DomainError as exc:
                raise ApiError(400, "bad_parameter", exc.message) from None
    if len(set(days.values())) > 1:
        raise ApiError(400, "bad_parameter", f"{name} and {same} are the same parameter: give one")
    return next(iter(days.values()), None)


@bp.get("/shifts/occurrences")
def occurrences() -> Response:
    """Occurrences starting or running on local days from..to of zone tz (UTC and local);
    start and end are read as from and to, the names the stats endpoints use."""
    session = db.session
    scope = _read_scope()
    try:
        tz_name = zone_of(request.args.get("tz") or _zone(), "tz")
    except DomainError as exc:
        raise ApiError(400, "bad_parameter", exc.message) from None
    tz = zoneinfo.ZoneInfo(tz_name)
    today = dt.datetime.now(tz).date()
    first = _day_arg("from", "start") or today
    last = _day_arg("to", "end") or first + dt.timedelta(days=6)
    if last < first or (last - first).days >= listing.MAX_RANGE_DAYS:
        raise ApiError(
            400,
            "bad_parameter",
            f"to must be on or after from, at most {listing.MAX_RANGE_DAYS} days in all",
        )
    creator_id, chatter_id = _filter_ids(scope)
    with_cancelled = request.args.get("cancelled", "") in ("1", "true", "yes")
    start = dt.datetime.combine(first, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    found = listing.planned(
        session,
        start,
        end,
        scope,
        creator_id=creator_id,
        chatter_id=chatter_id,
        with_cancelled=with_cancelled,
    )
    names = listing.keys(session)
    visible = listing.chatters_of(session, scope)  # a team lead: their creators' chatters
    return json_response(
        {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "tz": tz_name,
            "occurrences": [listing.occurrence_row(p, names, tz, visible) for p in found],
        }
    )


# Coverage rules ---------------------------------------------------------------------------


@bp.get("/coverage-rules")
def list_rules() -> Response:
    session = db.session
    scope = _read_scope()
    creator_id, _ = _filter_ids(scope)
    found = coverage.rules(session, scope, creator_id)
    return json_response({"coverage_rules": [coverage.describe(session, r) for r in found]})


@bp.post("/coverage-rules")
def add_rule() -> Response:
    actor = _write()
    data = _object()
    session = db.session

    def change() -> int:
        values = coverage.rule_values(session, data, default_zone=_zone())
        return coverage.add_rule(session, values, actor, utc_now()).id

    rule_id = _committed(change)
    return json_response(coverage.describe(session, coverage.find_rule(session, rule_id)), 201)


@bp.get("/coverage-rules/<int:rule_id>")
def show_rule(rule_id: int) -> Response:
    session = db.session
    rule = coverage.find_rule(session, rule_id, _read_scope())
    return json_response(coverage.describe(session, rule))


@bp.patch("/coverage-rules/<int:rule_id>")
def edit_rule(rule_id: int) -> Response:
    actor = _write()
    data = _object()
    session = db.session

    def change() -> None:
        rule = coverage.find_rule(session, rule_id)
        values = coverage.rule_values(session, data, default_zone=_zone(), base=rule)
        coverage.edit_rule(session, rule, values, actor, utc_now())

    _committed(change)
    return json_response(coverage.describe(session, coverage.find_rule(session, rule_id)))


@bp.delete("/coverage-rules/<int:rule_id>")
def remove_rule(rule_id: int) -> Response:
    actor = _write()
    session = db.session
    _committed(
        lambda: coverage.remove_rule(
            session, coverage.find_rule(session, rule_id), actor, utc_now()
        )
    )
    return json_response({"deleted": rule_id})
