"""Admin page for settings: the agency's values and each chatter's own overrides."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from collector.agency import listings
from collector.agency import settings as changes
from collector.db import settings
from collector.db.models import User
from collector.errors import DomainError
from collector.http.auth import login_required
from collector.http.database import db
from collector.pages.admin import (
    Form,
    Page,
    bp,
    field,
    form_chatter,
    record,
    submit,
)
from collector.pages.selection import ALL_ZONES
from shared.money import CURRENCY_EXPONENTS
from shared.protocol import ALLOWED_SLICE_SECONDS

DONE = ".settings_page"  # where a change lands

SETTING_LABELS = {
    "slice_seconds": "Slice length (seconds)",
    "idle_threshold_seconds": "Idle threshold (seconds)",
    "outbox_max_days": "Days an agent keeps unsent slices",
    "currency": "Currency",
    "agency_timezone": "Agency time zone",
    "attribution_window_days": "Order attribution window (days)",
    "retention_slice_days": "Days raw activity slices are kept",
    "retention_event_days": "Days raw chatter events are kept",
    "exclude_regular_input": "Leave regular input out of active time",
    "late_grace_minutes": "Grace before a shift start counts as late (minutes)",
    "pay_period": "Pay period",
    "pay_period_anchor": "First day of a weekly or biweekly pay period",
    "platform_fee_basis_points": "Platform fee (basis points, 2000 = 20 %)",
    "ppv_credit": "PPV purchases are credited to",
    "tip_credit": "Tips are credited to",
}
# What agents read from their heartbeat replies; the others take effect at once.
AGENT_SETTINGS = ("slice_seconds", "idle_threshold_seconds", "outbox_max_days")


def _settings(
    form: Form | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Page:
    session = db.session
    page = render_template(
        "admin/settings.html",
        values=listings.agency_values(session),
        definitions=settings.DEFINITIONS,
        overrides=listings.chatter_overrides(session),
        chatters=listings.active_chatters(session),
        slice_choices=ALLOWED_SLICE_SECONDS,
        currencies=sorted(CURRENCY_EXPONENTS),
        currency_locked=changes.currency_locked(session),
        calendar_locked=changes.pay_periods_locked(session),
        zones=ALL_ZONES,
        setting_labels=SETTING_LABELS,
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
            parsed[name] = definition.parse(field(form, name))
        except DomainError as exc:
            errors[name] = f"{SETTING_LABELS[name]}: {exc}"
    if errors:
        return _settings(form, errors, 400)

    def change(session: Session, me: User) -> str:
        changed: list[str] = []
        current = settings.effective(session)
        for name, value in parsed.items():
            if value == current[name]:
                continue
            try:
                changes.set_value(session, name, str(value))
            except DomainError as exc:
                raise DomainError(f"{SETTING_LABELS[name]}: {exc}", 409) from None
            record(session, me, "set_setting", name, value=str(value), chatter=None)
            changed.append(name)
        if not changed:
            return "Nothing changed."
        saved = f"Saved: {', '.join(SETTING_LABELS[n].lower() for n in changed)}."
        if any(n in AGENT_SETTINGS for n in changed):
            saved += " Agents pick changes up with their next heartbeat."
        return saved

    return submit(change, lambda exc: _settings(form, {"agency": exc.message}, exc.status), DONE)


@bp.post("/settings/overrides")
@login_required("admin")
def set_override() -> Response | Page:
    form = request.form
    name, key = field(form, "override_name"), field(form, "override_chatter")

    def change(session: Session, me: User) -> str:
        chatter = form_chatter(session, key)
        value = changes.set_value(session, name, field(form, "override_value"), chatter)
        record(session, me, "set_setting", name, value=str(value), chatter=key)
        return f"{SETTING_LABELS.get(name, name)} for {key} set to {value}."

    return submit(change, lambda exc: _settings(form, {"override": exc.message}, exc.status), DONE)


@bp.post("/settings/overrides/remove")
@login_required("admin")
def remove_override() -> Response | Page:
    form = request.form
    name, key = field(form, "name"), field(form, "chatter")

    def change(session: Session, me: User) -> str:
        chatter = form_chatter(session, key)
        if not changes.unset_value(session, name, chatter):
            raise DomainError(f"{key} has no {name} of their own", 409)
        record(session, me, "unset_setting", name, chatter=key)
        return f"{key} follows the agency's {SETTING_LABELS.get(name, name).lower()} again."

    return submit(change, lambda exc: _settings(None, {"override": exc.message}, exc.status), DONE)
