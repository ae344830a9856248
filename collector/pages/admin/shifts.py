"""Schedules: the week's roster per creator, shift and exception forms, coverage rules,
and the roster CSV upload.

Open to admins and managers (unlike the other admin pages): a manager limited to some
creators (a team lead) sees and changes only their creators' shifts.  The week is shown
in the agency's zone or one chosen; an occurrence sits in the column of the local day it
starts on, an overnight one marked "+1".  Every change runs in one write transaction
with its audit entry (``collector.shifts``) and answers POST-redirect-GET; a refusal
re-renders the page with the message and its status, nothing written.  Deleting a shift
or a coverage rule asks first (a page of its own, so it works without JavaScript).
People are shown by name; their keys stay the forms' values.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from collector.agency import credit
from collector.auth.callers import creator_limit
from collector.auth.roles import MANAGERS
from collector.db import settings
from collector.db.engine import begin_write
from collector.db.models import Chatter, Creator, User, chatter_creators
from collector.db.text import count_of
from collector.errors import DomainError
from collector.http.auth import current_user, login_required
from collector.http.database import db
from collector.pages.admin import Form, Page, bp
from collector.pages.admin import field as form_field
from collector.pages.selection import ALL_ZONES
from collector.shifts import coverage, listing, manage, roster
from collector.shifts.fields import (
    DAY_LABELS,
    WEEKDAY_NAMES,
    day_of,
    hhmm,
    times_label,
    weekdays_label,
    zone_of,
)
from shared.protocol import utc_now

# How a team lead's pages name a chatter outside their creators (``listing.shown``), and
# the week view's row of the days such chatters work (no chatter has id 0).
ANOTHER_CHATTER = "another chatter"
_ANOTHER = 0
# What each roster column holds, for the upload's help (every column the import reads).
ROSTER_HELP = {
    "chatter": "the chatter's key (required)",
    "creator": "the creator's key (required)",
    "day": "a one-off shift on this date, YYYY-MM-DD",
    "weekday": "instead of day: a weekly shift on mon, mon-fri, sat,sun or daily",
    "start": "local start, HH:MM (required)",
    "end": "local end, HH:MM; at or before the start: the next day (required)",
    "zone": "an IANA time zone such as Europe/Paris; empty: the agency's",
    "note": "optional, one line",
    "first_day": "weekly rows: the first day (default: the day chosen below)",
    "last_day": "weekly rows: the last day (optional)",
}
_OWN_ENDPOINTS = frozenset(
    f"admin.{name}"
    for name in (
        "shift_page",
        "edit_shift",
        "remove_shift",
        "remove_shift_confirm",
        "add_exception",
        "remove_exception",
        "coverage_rule_page",
        "edit_coverage_rule",
        "remove_coverage_rule",
        "remove_coverage_rule_confirm",
    )
)


@bp.before_request
def _ascii_numbers() -> None:
    """Flask's ``<int:...>`` reads any script's digits ("/shifts/１" would be shift 1):
    the numbers in these addresses are ASCII digits, anything else names nothing."""
    if request.endpoint in _OWN_ENDPOINTS and not request.path.isascii():
        abort(404, description="no such shift or coverage rule (numbers are digits 0-9)")


def _scope(user: User | None) -> manage.Scope:
    return None if user is None else creator_limit(user)


def _actor(user: User) -> str:
    return user.email


@contextmanager
def _writing() -> Iterator[tuple[Session, User]]:
    """One write transaction; the login is checked again inside it (a manager or admin,
    still active), like ``collector.pages.admin.writing`` for admins."""
    session = db.session
    if session.in_transaction():
        session.rollback()
    begin_write(session)
    try:
        me = current_user()
        if me is not None:
            session.refresh(me)
        if me is None or not me.active or me.role not in MANAGERS:
            abort(403, description="this login may no longer change anything")
        yield session, me
        session.commit()
    except IntegrityError:
        session.rollback()
        raise DomainError(
            "someone changed the same thing at the same moment: reload the page and try again",
            409,
        ) from None
    except BaseException:
        session.rollback()
        raise


Change = Callable[[Session, User], str]


def _submit(change: Change, again: Callable[[DomainError], Page], done: str) -> Response | Page:
    try:
        with _writing() as (session, me):
            message = change(session, me)
    except DomainError as exc:
        if exc.status == 404:
            abort(404, description=exc.message)
        return again(exc)
    flash(message)
    return redirect(done)


# The week view --------------------------------------------------------------------------


@dataclass
class Cell:
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Row:
    chatter: str
    name: str
    cells: list[Cell]


@dataclass
class CreatorWeek:
    key: str
    name: str
    rows: list[Row]
    rules: list[dict[str, Any]]


@dataclass(frozen=True)
class Week:
    first: dt.date
    zone: str
    days: list[dt.date]

    @property
    def previous(self) -> str:
        return (self.first - dt.timedelta(days=7)).isoformat()

    @property
    def next(self) -> str:
        return (self.first + dt.timedelta(days=7)).isoformat()


def _week(args: Form, agency_zone: str) -> Week:
    try:
        zone = zone_of(args.get("tz") or agency_zone, "tz")
    except DomainError:
        zone = agency_zone  # a bad zone in the address: the agency's, said by the page
        flash(f"{str(args.get('tz'))[:64]!r} is not an IANA time zone: showing {zone}", "warn")
    today = dt.datetime.now(zoneinfo.ZoneInfo(zone)).date()
    try:
        day = day_of(args["week"], "week") if args.get("week") else today
    except DomainError:
        flash("the week asked for is not a date such as 2026-12-07: showing this week", "warn")
        day = today
    first = day - dt.timedelta(days=day.weekday())
    return Week(first, zone, [first + dt.timedelta(days=n) for n in range(7)])


def _roster(session: Session, week: Week, scope: manage.Scope) -> list[CreatorWeek]:
    tz = zoneinfo.ZoneInfo(week.zone)
    start = dt.datetime.combine(week.first, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(week.first + dt.timedelta(days=7), dt.time(), tz)
    found = listing.planned(session, start, end.astimezone(dt.UTC), scope)
    chatters = {c.id: c for c in session.scalars(select(Chatter))}
    # A team lead's week names no chatter outside their creators (``listing.shown``): a
    # day swapped to one sits in a row of its own, "another chatter".
    visible = listing.chatters_of(session, scope)
    names = {c.id: c.name for c in chatters.values()}
    creators = [
        c
        for c in session.scalars(select(Creator).order_by(Creator.name))
        if scope is None or c.id in scope
    ]
    grid: dict[int, dict[int, list[Cell]]] = {c.id: {} for c in creators}
    for item in found:
        o = item.occurrence
        begins = o.starts_at.astimezone(tz)
        column = (begins.date() - week.first).days
        if not 0 <= column < 7 or o.creator_id not in grid:
            continue  # started the week before (shown there)
        ends = o.ends_at.astimezone(tz)
        row = o.chatter_id if listing.shown(o.chatter_id, names, visible) else _ANOTHER
        cells = grid[o.creator_id].setdefault(row, [Cell() for _ in range(7)])
        planned_by = listing.shown(item.planned_chatter_id, names, visible) or ANOTHER_CHATTER
        cells[column].items.append(
            {
                "shift_id": o.shift_id,
                "day": o.day.isoformat(),
                "start": hhmm(begins.hour * 60 + begins.minute),
                "end": hhmm(ends.hour * 60 + ends.minute),
                "overnight": ends.date() > begins.date(),
                "state": item.state,
                "instead_of": planned_by if item.state == "swapped" else "",
                "note": item.note,
            }
        )
    rules_by_creator: dict[int, list[dict[str, Any]]] = {}
    for rule in coverage.rules(session, scope):
        rules_by_creator.setdefault(rule.creator_id, []).append(coverage.describe(session, rule))
    out = []
    for creator in creators:
        mine = grid[creator.id]
        rows = [
            Row(chatters[cid].key, chatters[cid].name, cells)
            for cid, cells in sorted(mine.items(), key=lambda kv: names.get(kv[0], ""))
            if cid != _ANOTHER
        ]
        if _ANOTHER in mine:
            rows.append(Row("", ANOTHER_CHATTER.capitalize(), mine[_ANOTHER]))
        if rows or creator.active or rules_by_creator.get(creator.id):
            out.append(
                CreatorWeek(creator.key, creator.name, rows, rules_by_creator.get(creator.id, []))
            )
    return out


def _names(session: Session) -> tuple[dict[str, str], dict[str, str]]:
    """Chatters' and creators' names by key: pages show names, the API and forms keys."""
    chatters = dict(session.execute(select(Chatter.key, Chatter.name)).all())
    creators = dict(session.execute(select(Creator.key, Creator.name)).all())
    return chatters, creators


def _choices(session: Session, scope: manage.Scope) -> tuple[list[Creator], list[Chatter]]:
    creators = [
        c
        for c in session.scalars(select(Creator).where(Creator.active).order_by(Creator.name))
        if scope is None or c.id in scope
    ]
    ids = [c.id for c in creators]
    chatters = list(
        session.scalars(
            select(Chatter)
            .where(
                Chatter.active,
                Chatter.id.in_(
                    select(chatter_creators.c.chatter_id).where(
                        chatter_creators.c.creator_id.in_(ids)
                    )
                ),
            )
            .order_by(Chatter.name)
        )
    )
    return creators, chatters


def _picked_day(
    args: Form, week: Week, agency_zone: str, creators: list[Creator]
) -> tuple[MultiDict[str, str], str]:
    """The add-shift form as a day of the week view asks for it (``?day=&creator=``, the
    link on each day's heading): that first day, its weekday ticked, that creator; and
    the line that says so ("" when no day was asked for)."""
    try:
        day = day_of(args["day"], "day") if args.get("day") else None
    except DomainError:
        day = None
    if day is None:
        return MultiDict(), ""
    picked: MultiDict[str, str] = MultiDict(
        [("first_day", day.isoformat()), ("weekdays", WEEKDAY_NAMES[day.weekday()])]
    )
    label = f"{DAY_LABELS[day.weekday()]} {day.isoformat()}"
    creator = next((c for c in creators if c.key == args.get("creator")), None)
    if creator is not None:
        picked["creator"] = creator.key
        label += f", {creator.name}"
    if week.zone != agency_zone:
        picked["zone"] = week.zone  # the day is the week view's day, in its zone
    return picked, f"Set to {label}: choose the chatter and the hours."


def _page(
    form: Form | None = None,
    errors: dict[str, Any] | None = None,
    status: int = 200,
) -> Page:
    session = db.session
    scope = _scope(current_user())
    agency_zone = str(settings.get_value(session, "agency_timezone"))
    week = _week(request.args, agency_zone)
    creators, chatters = _choices(session, scope)
    picked, picked_line = _picked_day(request.args, week, agency_zone, creators)
    page = render_template(
        "admin/shifts.html",
        week=week,
        day_labels=DAY_LABELS,
        weekday_names=WEEKDAY_NAMES,
        roster=_roster(session, week, scope),
        creators=creators,
        chatters=chatters,
        agency_zone=agency_zone,
        zones=ALL_ZONES,
        form=form if form is not None else MultiDict(),
        shift_form=form if form is not None else picked,
        picked_line="" if form is not None else picked_line,
        errors=errors or {},
        today=dt.datetime.now(zoneinfo.ZoneInfo(week.zone)).date(),
        roster_help=ROSTER_HELP,
    )
    return page, status


def _week_args() -> dict[str, Any]:
    week, tz = request.args.get("week", ""), request.args.get("tz", "")
    return {k: v for k, v in (("week", week), ("tz", tz)) if v}


def _back() -> str:
    """The week view the form was sent from (its query string kept)."""
    return url_for("admin.shifts_page", **_week_args())


@bp.get("/shifts")
@login_required(*MANAGERS)
def shifts_page() -> Page:
    return _page()


def _shift_data(form: Form) -> dict[str, Any]:
    data: dict[str, Any] = {
        name: form_field(form, name)
        for name in ("chatter", "creator", "start", "end", "zone", "first_day", "note")
    }
    if form_field(form, "kind") == "once":
        data["weekdays"] = ""
        data["last_day"] = None
    else:
        picked = [d for d in WEEKDAY_NAMES if d in form.getlist("weekdays")]  # type: ignore[attr-defined]
        if not picked:
            raise DomainError("a weekly shift needs at least one day of the week: tick some")
        data["weekdays"] = ",".join(picked)
        data["last_day"] = form_field(form, "last_day") or None
    for name in ("chatter", "creator"):
        if not data[name]:
            raise DomainError(f"choose a {name}")
    for name in ("start", "end", "first_day"):
        if not data[name]:
            raise DomainError(f"{name.replace('_', ' ')} is required")
    return data


@bp.post("/shifts")
@login_required(*MANAGERS)
def add_shift() -> Response | Page:
    form = request.form

    def change(session: Session, me: User) -> str:
        zone = str(settings.get_value(session, "agency_timezone"))
        fields = manage.shift_fields(
            session, _shift_data(form), default_zone=zone, scope=_scope(me)
        )
        shift = credit.add_shift(session, fields, _actor(me), utc_now(), scope=_scope(me))
        return f"Shift {shift.id} added for {fields.chatter.name}."

    return _submit(change, lambda exc: _page(form, {"shift": exc.message}, exc.status), _back())


# One shift ---------------------------------------------------------------------------------


def _shift_page(
    shift_id: int, form: Form | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Page:
    session = db.session
    scope = _scope(current_user())
    try:
        shift = manage.find_shift(session, shift_id, scope)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    described = listing.described(session, [shift], scope)[0]
    creators, chatters = _choices(session, scope)
    people, brands = _names(session)
    page = render_template(
        "admin/shift.html",
        shift=described,
        people=people,
        brands=brands,
        another_chatter=ANOTHER_CHATTER,
        # The edit form's ticked days: as sent back after a refusal, else the shift's.
        picked=(
            form.getlist("weekdays")  # type: ignore[attr-defined]
            if form is not None and "start" in form
            else [n for i, n in enumerate(WEEKDAY_NAMES) if shift.weekdays >> i & 1]
        ),
        creators=creators,
        chatters=chatters,
        weekday_names=WEEKDAY_NAMES,
        zones=ALL_ZONES,
        others=[
            s
            for s in listing.described(session, listing.shifts(session, scope)[1], scope)
            if s["id"] != shift_id and s["creator"] == described["creator"]
        ][:200],
        form=form if form is not None else MultiDict(),
        errors=errors or {},
    )
    return page, status


@bp.get("/shifts/<int:shift_id>")
@login_required(*MANAGERS)
def shift_page(shift_id: int) -> Page:
    return _shift_page(shift_id)


@bp.post("/shifts/<int:shift_id>")
@login_required(*MANAGERS)
def edit_shift(shift_id: int) -> Response | Page:
    form = request.form

    def change(session: Session, me: User) -> str:
        shift = manage.find_shift(session, shift_id, _scope(me))
        zone = str(settings.get_value(session, "agency_timezone"))
        fields = manage.shift_fields(
            session, _shift_data(form), default_zone=zone, scope=_scope(me), base=shift
        )
        changes = credit.edit_shift(session, shift, fields, _actor(me), utc_now(), _scope(me))
        return f"Shift {shift_id} saved." if changes else f"Shift {shift_id}: nothing changed."

    return _submit(
        change,
        lambda exc: _shift_page(shift_id, form, {"shift": exc.message}, exc.status),
        url_for("admin.shift_page", shift_id=shift_id),
    )


@bp.get("/shifts/<int:shift_id>/delete")
@login_required(*MANAGERS)
def remove_shift_confirm(shift_id: int) -> str:
    session = db.session
    try:
        shift = manage.find_shift(session, shift_id, _scope(current_user()))
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    shown = listing.described(session, [shift])[0]
    people, brands = _names(session)
    days = weekdays_label(shift.weekdays)
    when = (
        days.lower()
        if days == "Every day"
        else f"every {days}"
        if days
        else f"once, on {shown['first_day']}"
    )
    past = (
        "Its past days leave attendance too (late starts, no-shows and scheduled hours)."
        if shift.first_day <= dt.datetime.now(zoneinfo.ZoneInfo(shift.zone)).date()
        else "It has not started yet."
    )
    return render_template(
        "admin/confirm.html",
        title=(
            f"Delete shift {shift_id}: {people.get(shown['chatter'], shown['chatter'])} for "
            f"{brands.get(shown['creator'], shown['creator'])}, {when}, "
            f"{times_label(shift.start_minute, shift.end_minute)} {shown['zone']}?"
        ),
        consequences=[
            "The shift and its cancelled and swapped days are deleted.",
            past,
            "To end a weekly shift and keep its history, set its last day instead.",
        ],
        action=url_for("admin.remove_shift", shift_id=shift_id),
        button="Delete shift",
        cancel=url_for("admin.shift_page", shift_id=shift_id),
    )


@bp.post("/shifts/<int:shift_id>/delete")
@login_required(*MANAGERS)
def remove_shift(shift_id: int) -> Response | Page:

    def change(session: Session, me: User) -> str:
        shift = manage.find_shift(session, shift_id, _scope(me))
        credit.remove_shift(session, shift, _actor(me), utc_now())
        return f"Shift {shift_id} deleted."

    return _submit(
        change,
        lambda exc: _shift_page(shift_id, None, {"action": exc.message}, exc.status),
        url_for("admin.shifts_page"),
    )


@bp.post("/shifts/<int:shift_id>/exceptions")
@login_required(*MANAGERS)
def add_exception(shift_id: int) -> Response | Page:
    form = request.form

    def change(session: Session, me: User) -> str:
        shift = manage.find_shift(session, shift_id, _scope(me))
        kind = form_field(form, "kind") or "cancelled"
        data: dict[str, Any] = {
            "day": form_field(form, "day"),
            "kind": kind,
            "note": form_field(form, "note"),
        }
        if kind == "swapped":
            other = form_field(form, "with_shift")
            if other:
                data["with_shift"] = other
                data["with_day"] = form_field(form, "with_day") or None
            else:
                data["chatter"] = form_field(form, "chatter")
        rows = credit.add_exception(session, shift, data, _actor(me), utc_now(), _scope(me))
        if kind == "cancelled":
            return f"Shift {shift_id} cancelled on {rows[0].day}."
        return f"Shift {shift_id} on {rows[0].day} swapped."

    return _submit(
        change,
        lambda exc: _shift_page(shift_id, form, {"exception": exc.message}, exc.status),
        url_for("admin.shift_page", shift_id=shift_id),
    )


@bp.post("/shifts/<int:shift_id>/exceptions/<day>/delete")
@login_required(*MANAGERS)
def remove_exception(shift_id: int, day: str) -> Response | Page:

    def change(session: Session, me: User) -> str:
        shift = manage.find_shift(session, shift_id, _scope(me))
        credit.remove_exception(
            session, shift, day_of(day, "day"), _actor(me), utc_now(), _scope(me)
        )
        return f"Shift {shift_id} on {day} is as planned again."

    return _submit(
        change,
        lambda exc: _shift_page(shift_id, None, {"exception": exc.message}, exc.status),
        url_for("admin.shift_page", shift_id=shift_id),
    )


# Coverage rules and the roster upload -----------------------------------------------------


def _rule_data(form: Form) -> dict[str, Any]:
    picked = [d for d in WEEKDAY_NAMES if d in form.getlist("weekdays")]  # type: ignore[attr-defined]
    if not picked:
        raise DomainError("tick at least one day of the week")
    return {
        "creator": form_field(form, "creator"),
        "weekdays": ",".join(picked),
        "start": form_field(form, "start"),
        "end": form_field(form, "end"),
        "zone": form_field(form, "zone") or None,
        "required": form_field(form, "required"),
    }


def _rule_page(rule_id: int, form: Form | None = None, error: str = "", status: int = 200) -> Page:
    session = db.session
    scope = _scope(current_user())
    try:
        rule = coverage.find_rule(session, rule_id, scope)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    creators, _ = _choices(session, scope)
    _, brands = _names(session)
    page = render_template(
        "admin/coverage_rule.html",
        rule=coverage.describe(session, rule),
        brands=brands,
        picked=(
            form.getlist("weekdays")  # type: ignore[attr-defined]
            if form is not None and "start" in form
            else [n for i, n in enumerate(WEEKDAY_NAMES) if rule.weekdays >> i & 1]
        ),
        creators=creators,
        day_labels=DAY_LABELS,
        weekday_names=WEEKDAY_NAMES,
        zones=ALL_ZONES,
        form=form if form is not None else MultiDict(),
        error=error,
    )
    return page, status


@bp.get("/coverage-rules/<int:rule_id>")
@login_required(*MANAGERS)
def coverage_rule_page(rule_id: int) -> Page:
    return _rule_page(rule_id)


@bp.post("/coverage-rules/<int:rule_id>")
@login_required(*MANAGERS)
def edit_coverage_rule(rule_id: int) -> Response | Page:
    form = request.form

    def change(session: Session, me: User) -> str:
        rule = coverage.find_rule(session, rule_id, _scope(me))
        zone = str(settings.get_value(session, "agency_timezone"))
        values = coverage.rule_values(
            session, _rule_data(form), default_zone=zone, scope=_scope(me), base=rule
        )
        changed = coverage.edit_rule(session, rule, values, _actor(me), utc_now())
        return (
            f"Coverage rule {rule_id} saved."
            if changed
            else f"Coverage rule {rule_id}: nothing changed."
        )

    return _submit(
        change,
        lambda exc: _rule_page(rule_id, form, exc.message, exc.status),
        url_for("admin.shifts_page"),
    )


@bp.post("/coverage-rules")
@login_required(*MANAGERS)
def add_coverage_rule() -> Response | Page:
    form = request.form

    def change(session: Session, me: User) -> str:
        data = _rule_data(form)
        zone = str(settings.get_value(session, "agency_timezone"))
        values = coverage.rule_values(session, data, default_zone=zone, scope=_scope(me))
        rule = coverage.add_rule(session, values, _actor(me), utc_now())
        return f"Coverage rule {rule.id} added."

    return _submit(change, lambda exc: _page(form, {"coverage": exc.message}, exc.status), _back())


@bp.get("/coverage-rules/<int:rule_id>/delete")
@login_required(*MANAGERS)
def remove_coverage_rule_confirm(rule_id: int) -> str:
    session = db.session
    try:
        rule = coverage.find_rule(session, rule_id, _scope(current_user()))
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    shown = coverage.describe(session, rule)
    _, brands = _names(session)
    hours = (
        "all day"
        if rule.start_minute == rule.end_minute
        else times_label(rule.start_minute, rule.end_minute)
    )
    return render_template(
        "admin/confirm.html",
        title=(
            f"Delete coverage rule {rule_id}: {brands.get(shown['creator'], shown['creator'])} "
            f"needs {shown['required']} online, {weekdays_label(rule.weekdays)} {hours} "
            f"{shown['zone']}?"
        ),
        consequences=[
            "Attendance's coverage map (past weeks included) and the coverage alert stop "
            "asking for these chatters.",
            "Editing the rule instead (another number, other hours) keeps it.",
        ],
        action=url_for("admin.remove_coverage_rule", rule_id=rule_id, **_week_args()),
        button="Delete rule",
        cancel=_back(),
    )


@bp.post("/coverage-rules/<int:rule_id>/delete")
@login_required(*MANAGERS)
def remove_coverage_rule(rule_id: int) -> Response | Page:

    def change(session: Session, me: User) -> str:
        rule = coverage.find_rule(session, rule_id, _scope(me))
        coverage.remove_rule(session, rule, _actor(me), utc_now())
        return f"Coverage rule {rule_id} deleted."

    return _submit(change, lambda exc: _page(None, {"coverage": exc.message}, exc.status), _back())


@bp.post("/shifts/import")
@login_required(*MANAGERS)
def import_roster() -> Response | Page:
    form = request.form
    upload = request.files.get("roster")
    data = upload.read(roster.MAX_BYTES + 1) if upload is not None and upload.filename else b""

    def change(session: Session, me: User) -> str:
        if not data:
            raise DomainError("choose a CSV file to upload")
        zone = str(settings.get_value(session, "agency_timezone"))
        start = (
            day_of(form_field(form, "from"), "from")
            if form_field(form, "from")
            else (dt.datetime.now(zoneinfo.ZoneInfo(zone)).date())
        )
        done = credit.import_roster(
            session,
            data,
            default_zone=zone,
            start_day=start,
            actor=_actor(me),
            now=utc_now(),
            scope=_scope(me),
        )
        skipped = (
            f", {count_of(len(done.skipped), 'line')} skipped (already there)"
            if done.skipped
            else ""
        )
        return f"Roster imported: {count_of(len(done.added), 'shift')} added{skipped}."

    def again(exc: DomainError) -> Page:
        lines = roster.problems_of(exc)
        message = roster.summary(exc) if lines else exc.message
        return _page(form, {"roster": message, "roster_lines": lines}, exc.status)

    return _submit(change, again, _back())
