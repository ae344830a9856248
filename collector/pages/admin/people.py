"""Admin pages for creators and chatters: add, edit, assign creators, (de/re)activate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from collector.agency import listings, people
from collector.db.models import Chatter, User
from collector.db.payroll_models import HOURS_BASES, PayRule
from collector.db.settings import currency_exponent
from collector.db.text import count_of, iso_day
from collector.errors import DomainError
from collector.http.auth import login_required
from collector.http.database import db
from collector.pages.admin import (
    Form,
    Page,
    bp,
    field,
    or_404,
    record,
    submit,
    writing,
)
from collector.payroll import ledger, rules
from shared.money import AmountError, format_amount, parse_amount
from shared.protocol import utc_now

DONE = ".people_page"  # where a change lands


def _people(
    form: Form | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Page:
    session = db.session
    page = render_template(
        "admin/people.html",
        chatters=listings.chatters(session),
        creators=listings.creators(session),
        assignable=listings.active_creators(session),
        form=form if form is not None else MultiDict(),
        errors=errors or {},
    )
    return page, status


def _action_failed(exc: DomainError) -> Page:
    return _people(None, {"action": exc.message}, exc.status)


@bp.get("/people")
@login_required("admin")
def people_page() -> Page:
    return _people()


@bp.post("/creators")
@login_required("admin")
def add_creator() -> Response | Page:
    form = request.form

    def change(session: Session, me: User) -> str:
        creator = people.add_creator(
            session, field(form, "creator_key"), field(form, "creator_name"), utc_now()
        )
        record(session, me, "add_creator", creator.key, name=creator.name)
        return f"Creator {creator.name} ({creator.key}) added."

    return submit(change, lambda exc: _people(form, {"creator": exc.message}, exc.status), DONE)


@bp.post("/chatters")
@login_required("admin")
def add_chatter() -> Response | Page:
    form = request.form

    def change(session: Session, me: User) -> str:
        chatter = people.add_chatter(
            session,
            field(form, "chatter_key"),
            field(form, "chatter_name"),
            form.getlist("chatter_creators"),
            utc_now(),
        )
        assigned = [c.key for c in chatter.creators]
        record(session, me, "add_chatter", chatter.key, name=chatter.name, creators=assigned)
        return f"Chatter {chatter.name} ({chatter.key}) added."

    return submit(change, lambda exc: _people(form, {"chatter": exc.message}, exc.status), DONE)


def _creator_form(key: str, form: Form | None = None, error: str = "", status: int = 200) -> Page:
    try:
        creator = people.find_creator(db.session, key)
    except DomainError as exc:
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

    def change(session: Session, me: User) -> str:
        changes = people.edit_creator(people.find_creator(session, key), field(form, "name"))
        if not changes:
            return f"Creator {key}: nothing changed."
        record(session, me, "edit_creator", key, **changes)
        return f"Creator {key} saved."

    return submit(change, lambda exc: _creator_form(key, form, exc.message, exc.status), DONE)


@bp.post("/creators/<key>/<any(deactivate, reactivate):action>")
@login_required("admin")
def creator_active(key: str, action: str) -> Response | Page:

    def change(session: Session, me: User) -> str:
        creator = people.find_creator(session, key)
        if not people.set_creator_active(creator, action == "reactivate"):
            raise DomainError(f"creator {key!r} is already {action}d", 409)
        record(session, me, f"{action}_creator", key)
        return f"Creator {key} {action}d."

    return submit(change, _action_failed, DONE)


def _chatter_form(
    key: str,
    form: Form | None = None,
    error: str = "",
    status: int = 200,
    rule_form: Form | None = None,
    rule_error: str = "",
) -> Page:
    session = db.session
    try:
        chatter = people.find_chatter(session, key)
    except DomainError as exc:
        abort(404, description=str(exc))
    assigned = {c.key for c in chatter.creators}
    choices = [
        c for c in listings.creators(session) if c.creator.active or c.creator.key in assigned
    ]
    page = render_template(
        "admin/chatter.html",
        chatter=chatter,
        choices=[c.creator for c in choices],
        checked=set(form.getlist("creators")) if isinstance(form, MultiDict) else assigned,
        form=form if form is not None else {},
        error=error,
        pay_rules=_pay_rules(session, chatter),
        hours_bases=HOURS_BASES,
        rule_form=rule_form if rule_form is not None else {},
        rule_error=rule_error,
        currency=currency_exponent(session)[0],
    )
    return page, status


def _pay_rules(session: Session, chatter: Chatter) -> list[dict[str, Any]]:
    """The chatter's pay rules, newest first, with their amounts as people type them."""
    _, exponent = currency_exponent(session)
    found = session.scalars(
        select(PayRule).where(PayRule.chatter_id == chatter.id).order_by(PayRule.valid_from.desc())
    ).all()
    return [
        {
            "valid_from": row.valid_from,
            "hourly": format_amount(row.hourly_minor, exponent),
            "hours_basis": row.hours_basis,
            "commission": f"{Decimal(row.commission_basis_points) / 100:.2f}",
            "after_fee": row.commission_after_fee,
            "bonus": format_amount(row.bonus_minor, exponent),
            "minimum": format_amount(row.minimum_minor, exponent),
            "created_at": row.created_at,
            "created_by": row.created_by,
        }
        for row in found
    ]


# The pay rule form's money fields: (form field, rule field, what people call it).
RULE_AMOUNTS = (
    ("hourly", "hourly_minor", "hourly rate"),
    ("bonus", "bonus_minor", "bonus"),
    ("minimum", "minimum_minor", "minimum guarantee"),
)


def rule_terms(form: Form, exponent: int) -> tuple[dt.date, dict[str, Any]]:
    """A pay rule form's day and terms for ``rules.checked``: amounts typed in major units
    (15.00) and commission in percent (12.5) read exactly, or DomainError saying which."""
    raw_day = field(form, "valid_from")
    day = iso_day(raw_day)
    if day is None:
        raise DomainError(f"from: a day (YYYY-MM-DD), not {raw_day[:30]!r}")
    terms: dict[str, Any] = {}
    for name, rule_field, label in RULE_AMOUNTS:
        text = field(form, name) or "0"
        try:
            terms[rule_field] = parse_amount(text, exponent)
        except AmountError as exc:
            raise DomainError(f"{label}: {exc}") from None
        if terms[rule_field] < 0:
            raise DomainError(f"{label}: must not be negative")
    text = field(form, "commission") or "0"
    try:
        # Percent with up to 2 decimals is basis points exactly: 12.5 % = 1250.
        terms["commission_basis_points"] = parse_amount(text, 2)
    except AmountError:
        raise DomainError(
            f"commission: a percent with up to 2 decimals such as 12.5, not {text[:30]!r}"
        ) from None
    if not 0 <= terms["commission_basis_points"] <= 10_000:
        raise DomainError("commission: a percent from 0 to 100")
    terms["hours_basis"] = field(form, "hours_basis") or "online"
    terms["commission_after_fee"] = form.get("after_fee") in ("on", "1", "true")
    return day, terms


@bp.post("/chatters/<key>/pay-rules")
@login_required("admin")
def add_pay_rule(key: str) -> Response | Page:
    """A new pay rule from a day on (``rules.set_rule``, audited); an error shows the
    chatter's page again with the message beside the form."""
    form = request.form
    try:
        with writing() as (session, me):
            chatter = people.find_chatter(session, key)
            chatter_name = chatter.name
            _, exponent = currency_exponent(session)
            day, terms = rule_terms(form, exponent)
            rules.set_rule(
                session,
                chatter,
                day,
                rules.checked(terms),
                actor=me.email,
                now=utc_now(),
                replace=form.get("replace") == "on",
            )
            locked = ledger.locked(session)
            reaches_back = bool(locked) and day <= locked[-1].last_day
    except DomainError as exc:
        or_404(exc)
        return _chatter_form(key, rule_form=form, rule_error=exc.message, status=exc.status)
    flash(
        f"Pay rule for {chatter_name} from {day} saved."
        + (
            " It reaches into approved pay: the difference is paid as adjustments in the "
            "next open period."
            if reaches_back
            else ""
        )
    )
    return redirect(url_for(".edit_chatter_form", key=key) + "#pay-rules-h")


@bp.get("/chatters/<key>")
@login_required("admin")
def edit_chatter_form(key: str) -> Page:
    return _chatter_form(key)


@bp.post("/chatters/<key>")
@login_required("admin")
def edit_chatter(key: str) -> Response | Page:
    form = request.form

    def change(session: Session, me: User) -> str:
        chatter = people.find_chatter(session, key)
        changes = people.edit_chatter(
            session, chatter, field(form, "name"), form.getlist("creators")
        )
        if not changes:
            return f"Chatter {key}: nothing changed."
        record(session, me, "edit_chatter", key, **changes)
        return f"Chatter {key} saved."

    return submit(change, lambda exc: _chatter_form(key, form, exc.message, exc.status), DONE)


@bp.get("/chatters/<key>/deactivate")
@login_required("admin")
def deactivate_chatter_confirm(key: str) -> str:
    session = db.session
    try:
        chatter = people.find_chatter(session, key)
    except DomainError as exc:
        abort(404, description=str(exc))
    row = next(r for r in listings.chatters(session) if r.chatter.id == chatter.id)
    tokens = sum(
        1
        for t in listings.api_tokens(session)
        if t.chatter_id == chatter.id and t.revoked_at is None
    )
    consequences = [
        "Their slices, sales and stats are kept; their key stays taken.",
        f"Their enrolled devices are revoked ({count_of(row.devices, 'device')}): each "
        "agent's next request is refused and it keeps its queue. Reactivating does not "
        "undo this; enroll again.",
        f"Their dashboard logins are deactivated ({count_of(row.logins, 'login')}) and their "
        f"chatter API tokens revoked ({count_of(tokens, 'token')}).",
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

    def change(session: Session, me: User) -> str:
        done = people.deactivate_chatter(session, people.find_chatter(session, key), utc_now())
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
        return (
            f"Chatter {key} deactivated: {count_of(done.devices, 'device')} revoked, "
            f"{count_of(done.logins, 'login')} closed, {count_of(done.tokens, 'token')} revoked. "
            "Their history is kept."
        )

    return submit(change, _action_failed, DONE)


@bp.post("/chatters/<key>/reactivate")
@login_required("admin")
def reactivate_chatter(key: str) -> Response | Page:

    def change(session: Session, me: User) -> str:
        people.reactivate_chatter(people.find_chatter(session, key))
        record(session, me, "reactivate_chatter", key)
        return f"Chatter {key} reactivated. Enroll their computer again to track it."

    return submit(change, _action_failed, DONE)
