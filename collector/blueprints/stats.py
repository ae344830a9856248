"""Read-only statistics for managers (and chatters, about themselves)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from collector.auth import require_token
from collector.db import db
from collector.errors import ApiError
from collector.jsonio import json_response
from collector.models import ApiToken, Chatter, Creator
from collector.settings import currency_exponent, get_value
from collector.stats import loading
from collector.stats.metrics import ChatterMetrics, compute
from collector.stats.periods import Period, PeriodError, period
from shared.money import format_amount

bp = Blueprint("stats", __name__, url_prefix="/api/v1/stats")


def _date(name: str) -> dt.date:
    raw = request.args.get(name)
    if not raw:
        raise ApiError(400, "bad_parameter", f"{name} is required (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "bad_parameter", f"{name}={raw!r} is not a date (YYYY-MM-DD)") from None


def _period() -> Period:
    tz = request.args.get("tz") or str(get_value(db.session, "agency_timezone"))
    try:
        return period(_date("start"), _date("end"), tz)
    except PeriodError as exc:
        raise ApiError(400, "bad_parameter", str(exc)) from None


def _creator() -> Creator | None:
    key = request.args.get("creator")
    if not key:
        return None
    creator = db.session.scalar(select(Creator).where(Creator.key == key))
    if creator is None:
        raise ApiError(400, "bad_parameter", f"unknown creator {key!r}")
    return creator


def _row(chatter: Chatter | None, m: ChatterMetrics, exponent: int) -> dict[str, Any]:
    def money(minor: int) -> str:
        return format_amount(minor, exponent)

    active_hours = m.active_seconds / 3600
    return {
        "key": chatter.key if chatter else None,
        "name": chatter.name if chatter else "Unattributed",
        "total_sales": money(m.total_sales),
        "ppv_sales": money(m.ppv_sales),
        "tips": money(m.tips),
        "refunds": money(m.refunds),
        "unmatched_refunds": money(m.unmatched_refunds),
        "ppv_sent": m.ppv_sent,
        "ppv_bought": m.ppv_bought,
        "ppv_purchase_rate": m.ppv_purchase_rate,
        "messages_sent": m.messages_sent,
        "mass_messages_sent": m.mass_messages_sent,
        "automated_messages_sent": m.automated_messages_sent,
        "ppv_per_message": m.ppv_per_message,
        "keystrokes": m.keystrokes,
        "mouse_events": m.mouse_events,
        "online_seconds": m.online_seconds,
        "active_seconds": m.active_seconds,
        "inactive_seconds": m.inactive_seconds,
        "paused_seconds": m.paused_seconds,
        "avg_response_seconds": m.avg_response_seconds,
        "median_response_seconds": m.median_response_seconds,
        "responses": m.responses,
        "revenue_per_active_hour": None
        if active_hours == 0
        else money(round(m.total_sales / active_hours)),
        "activity_shared": m.activity_shared,
    }


@bp.get("/chatters")
def chatters() -> Response:
    """All chatters' metrics for a range of local days (see METRICS.md)."""
    session = db.session
    token: ApiToken = require_token(session, "admin", "manager", "chatter")
    window = _period()
    creator = _creator()
    currency, exponent = currency_exponent(session)
    people = session.scalars(select(Chatter).options(selectinload(Chatter.creators))).all()
    assignments = {c.key: {cr.key for cr in c.creators} for c in people}
    metrics = compute(
        loading.events_for(session, window),
        loading.slices_for(session, window),
        window,
        creator=creator.key if creator else None,
        assignments=assignments,
    )
    query = (request.args.get("q") or "").strip().lower()
    rows = []
    for chatter in sorted(people, key=lambda c: c.name.lower()):
        if token.role == "chatter" and chatter.id != token.chatter_id:
            continue
        if (
            creator is not None
            and chatter.key not in metrics
            and creator.key not in assignments[chatter.key]
        ):
            continue
        if query and query not in chatter.name.lower() and query not in chatter.key:
            continue
        rows.append(_row(chatter, metrics.get(chatter.key, ChatterMetrics()), exponent))
    if token.role != "chatter" and not query and None in metrics:
        rows.append(_row(None, metrics[None], exponent))
    return json_response(
        {
            "range": {
                "start": window.first.isoformat(),
                "end": window.last.isoformat(),
                "tz": window.tz.key,
                "utc_start": window.start.isoformat().replace("+00:00", "Z"),
                "utc_end": window.end.isoformat().replace("+00:00", "Z"),
            },
            "creator": creator.key if creator else None,
            "currency": currency,
            "chatters": rows,
        }
    )
