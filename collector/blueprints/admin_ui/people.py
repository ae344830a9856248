"""Admin pages for creators and chatters: add, edit, assign creators, (de/re)activate."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from collector import admin_views, people
from collector.access import login_required
from collector.blueprints.admin_ui import (
    FIXABLE,
    Conflict,
    Form,
    Page,
    bp,
    field,
    or_404,
    record,
    status_of,
    writing,
)
from collector.db import db
from shared.protocol import utc_now


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
        with writing() as (session, me):
            creator = people.add_creator(
                session, field(form, "creator_key"), field(form, "creator_name"), utc_now()
            )
            key, name = creator.key, creator.name
            record(session, me, "add_creator", key, name=name)
    except FIXABLE as exc:
        return _people(form, {"creator": str(exc)}, status_of(exc))
    flash(f"Creator {name} ({key}) added.")
    return redirect(url_for(".people_page"))


@bp.post("/chatters")
@login_required("admin")
def add_chatter() -> Response | Page:
    form = request.form
    try:
        with writing() as (session, me):
            chatter = people.add_chatter(
                session,
                field(form, "chatter_key"),
                field(form, "chatter_name"),
                form.getlist("chatter_creators"),
                utc_now(),
            )
            key, name = chatter.key, chatter.name
            assigned = [c.key for c in chatter.creators]
            record(session, me, "add_chatter", key, name=name, creators=assigned)
    except FIXABLE as exc:
        return _people(form, {"chatter": str(exc)}, status_of(exc))
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
        with writing() as (session, me):
            creator = people.find_creator(session, key)
            changes = people.edit_creator(creator, field(form, "name"))
            if changes:
                record(session, me, "edit_creator", key, **changes)
    except FIXABLE as exc:
        or_404(exc)
        return _creator_form(key, form, str(exc), status_of(exc))
    flash(f"Creator {key} saved." if changes else f"Creator {key}: nothing changed.")
    return redirect(url_for(".people_page"))


@bp.post("/creators/<key>/<any(deactivate, reactivate):action>")
@login_required("admin")
def creator_active(key: str, action: str) -> Response | Page:
    try:
        with writing() as (session, me):
            creator = people.find_creator(session, key)
            if not people.set_creator_active(creator, action == "reactivate"):
                raise Conflict(f"creator {key!r} is already {action}d")
            record(session, me, f"{action}_creator", key)
    except FIXABLE as exc:
        or_404(exc)
        return _people(None, {"action": str(exc)}, status_of(exc))
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
        with writing() as (session, me):
            chatter = people.find_chatter(session, key)
            changes = people.edit_chatter(
                session, chatter, field(form, "name"), form.getlist("creators")
            )
            if changes:
                record(session, me, "edit_chatter", key, **changes)
    except FIXABLE as exc:
        or_404(exc)
        return _chatter_form(key, form, str(exc), status_of(exc))
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
        with writing() as (session, me):
            chatter = people.find_chatter(session, key)
            done = people.deactivate_chatter(session, chatter, utc_now())
            record(
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
        or_404(exc)
        return _people(None, {"action": str(exc)}, status_of(exc))
    flash(
        f"Chatter {key} deactivated: {done.devices} device(s) revoked, {done.logins} login(s) "
        f"closed, {done.tokens} token(s) revoked. Their history is kept."
    )
    return redirect(url_for(".people_page"))


@bp.post("/chatters/<key>/reactivate")
@login_required("admin")
def reactivate_chatter(key: str) -> Response | Page:
    try:
        with writing() as (session, me):
            people.reactivate_chatter(people.find_chatter(session, key))
            record(session, me, "reactivate_chatter", key)
    except FIXABLE as exc:
        or_404(exc)
        return _people(None, {"action": str(exc)}, status_of(exc))
    flash(f"Chatter {key} reactivated. Enroll their computer again to track it.")
    return redirect(url_for(".people_page"))
