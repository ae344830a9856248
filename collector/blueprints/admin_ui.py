"""Admin pages: people, logins, enrollment tokens, devices, API tokens, settings.

Server-rendered for role ``admin`` only; every form works without JavaScript (the one
script only adds a Copy button next to a secret).  The rules live in the domain modules
the command line uses too (people, api_tokens, device_admin, settings, users); a view
parses the form, calls them in one write transaction with an audit entry, and answers
POST-redirect-GET with a flash message.  Input the admin can fix re-renders the form
with the message and a 400 (invalid) or 409 (conflicts with what is stored); nothing
is written then.

Secrets (enrollment and API tokens) are shown once, in the answer to the POST that
made them: never put in the session cookie (signed, not encrypted) or a redirect.
Every admin answer is ``Cache-Control: no-store``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from collector import (
    admin_views,
    api_tokens,
    audit,
    csrf,
    device_admin,
    people,
    settings,
    users,
)
from collector.access import current_user, login_required
from collector.auth import ROLES as TOKEN_ROLES
from collector.db import begin_write, db
from collector.models import ApiToken, Chatter, User
from shared.money import CURRENCY_EXPONENTS
from shared.protocol import ALLOWED_SLICE_SECONDS, utc_now

bp = Blueprint("admin_ui", __name__, url_prefix="/admin")
bp.before_request(csrf.protect)

# (endpoint, label) of every admin page, in the order the top bar shows them.
NAV: list[tuple[str, str]] = [
    ("admin_ui.people_page", "People"),
    ("admin_ui.users_page", "Logins"),
    ("admin_ui.enrollment_page", "Enrollment"),
    ("admin_ui.devices_page", "Devices"),
    ("admin_ui.tokens_page", "API tokens"),
    ("admin_ui.settings_page", "Settings"),
]

# Enrollment token lifetimes offered: (form value, label, lifetime).
TTL_CHOICES = [
    ("1h", "1 hour", dt.timedelta(hours=1)),
    ("24h", "1 day", dt.timedelta(hours=24)),
    ("72h", "3 days", dt.timedelta(hours=72)),
    ("7d", "7 days", dt.timedelta(days=7)),
    ("30d", "30 days", dt.timedelta(days=30)),
]
DEFAULT_TTL = "72h"
SETTING_LABELS = {
    "slice_seconds": "Slice length (seconds)",
    "idle_threshold_seconds": "Idle threshold (seconds)",
    "outbox_max_days": "Days an agent keeps unsent slices",
    "currency": "Currency",
    "agency_timezone": "Agency time zone",
}

Page = tuple[str, int]
Form = Mapping[str, Any]


class Conflict(ValueError):
    """The change clashes with what is stored (or with a change made at the same moment)."""

    status = 409


FIXABLE = (
    Conflict,
    people.PeopleError,
    api_tokens.TokenError,
    device_admin.DeviceError,
    users.UserError,
    settings.SettingError,
)


def _status(exc: Exception) -> int:
    return int(getattr(exc, "status", 400))


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    return {"admin_nav": NAV}


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "clock": admin_views.Clock.of(db.session, utc_now()),
        "setting_labels": SETTING_LABELS,
    }


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@contextmanager
def _writing() -> Iterator[tuple[Session, User]]:
    """One write transaction, committed when the block ends without an error.

    The admin is checked again inside it: a login deactivated a moment ago changes nothing.
    """
    session = db.session
    if session.in_transaction():
        session.rollback()  # the read that found the logged-in user
    begin_write(session)
    try:
        me = current_user()
        if me is not None:
            session.refresh(me)
        if me is None or not me.active or me.role != "admin":
            abort(403, description="this login may no longer change anything")
        yield session, me
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "someone changed the same thing at the same moment: reload the page and try again"
        ) from None
    except BaseException:
        session.rollback()
        raise


def _audit(session: Session, me: User, action: str, subject: str, **detail: Any) -> None:
    audit.record(session, me.email, action, subject, utc_now(), **detail)


def _text(form: Form, name: str) -> str:
    return str(form.get(name, "")).strip()


def _form_chatter(session: Session, key: str) -> Chatter:
    """A chatter named by a form field: unknown is a bad form value (400), not a lost page."""
    if not key:
        raise people.PeopleError("choose a chatter")
    try:
        return people.find_chatter(session, key)
    except people.PeopleError as exc:
        raise people.PeopleError(str(exc)) from None


def _or_404(exc: Exception) -> None:
    if _status(exc) == 404:
        abort(404, description=str(exc))


@bp.get("/")
@login_required("admin")
def index() -> Response:
    return redirect(url_for(".people_page"))


# People: creators and chatters ---------------------------------------------------------


def _people(
    form: Form | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Page:
    session = db.session
    page = render_template(
        "admin/people.html",
        chatters=admin_views.chatters(session),
        creators=admin_views.creators(session),
        assignable=admin_views.active_creators(session),
        form=form if form is not None else MultiDict(),
        errors=errors or {},
    )
    return page, status


@bp.get("/people")
@login_required("admin")
def people_page() -> Page:
    return _people()


@bp.post("/creators")
@login_required("admin")
def add_creator() -> Response | Page:
    form = request.form
    try:
        with _writing() as (session, me):
            creator = people.add_creator(
                session, _text(form, "creator_key"), _text(form, "creator_name"), utc_now()
            )
            key, name = creator.key, creator.name
            _audit(session, me, "add_creator", key, name=name)
    except FIXABLE as exc:
        return _people(form, {"creator": str(exc)}, _status(exc))
    flash(f"Creator {name} ({key}) added.")
    return redirect(url_for(".people_page"))


@bp.post("/chatters")
@login_required("admin")
def add_chatter() -> Response | Page:
    form = request.form
    try:
        with _writing() as (session, me):
            chatter = people.add_chatter(
                session,
                _text(form, "chatter_key"),
                _text(form, "chatter_name"),
                form.getlist("chatter_creators"),
                utc_now(),
            )
            key, name = chatter.key, chatter.name
            assigned = [c.key for c in chatter.creators]
            _audit(session, me, "add_chatter", key, name=name, creators=assigned)
    except FIXABLE as exc:
        return _people(form, {"chatter": str(exc)}, _status(exc))
    flash(f"Chatter {name} ({key}) added.")
    return redirect(url_for(".people_page"))


def _creator_form(key: str, form: Form | None = None, error: str = "", status: int = 200) -> Page:
    try:
        creator = people.find_creator(db.session, key)
    except people.PeopleError as exc:
        abort(404, description=str(exc))
    page = render_template(
        "admin/creator.html", creator=creator, form=form if form is not None else {}, error=error
    )
    return page, status


@bp.get("/creators/<key>")
@login_required("admin")
def edit_creator_form(key: str) -> Page:
    return _creator_form(key)


@bp.post("/creators/<key>")
@login_required("admin")
def edit_creator(key: str) -> Response | Page:
    form = request.form
    try:
        with _writing() as (session, me):
            creator = people.find_creator(session, key)
            changes = people.edit_creator(creator, _text(form, "name"))
            if changes:
                _audit(session, me, "edit_creator", key, **changes)
    except FIXABLE as exc:
        _or_404(exc)
        return _creator_form(key, form, str(exc), _status(exc))
    flash(f"Creator {key} saved." if changes else f"Creator {key}: nothing changed.")
    return redirect(url_for(".people_page"))


@bp.post("/creators/<key>/<any(deactivate, reactivate):action>")
@login_required("admin")
def creator_active(key: str, action: str) -> Response | Page:
    try:
        with _writing() as (session, me):
            creator = people.find_creator(session, key)
            if not people.set_creator_active(creator, action == "reactivate"):
                raise Conflict(f"creator {key!r} is already {action}d")
            _audit(session, me, f"{action}_creator", key)
    except FIXABLE as exc:
        _or_404(exc)
        return _people(None, {"action": str(exc)}, _status(exc))
    flash(f"Creator {key} {action}d.")
    return redirect(url_for(".people_page"))


def _chatter_form(key: str, form: Form | None = None, error: str = "", status: int = 200) -> Page:
    session = db.session
    try:
        chatter = people.find_chatter(session, key)
    except people.PeopleError as exc:
        abort(404, description=str(exc))
    assigned = {c.key for c in chatter.creators}
    choices = [
        c for c in admin_views.creators(session) if c.creator.active or c.creator.key in assigned
    ]
    page = render_template(
        "admin/chatter.html",
        chatter=chatter,
        choices=[c.creator for c in choices],
        checked=set(form.getlist("creators")) if isinstance(form, MultiDict) else assigned,
        form=form if form is not None else {},
        error=error,
    )
    return page, status


@bp.get("/chatters/<key>")
@login_required("admin")
def edit_chatter_form(key: str) -> Page:
    return _chatter_form(key)


@bp.post("/chatters/<key>")
@login_required("admin")
def edit_chatter(key: str) -> Response | Page:
    form = request.form
    try:
        with _writing() as (session, me):
            chatter = people.find_chatter(session, key)
            changes = people.edit_chatter(
                session, chatter, _text(form, "name"), form.getlist("creators")
            )
            if changes:
                _audit(session, me, "edit_chatter", key, **changes)
    except FIXABLE as exc:
        _or_404(exc)
        return _chatter_form(key, form, str(exc), _status(exc))
    flash(f"Chatter {key} saved." if changes else f"Chatter {key}: nothing changed.")
    return redirect(url_for(".people_page"))


@bp.get("/chatters/<key>/deactivate")
@login_required("admin")
def deactivate_chatter_confirm(key: str) -> str:
    session = db.session
    try:
        chatter = people.find_chatter(session, key)
    except people.PeopleError as exc:
        abort(404, description=str(exc))
    row = next(r for r in admin_views.chatters(session) if r.chatter.id == chatter.id)
    tokens = sum(
        1
        for t in admin_views.api_tokens(session)
        if t.chatter_id == chatter.id and t.revoked_at is None
    )
    consequences = [
        "Their slices, sales and stats are kept; their key stays taken.",
        f"Their {row.devices} enrolled device(s) are revoked: each agent's next request is "
        "refused and it keeps its queue. Reactivating does not undo this; enroll again.",
        f"Their {row.logins} dashboard login(s) are deactivated and {tokens} chatter API "
        "token(s) revoked.",
        "Their unused enrollment tokens expire, and no new one can be made for them.",
    ]
    return render_template(
        "admin/confirm.html",
        title=f"Deactivate chatter {chatter.name} ({chatter.key})?",
        consequences=consequences,
        action=url_for(".deactivate_chatter", key=key),
        button="Deactivate chatter",
        cancel=url_for(".people_page"),
    )


@bp.post("/chatters/<key>/deactivate")
@login_required("admin")
def deactivate_chatter(key: str) -> Response | Page:
    try:
        with _writing() as (session, me):
            chatter = people.find_chatter(session, key)
            done = people.deactivate_chatter(session, chatter, utc_now())
            _audit(
                session,
                me,
                "deactivate_chatter",
                key,
                devices_revoked=done.devices,
                logins_closed=done.logins,
                tokens_revoked=done.tokens,
                enrollment_tokens_expired=done.enrollment_tokens,
            )
    except FIXABLE as exc:
        _or_404(exc)
        return _people(None, {"action": str(exc)}, _status(exc))
    flash(
        f"Chatter {key} deactivated: {done.devices} device(s) revoked, {done.logins} login(s) "
        f"closed, {done.tokens} token(s) revoked. Their history is kept."
    )
    return redirect(url_for(".people_page"))


@bp.post("/chatters/<key>/reactivate")
@login_required("admin")
def reactivate_chatter(key: str) -> Response | Page:
    try:
        with _writing() as (session, me):
            people.reactivate_chatter(people.find_chatter(session, key))
            _audit(session, me, "reactivate_chatter", key)
    except FIXABLE as exc:
        _or_404(exc)
        return _people(None, {"action": str(exc)}, _status(exc))
    flash(f"Chatter {key} reactivated. Enroll their computer again to track it.")
    return redirect(url_for(".people_page"))


# Logins -----------------------------------------------------------------------------


def _users(
    form: Form | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Page:
    session = db.session
    page = render_template(
        "admin/users.html",
        users=admin_views.users(session),
        chatters=admin_views.active_chatters(session),
        roles=users.ROLES,
        min_password=users.MIN_PASSWORD,
        form=form if form is not None else {},
        errors=errors or {},
    )
    return page, status


@bp.get("/users")
@login_required("admin")
def users_page() -> Page:
    return _users()


def _linked_chatter(session: Session, role: str, key: str, what: str) -> Chatter | None:
    """The chatter a chatter login (or token) is linked to, checked against the role."""
    if role == "chatter" and not key:
        raise people.PeopleError(f"a chatter {what} needs a chatter: choose one")
    if role != "chatter" and key:
        raise people.PeopleError(f"only a chatter {what} is linked to a chatter")
    if not key:
        return None
    chatter = _form_chatter(session, key)
    if not chatter.active:
        raise Conflict(f"chatter {key!r} is deactivated")
    return chatter


@bp.post("/users")
@login_required("admin")
def add_user() -> Response | Page:
    form = request.form
    email, role = users.normalise_email(_text(form, "email")), _text(form, "role")
    try:
        with _writing() as (session, me):
            chatter = _linked_chatter(session, role, _text(form, "chatter"), "login")
            if session.scalar(select(User.id).where(User.email == email)) is not None:
                raise Conflict(f"a login {email} already exists")
            user = users.create_user(
                session, email, str(form.get("password", "")), role, chatter, utc_now()
            )
            _audit(session, me, "add_user", user.email, role=role, chatter=_text(form, "chatter"))
    except FIXABLE as exc:
        return _users(form, {"add": str(exc)}, _status(exc))
    flash(f"Login {email} ({role}) added.")
    return redirect(url_for(".users_page"))


@bp.post("/users/<int:user_id>/<any(deactivate, reactivate):action>")
@login_required("admin")
def user_active(user_id: int, action: str) -> Response | Page:
    try:
        with _writing() as (session, me):
            user = session.get(User, user_id)
            if user is None:
                abort(404, description=f"no login with id {user_id}")
            people.set_user_active(user, action == "reactivate", me)
            email = user.email
            _audit(session, me, f"{action}_user", email)
    except FIXABLE as exc:
        return _users(None, {"action": str(exc)}, _status(exc))
    flash(f"Login {email} {action}d.")
    return redirect(url_for(".users_page"))


# Enrollment tokens ----------------------------------------------------------------------


def _enrollment(form: Form | None = None, error: str = "", status: int = 200) -> Page:
    session = db.session
    page = render_template(
        "admin/enrollment.html",
        tokens=device_admin.enroll_tokens(session, utc_now()),
        chatters=admin_views.active_chatters(session),
        ttl_choices=TTL_CHOICES,
        default_ttl=DEFAULT_TTL,
        form=form if form is not None else {},
        error=error,
    )
    return page, status


@bp.get("/enrollment")
@login_required("admin")
def enrollment_page() -> Page:
    return _enrollment()


@bp.post("/enrollment")
@login_required("admin")
def create_enroll_token() -> Page:
    form = request.form
    lifetimes = {value: (label, ttl) for value, label, ttl in TTL_CHOICES}
    choice = _text(form, "ttl")
    try:
        if choice not in lifetimes:
            raise people.PeopleError("choose how long the token stays valid")
        key = _text(form, "chatter")
        if not key:
            raise people.PeopleError("choose the chatter whose computer this is")
        now = utc_now()
        with _writing() as (session, me):
            chatter = _form_chatter(session, key)
            token = device_admin.issue_enroll_token(session, chatter, now, lifetimes[choice][1])
            _audit(session, me, "enroll_token", key, ttl=choice)
            name = chatter.name
    except FIXABLE as exc:
        return _enrollment(form, str(exc), _status(exc))
    page = render_template(
        "admin/secret.html",
        kind="enrollment",
        title=f"Enrollment token for {name} ({key})",
        secret=token,
        expires=now + lifetimes[choice][1],
        server=request.host_url.rstrip("/"),
        back=url_for(".enrollment_page"),
    )
    return page, 201


# Devices --------------------------------------------------------------------------------


def _devices(error: str = "", status: int = 200) -> Page:
    session = db.session
    rows = [
        (device, device_admin.queue_health(device.queue_health, device.last_seen_at))
        for device in device_admin.devices(session)
    ]
    page = render_template(
        "admin/devices.html",
        rows=rows,
        clock_warn=device_admin.CLOCK_WARN_SECONDS,
        error=error,
    )
    return page, status


@bp.get("/devices")
@login_required("admin")
def devices_page() -> Page:
    return _devices()


@bp.post("/devices/<uid>/rotate")
@login_required("admin")
def rotate_device_key(uid: str) -> Response | Page:
    try:
        with _writing() as (session, me):
            device = device_admin.find_device(session, uid)
            device_admin.request_rotation(device, utc_now())
            host = device.hostname
            _audit(session, me, "request_key_rotation", device.uid)
    except FIXABLE as exc:
        _or_404(exc)
        return _devices(str(exc), _status(exc))
    flash(f"{host} will get a new key at its next heartbeat (its queue is kept).")
    return redirect(url_for(".devices_page"))


@bp.get("/devices/<uid>/revoke")
@login_required("admin")
def revoke_device_confirm(uid: str) -> str:
    try:
        device = device_admin.find_device(db.session, uid)
    except device_admin.DeviceError as exc:
        abort(404, description=str(exc))
    return render_template(
        "admin/confirm.html",
        title=f"Revoke {device.hostname} ({device.chatter.name})?",
        consequences=[
            f"Device {device.uid} is refused from its next request on.",
            "Its slices already stored are kept; the agent keeps its unsent queue.",
            "This cannot be undone: to track this computer again, enroll it with a new token.",
        ],
        action=url_for(".revoke_device", uid=device.uid),
        button="Revoke device",
        cancel=url_for(".devices_page"),
    )


@bp.post("/devices/<uid>/revoke")
@login_required("admin")
def revoke_device(uid: str) -> Response | Page:
    try:
        with _writing() as (session, me):
            device = device_admin.find_device(session, uid)
            if not device_admin.revoke(device, utc_now()):
                raise Conflict(f"{device.hostname} ({device.uid}) is already revoked")
            host = device.hostname
            _audit(session, me, "revoke_device", device.uid)
    except FIXABLE as exc:
        _or_404(exc)
        return _devices(str(exc), _status(exc))
    flash(f"{host} revoked: its next request will be refused.")
    return redirect(url_for(".devices_page"))


# API tokens -----------------------------------------------------------------------------


def _tokens(form: Form | None = None, error: str = "", status: int = 200) -> Page:
    session = db.session
    page = render_template(
        "admin/tokens.html",
        tokens=admin_views.api_tokens(session),
        chatters=admin_views.active_chatters(session),
        roles=TOKEN_ROLES,
        form=form if form is not None else {},
        error=error,
    )
    return page, status


@bp.get("/tokens")
@login_required("admin")
def tokens_page() -> Page:
    return _tokens()


@bp.post("/tokens")
@login_required("admin")
def create_api_token() -> Page:
    form = request.form
    role, key = _text(form, "role"), _text(form, "chatter")
    try:
        with _writing() as (session, me):
            if role not in TOKEN_ROLES:
                raise api_tokens.TokenError("choose what the token may do")
            chatter = _linked_chatter(session, role, key, "token")
            row, token = api_tokens.create(session, _text(form, "name"), role, chatter, utc_now())
            name = row.name
            _audit(session, me, "api_token", name, role=role, chatter=key or None)
    except FIXABLE as exc:
        return _tokens(form, str(exc), _status(exc))
    page = render_template(
        "admin/secret.html",
        kind="api",
        title=f"API token “{name}” ({role})",
        secret=token,
        expires=None,
        server=request.host_url.rstrip("/"),
        back=url_for(".tokens_page"),
    )
    return page, 201


@bp.get("/tokens/<int:token_id>/revoke")
@login_required("admin")
def revoke_token_confirm(token_id: int) -> str:
    row = db.session.get(ApiToken, token_id)
    if row is None:
        abort(404, description=f"no API token with id {token_id}")
    return render_template(
        "admin/confirm.html",
        title=f"Revoke the API token “{row.name}” ({row.role})?",
        consequences=[
            "Every request with this token is refused from now on.",
            "This cannot be undone: make a new token for whoever still needs one.",
        ],
        action=url_for(".revoke_token", token_id=token_id),
        button="Revoke token",
        cancel=url_for(".tokens_page"),
    )


@bp.post("/tokens/<int:token_id>/revoke")
@login_required("admin")
def revoke_token(token_id: int) -> Response | Page:
    try:
        with _writing() as (session, me):
            existing = session.get(ApiToken, token_id)
            if existing is not None and existing.revoked_at is not None:
                raise Conflict(f"the token “{existing.name}” is already revoked")
            row = api_tokens.revoke(session, token_id, utc_now())
            name = row.name
            _audit(session, me, "revoke_token", name, id=token_id)
    except FIXABLE as exc:
        _or_404(exc)
        return _tokens(None, str(exc), _status(exc))
    flash(f"Token “{name}” revoked.")
    return redirect(url_for(".tokens_page"))


# Settings -------------------------------------------------------------------------------


def _settings(
    form: Form | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Page:
    session = db.session
    page = render_template(
        "admin/settings.html",
        values=admin_views.agency_values(session),
        definitions=settings.DEFINITIONS,
        overrides=admin_views.chatter_overrides(session),
        chatters=admin_views.active_chatters(session),
        slice_choices=ALLOWED_SLICE_SECONDS,
        currencies=sorted(CURRENCY_EXPONENTS),
        currency_locked=admin_views.currency_locked(session),
        zones=sorted(zoneinfo.available_timezones()),
        form=form if form is not None else {},
        errors=errors or {},
    )
    return page, status


@bp.get("/settings")
@login_required("admin")
def settings_page() -> Page:
    return _settings()


@bp.post("/settings")
@login_required("admin")
def save_settings() -> Response | Page:
    form = request.form
    parsed: dict[str, object] = {}
    errors: dict[str, str] = {}
    for name, definition in settings.DEFINITIONS.items():
        if name not in form:
            continue  # e.g. the currency once it is fixed
        try:
            parsed[name] = definition.parse(_text(form, name))
        except settings.SettingError as exc:
            errors[name] = f"{SETTING_LABELS[name]}: {exc}"
    if errors:
        return _settings(form, errors, 400)
    changed: list[str] = []
    try:
        with _writing() as (session, me):
            current = settings.effective(session)
            for name, value in parsed.items():
                if value == current[name]:
                    continue
                try:
                    settings.set_value(session, name, str(value))
                except settings.SettingError as exc:
                    raise Conflict(f"{SETTING_LABELS[name]}: {exc}") from None
                _audit(session, me, "set_setting", name, value=str(value), chatter=None)
                changed.append(SETTING_LABELS[name].lower())
    except FIXABLE as exc:
        return _settings(form, {"agency": str(exc)}, _status(exc))
    flash(
        f"Saved: {', '.join(changed)}. Agents pick changes up with their next heartbeat."
        if changed
        else "Nothing changed."
    )
    return redirect(url_for(".settings_page"))


@bp.post("/settings/overrides")
@login_required("admin")
def set_override() -> Response | Page:
    form = request.form
    name, key = _text(form, "override_name"), _text(form, "override_chatter")
    try:
        with _writing() as (session, me):
            chatter = _form_chatter(session, key)
            value = settings.set_value(session, name, _text(form, "override_value"), chatter)
            _audit(session, me, "set_setting", name, value=str(value), chatter=key)
    except FIXABLE as exc:
        return _settings(form, {"override": str(exc)}, _status(exc))
    flash(f"{SETTING_LABELS.get(name, name)} for {key} set to {value}.")
    return redirect(url_for(".settings_page"))


@bp.post("/settings/overrides/remove")
@login_required("admin")
def remove_override() -> Response | Page:
    form = request.form
    name, key = _text(form, "name"), _text(form, "chatter")
    try:
        with _writing() as (session, me):
            chatter = _form_chatter(session, key)
            if not settings.unset_value(session, name, chatter):
                raise Conflict(f"{key} has no {name} of their own")
            _audit(session, me, "unset_setting", name, chatter=key)
    except FIXABLE as exc:
        return _settings(None, {"override": str(exc)}, _status(exc))
    flash(f"{key} follows the agency's {SETTING_LABELS.get(name, name).lower()} again.")
    return redirect(url_for(".settings_page"))
