"""Admin page for dashboard logins: add one (with its role and chatter), (de/re)activate."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from collector import admin_views, people, users
from collector.access import login_required
from collector.blueprints.admin_ui import (
    FIXABLE,
    Conflict,
    Form,
    Page,
    bp,
    field,
    linked_chatter,
    record,
    status_of,
    writing,
)
from collector.db import db
from collector.models import User
from shared.protocol import utc_now


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


@bp.post("/users")
@login_required("admin")
def add_user() -> Response | Page:
    form = request.form
    email, role = users.normalise_email(field(form, "email")), field(form, "role")
    try:
        with writing() as (session, me):
            chatter = linked_chatter(session, role, field(form, "chatter"), "login")
            if session.scalar(select(User.id).where(User.email == email)) is not None:
                raise Conflict(f"a login {email} already exists")
            user = users.create_user(
                session, email, str(form.get("password", "")), role, chatter, utc_now()
            )
            record(session, me, "add_user", user.email, role=role, chatter=field(form, "chatter"))
    except FIXABLE as exc:
        return _users(form, {"add": str(exc)}, status_of(exc))
    flash(f"Login {email} ({role}) added.")
    return redirect(url_for(".users_page"))


@bp.post("/users/<int:user_id>/<any(deactivate, reactivate):action>")
@login_required("admin")
def user_active(user_id: int, action: str) -> Response | Page:
    try:
        with writing() as (session, me):
            user = session.get(User, user_id)
            if user is None:
                abort(404, description=f"no login with id {user_id}")
            people.set_user_active(user, action == "reactivate", me)
            email = user.email
            record(session, me, f"{action}_user", email)
    except FIXABLE as exc:
        return _users(None, {"action": str(exc)}, status_of(exc))
    flash(f"Login {email} {action}d.")
    return redirect(url_for(".users_page"))
