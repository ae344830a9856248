"""Admin page for alerts: the rules (make one, switch it on or off, new secret, delete),
the alerts not yet resolved, and the delivery log.

A rule's webhook secret is shown once, in the answer to the POST that made it (or a new
one), like the tokens' (see ``pages.admin``).
"""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from collector.agency import listings
from collector.alerts import lifecycle, mail, messages, rules
from collector.db import text
from collector.db.alert_models import KINDS
from collector.db.models import User
from collector.errors import DomainError
from collector.http.auth import login_required
from collector.http.database import db
from collector.pages.admin import (
    ALREADY_SENT,
    Form,
    Page,
    bp,
    field,
    first_submission,
    record,
    submit,
    writing,
)
from shared.protocol import utc_now

LOG_ROWS = 50


def _page(form: Form | None = None, error: str = "", status: int = 200) -> Page:
    session = db.session
    all_rules = [rules.describe(session, r) for r in rules.all_rules(session)]
    active = lifecycle.listing(session, state="active", limit=50)
    creators = [(c.key, c.name) for c in listings.all_creators(session)]
    config = current_app.config
    smtp_ready = mail.SmtpSettings(
        host=str(config.get("SMTP_HOST") or ""), sender=str(config.get("SMTP_FROM") or "")
    ).configured
    page = render_template(
        "admin/alerts.html",
        rules=all_rules,
        kinds=[(k, rules.KIND_INFO[k]) for k in KINDS],
        creators=creators,
        creator_names=dict(creators),
        amount=lambda kind, value: rules.KIND_INFO[kind].amount(value),
        smtp_ready=smtp_ready,
        # Rules that want e-mail this server cannot send (CHATTER_SMTP_* unset).
        mail_unsent=[] if smtp_ready else [r["name"] for r in all_rules if r["emails"]],
        alerts=[messages.describe(session, a) for a in active],
        deliveries=lifecycle.deliveries(session, limit=LOG_ROWS),
        form=form if form is not None else {},
        error=error,
        at=_moment,
    )
    return page, status


def _moment(stamp: str | None) -> dt.datetime | None:
    """The API's RFC 3339 text (the listings' shape) back to a moment, for ``moment``."""
    return None if stamp is None else dt.datetime.fromisoformat(stamp)


def _input(form: Form) -> rules.RuleInput:
    threshold = text.whole_number(field(form, "threshold"), 0, 999_999_999)
    if threshold is None:
        raise DomainError("threshold: type a whole number")
    return rules.RuleInput(
        name=field(form, "name"),
        kind=field(form, "kind"),
        threshold=threshold,
        creator=field(form, "creator") or None,
        creator_given=True,
        enabled=True,
        webhook_url=field(form, "webhook_url"),
        emails=rules.split_emails(field(form, "emails")),
    )


def _secret_page(title: str, secret: str) -> Page:
    page = render_template(
        "admin/alert_secret.html", title=title, secret=secret, back=url_for(".alerts_page")
    )
    return page, 201


@bp.get("/alerts")
@login_required("admin")
def alerts_page() -> Page:
    return _page()


@bp.post("/alerts")
@login_required("admin")
def create_alert_rule() -> Response | Page:
    form = request.form
    if not first_submission(form):
        return _page(None, ALREADY_SENT, 409)
    try:
        with writing() as (session, me):
            rule, secret = rules.create(
                session,
                _input(form),
                utc_now(),
                allow_private=bool(current_app.config.get("ALERTS_ALLOW_PRIVATE_WEBHOOKS")),
            )
            about = rules.describe(session, rule)
            record(session, me, "alert_rule_create", f"alert_rule:{rule.id}", **about)
            name, signed = rule.name, bool(rule.webhook_url)
    except DomainError as exc:
        # The admin pages answer a form to fix with 400 (the API's 422: the same rule).
        return _page(form, exc.message, 400 if exc.status == 422 else exc.status)
    if not signed:  # no webhook: its secret signs nothing, nothing to copy
        flash(f"Rule “{name}” created.")
        return redirect(url_for(".alerts_page"))
    return _secret_page(f"Alert rule “{name}”: webhook secret", secret)


def _rule_change(rule_id: int, action: str) -> Response | Page:
    def change(session: Session, me: User) -> str:
        rule = rules.get(session, rule_id)
        name = rule.name
        if action == "toggle":
            rule.enabled = not rule.enabled
            rule.updated_at = utc_now()
            record(session, me, "alert_rule_update", f"alert_rule:{rule_id}", enabled=rule.enabled)
            return f"Rule “{name}” {'switched on' if rule.enabled else 'switched off'}."
        record(
            session,
            me,
            "alert_rule_delete",
            f"alert_rule:{rule_id}",
            **rules.describe(session, rule),
        )
        session.delete(rule)
        return f"Rule “{name}” deleted, with its alerts."

    return submit(change, lambda exc: _page(None, exc.message, exc.status), ".alerts_page")


@bp.post("/alerts/<int:rule_id>/toggle")
@login_required("admin")
def toggle_alert_rule(rule_id: int) -> Response | Page:
    return _rule_change(rule_id, "toggle")


@bp.get("/alerts/<int:rule_id>/delete")
@login_required("admin")
def delete_alert_rule_confirm(rule_id: int) -> str:
    try:
        rule = rules.get(db.session, rule_id)
    except DomainError as exc:
        abort(404, description=exc.message)
    return render_template(
        "admin/confirm.html",
        title=f"Delete the alert rule “{rule.name}”?",
        consequences=[
            "Its alerts, open or resolved, and their delivery log are deleted with it.",
            "Switching it off instead keeps them.",
        ],
        action=url_for(".delete_alert_rule", rule_id=rule_id),
        button="Delete rule",
        cancel=url_for(".alerts_page"),
    )


@bp.post("/alerts/<int:rule_id>/delete")
@login_required("admin")
def delete_alert_rule(rule_id: int) -> Response | Page:
    return _rule_change(rule_id, "delete")


@bp.post("/alerts/<int:rule_id>/secret")
@login_required("admin")
def rotate_alert_secret(rule_id: int) -> Page:
    form = request.form
    if not first_submission(form):
        return _page(None, ALREADY_SENT, 409)
    try:
        with writing() as (session, me):
            rule = rules.get(session, rule_id)
            if not rule.webhook_url:
                raise DomainError(f"rule “{rule.name}” has no webhook: it signs nothing", 409)
            secret = rules.rotate_secret(rule, utc_now())
            record(session, me, "alert_rule_rotate_secret", f"alert_rule:{rule_id}")
            name = rule.name
    except DomainError as exc:
        if exc.status == 404:
            abort(404, description=exc.message)
        return _page(None, exc.message, exc.status)
    return _secret_page(f"Alert rule “{name}”: new webhook secret", secret)
