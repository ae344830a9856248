"""Admin page for settings: the agency's values and each chatter's own overrides."""

from __future__ import annotations

import zoneinfo

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from collector import admin_views, settings
from collector.access import login_required
from collector.blueprints.admin_ui import (
    FIXABLE,
    Conflict,
    Form,
    Page,
    bp,
    field,
    form_chatter,
    record,
    status_of,
    writing,
)
from collector.db import db
from shared.money import CURRENCY_EXPONENTS
from shared.protocol import ALLOWED_SLICE_SECONDS

SETTING_LABELS = {
    "slice_seconds": "Slice length (seconds)",
    "idle_threshold_seconds": "Idle threshold (seconds)",
    "outbox_max_days": "Days an agent keeps unsent slices",
    "currency": "Currency",
    "agency_timezone": "Agency time zone",
    "attribution_window_days": "Order attribution window (days)",
}


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
        except settings.SettingError as exc:
            errors[name] = f"{SETTING_LABELS[name]}: {exc}"
    if errors:
        return _settings(form, errors, 400)
    changed: list[str] = []
    try:
        with writing() as (session, me):
            current = settings.effective(session)
            for name, value in parsed.items():
                if value == current[name]:
                    continue
                try:
                    settings.set_value(session, name, str(value))
                except settings.SettingError as exc:
                    raise Conflict(f"{SETTING_LABELS[name]}: {exc}") from None
                record(session, me, "set_setting", name, value=str(value), chatter=None)
                changed.append(SETTING_LABELS[name].lower())
    except FIXABLE as exc:
        return _settings(form, {"agency": str(exc)}, status_of(exc))
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
    name, key = field(form, "override_name"), field(form, "override_chatter")
    try:
        with writing() as (session, me):
            chatter = form_chatter(session, key)
            value = settings.set_value(session, name, field(form, "override_value"), chatter)
            record(session, me, "set_setting", name, value=str(value), chatter=key)
    except FIXABLE as exc:
        return _settings(form, {"override": str(exc)}, status_of(exc))
    flash(f"{SETTING_LABELS.get(name, name)} for {key} set to {value}.")
    return redirect(url_for(".settings_page"))


@bp.post("/settings/overrides/remove")
@login_required("admin")
def remove_override() -> Response | Page:
    form = request.form
    name, key = field(form, "name"), field(form, "chatter")
    try:
        with writing() as (session, me):
            chatter = form_chatter(session, key)
            if not settings.unset_value(session, name, chatter):
                raise Conflict(f"{key} has no {name} of their own")
            record(session, me, "unset_setting", name, chatter=key)
    except FIXABLE as exc:
        return _settings(None, {"override": str(exc)}, status_of(exc))
    flash(f"{key} follows the agency's {SETTING_LABELS.get(name, name).lower()} again.")
    return redirect(url_for(".settings_page"))
