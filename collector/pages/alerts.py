"""The "Open alerts" panel of the manager's page, and its Acknowledge buttons.

Shown only when there are alerts not yet resolved (so it costs the page nothing
otherwise); a team lead sees and acknowledges only their creators' alerts.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from collector.alerts import lifecycle
from collector.auth import callers
from collector.auth.roles import MANAGERS
from collector.db import audit
from collector.db.engine import begin_write
from collector.db.models import Chatter, Creator, User
from collector.errors import DomainError
from collector.http.auth import current_user, login_required
from collector.http.database import db
from collector.pages import bp
from collector.pages.clock import Clock
from shared.protocol import utc_now

PANEL_LIMIT = 20


def open_alerts(user: User) -> list[dict[str, Any]]:
    """The panel's rows: alerts not resolved, newest first."""
    session = db.session
    found = lifecycle.listing(
        session, state="active", creators=callers.creator_limit(user), limit=PANEL_LIMIT
    )
    names = {
        **{("chatter", i): n for i, n in session.query(Chatter.id, Chatter.name)},
        **{("creator", i): n for i, n in session.query(Creator.id, Creator.name)},
    }
    clock = Clock.of(session, utc_now())
    return [
        {
            "id": a.id,
            "kind": a.kind,
            "message": a.message,
            "opened": clock.when(a.opened_at),
            "opened_iso": clock.iso(a.opened_at),
            "ago": clock.ago(a.opened_at),
            "acknowledged_by": a.acknowledged_by,
            "creator": None if a.creator_id is None else names.get(("creator", a.creator_id)),
        }
        for a in found
    ]


def _back() -> str:
    """Where the button was pressed (a path of this site only), else the stats page."""
    back = request.form.get("back", "")
    if back.startswith("/") and not back.startswith("//") and "\\" not in back:
        return back
    return url_for("pages.stats_page")


@bp.post("/alerts/<int:alert_id>/acknowledge")
@login_required(*MANAGERS)
def acknowledge_alert(alert_id: int) -> Response:
    session = db.session
    if session.in_transaction():
        session.rollback()  # the read that found the logged-in user
    begin_write(session)
    me = current_user()
    assert me is not None
    try:
        alert = lifecycle.get(session, alert_id, callers.creator_limit(me))
        lifecycle.acknowledge(alert, me.email, utc_now())
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            abort(404, description=exc.message)
        flash(exc.message, "error")
        return redirect(_back())
    audit.record(session, me.email, "alert_acknowledge", f"alert:{alert_id}", utc_now())
    session.commit()
    flash("Alert acknowledged.")
    return redirect(_back())
