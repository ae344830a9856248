"""Admin page for dashboard logins: add one (with its role and chatter), (de/re)activate,
limit a manager to chosen creators (a team lead), reset a password (typed by the admin,
or generated and shown once).

A refused form names the field to fix when there is one: its message stands beside that
field, which is marked invalid and gets the focus."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import abort, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from collector.agency import listings, people
from collector.auth import accounts, credentials
from collector.auth.roles import LOGIN_ROLES
from collector.db.models import User
from collector.errors import DomainError
from collector.http.auth import login_required
from collector.http.database import db
from collector.http.inputs import checks_own_text
from collector.pages.admin import (
    Form,
    Page,
    bp,
    field,
    first_submission,
    linked_chatter,
    or_404,
    record,
    secret_page,
    submit,
    writing,
)
from shared.protocol import utc_now

DONE = ".users_page"  # where a change lands


class FieldError(DomainError):
    """A refusal about one form field (``field``)."""

    def __init__(self, field: str, error: DomainError) -> None:
        super().__init__(
            error.message,
            error.status,
            code=error.code,
            details=error.details,
            headers=error.headers,
        )
        self.field = field


@contextmanager
def on_field(name: str) -> Iterator[None]:
    """A refusal raised inside is about the form field ``name``."""
    try:
        yield
    except DomainError as exc:
        raise FieldError(name, exc) from None


def _add_errors(exc: DomainError) -> dict[str, str]:
    return {"add": exc.message, "field": exc.field if isinstance(exc, FieldError) else ""}


def _users(
    form: Form | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Page:
    session = db.session
    page = render_template(
        "admin/users.html",
        users=listings.users(session),
        chatters=listings.active_chatters(session),
        all_creators=listings.all_creators(session),
        roles=LOGIN_ROLES,
        min_password=accounts.MIN_PASSWORD,
        form=form if form is not None else {},
        errors=errors or {},
    )
    return page, status


@bp.get("/users")
@login_required("admin")
def users_page() -> Page:
    return _users()


@bp.post("/users")
@checks_own_text("password")  # checked by the password policy, never stored as text
@login_required("admin")
def add_user() -> Response | Page:
    form = request.form
    email, role = accounts.normalise_email(field(form, "email")), field(form, "role")
    password = str(form.get("password", ""))

    def change(session: Session, me: User) -> str:
        with on_field("chatter"):
            chatter = linked_chatter(session, role, field(form, "chatter"), "login")
        with on_field("email"):
            accounts.check_email(email)
            if session.scalar(select(User.id).where(User.email == email)) is not None:
                raise DomainError(f"a login {email} already exists", 409)
        with on_field("password"):
            accounts.check_password(password)
        user = accounts.create_user(session, email, password, role, chatter, utc_now())
        people.set_user_creators(session, user, form.getlist("creators"))
        limit = sorted(c.key for c in user.creators)
        record(
            session,
            me,
            "add_user",
            user.email,
            role=role,
            chatter=field(form, "chatter"),
            creators=limit,
        )
        return f"Login {email} ({role}) added."

    return submit(change, lambda exc: _users(form, _add_errors(exc), exc.status), DONE)


@bp.post("/users/<int:user_id>/<any(deactivate, reactivate):action>")
@login_required("admin")
def user_active(user_id: int, action: str) -> Response | Page:

    def change(session: Session, me: User) -> str:
        user = session.get(User, user_id)
        if user is None:
            raise DomainError(f"no login with id {user_id}", 404)
        people.set_user_active(user, action == "reactivate", me)
        record(session, me, f"{action}_user", user.email)
        return f"Login {user.email} {action}d."

    return submit(change, lambda exc: _users(None, {"action": exc.message}, exc.status), DONE)


@bp.post("/users/<int:user_id>/creators")
@login_required("admin")
def user_creators(user_id: int) -> Response | Page:
    """A manager's creators: those ticked, or every creator with its own button (none
    ticked is an error: taking access away must never give all of it)."""
    every = request.form.get("scope") == "all"
    keys = [] if every else request.form.getlist("creators")

    def change(session: Session, me: User) -> str:
        user = session.get(User, user_id)
        if user is None:
            raise DomainError(f"no login with id {user_id}", 404)
        if not every and not any(k.strip() for k in keys):
            raise DomainError("tick at least one creator, or choose Every creator")
        changed = people.set_user_creators(session, user, keys)
        if not changed:
            return f"Login {user.email}: creators unchanged."
        record(session, me, "set_user_creators", user.email, **changed)
        names = ", ".join(sorted(c.name for c in user.creators)) or "every creator"
        return f"Login {user.email} now sees {names}."

    return submit(change, lambda exc: _users(None, {"action": exc.message}, exc.status), DONE)


# Password reset: the login gets a password the admin knows, so its owner must choose
# their own at the next login (``User.must_change_password``); its sessions end now.
# A generated one is shown once, in the reply to the POST (see ``secret_page``).
_ALREADY_RESET = (
    "this form was already sent: the password was reset and shown once; "
    "reset it again if you did not copy it"
)


def _password_form(
    user_id: int, error: str = "", status: int = 200, *, typed_error: str = ""
) -> Page:
    """The reset page; ``typed_error``: what is wrong with the password the admin typed,
    shown beside that field."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, description=f"no login with id {user_id}")
    page = render_template(
        "admin/password.html",
        user=user,
        min_password=accounts.MIN_PASSWORD,
        error=error,
        typed_error=typed_error,
        action=url_for(".reset_password", user_id=user_id),
    )
    return page, status


def _typed_refused(user_id: int, exc: DomainError) -> Page:
    # 400: the password policy refused the typed password; 409: the login's state did.
    if exc.status == 400:
        return _password_form(user_id, status=400, typed_error=exc.message)
    return _password_form(user_id, exc.message, exc.status)


def _reset(session: Session, me: User, user_id: int, password: str, generated: bool) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise DomainError(f"no login with id {user_id}", 404)
    if user.id == me.id:
        raise DomainError("change your own password on the Account page", 409)
    accounts.set_password(user, password, must_change=True)
    record(session, me, "reset_password", user.email, generated=generated)  # never the password
    return user


@bp.get("/users/<int:user_id>/password")
@login_required("admin")
def reset_password_form(user_id: int) -> Page:
    return _password_form(user_id)


@bp.post("/users/<int:user_id>/password")
@checks_own_text("password")  # checked by the password policy, never stored as text
@login_required("admin")
def reset_password(user_id: int) -> Response | Page:
    form = request.form
    if form.get("mode") != "generate":
        typed = str(form.get("password", ""))

        def change(session: Session, me: User) -> str:
            user = _reset(session, me, user_id, typed, generated=False)
            return f"Password of {user.email} reset: they choose a new one at their next login."

        return submit(change, lambda exc: _typed_refused(user_id, exc), DONE)
    if not first_submission(form):
        return _password_form(user_id, _ALREADY_RESET, 409)
    password = credentials.new_temporary_password()
    try:
        with writing() as (session, me):
            email = _reset(session, me, user_id, password, generated=True).email
    except DomainError as exc:
        or_404(exc)
        return _password_form(user_id, exc.message, exc.status)
    return secret_page("password", f"Temporary password of {email}", password, None, DONE)
