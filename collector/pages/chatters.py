"""A chatter's page: their key figures, day by day, their devices and latest slices.

Managers reach every chatter's page; a chatter only their own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from flask import abort, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.auth.roles import LOGIN_ROLES
from collector.db import text
from collector.db.models import Device, Slice
from collector.db.settings import get_value
from collector.http.auth import current_user, login_required
from collector.http.database import db
from collector.pages import bp, chatter_shifts, page_selection, report_request, selection
from collector.pages.clock import Clock
from collector.pages.colours import SERIES, chatter_colour
from collector.pages.columns import page_columns
from collector.pages.figures import SHARED_NOTE, chart_amount, chatter_figures, partial_day
from collector.pages.formatting import cells
from collector.pages.now import state_text
from collector.pages.selection import ALL_ZONES, PageSelection, creators_of
from collector.presence import board
from collector.stats import fans, present, reports
from collector.stats.periods import zone
from shared.protocol import utc_now

DAILY_COLUMNS = page_columns(
    present.DAILY_COLUMNS,
    [
        ("date", "date"),
        ("total_revenue", "money"),
        ("ppv_sales", "money"),
        ("tips", "money"),
        ("ppv_sent", "integer"),
        ("ppv_bought", "integer"),
        ("messages_sent", "integer"),
        ("keystrokes", "integer"),
        ("online_seconds", "duration"),
        ("active_seconds", "duration"),
        ("inactive_seconds", "duration"),
        ("paused_seconds", "duration"),
        ("regular_seconds", "duration"),
        ("avg_response_seconds", "wait"),
    ],
)


def _sees_activity(req: reports.Request, chatter_id: int) -> bool:
    """A team lead sees a chatter's computers and slices only when the chatter works for
    one of their creators: a chatter of another creator reaches their pages through a sale
    credited for theirs, but the activity is the other creator's (METRICS.md)."""
    if not req.limited_to:
        return True
    return bool(req.assignments.get(chatter_id, set()) & {c.id for c in req.limited_to})


def _context(
    session: Session, req: reports.Request, key: str, sel: PageSelection
) -> dict[str, Any]:
    daily = reports.daily(session, req, key)
    assert isinstance(daily, dict)
    person = reports.find_chatter(req, key)
    days = daily["days"]
    devices: Sequence[Device] = []
    recent: Sequence[Slice] = []
    sees_activity = _sees_activity(req, person.id)
    if sees_activity:
        devices = session.scalars(
            select(Device).where(Device.chatter_id == person.id).order_by(Device.enrolled_at)
        ).all()
        recent = session.scalars(
            select(Slice)
            .where(Slice.chatter_id == person.id)
            .order_by(Slice.start.desc())
            .limit(10)
        ).all()
    kinds = [(name, kind) for name, _, kind in DAILY_COLUMNS[1:]]
    for day in days:
        day["cells"] = cells(day, kinds, req.currency)
    totals = {**daily["totals"], "total_revenue": daily["totals"]["total_sales"]}
    shared = bool(daily["totals"].get("activity_shared"))
    has_data = any(d["online_seconds"] or d["messages_sent"] or d["responses"] for d in days)
    has_sales = any(Decimal(d["total_revenue"]) for d in days)
    return {
        "sel": sel,
        "daily": daily,
        "person": person,
        "colour": chatter_colour(person.id),
        "figures": chatter_figures(daily["totals"], daily.get("previous_totals"), shared),
        "shared": shared,
        "shared_note": SHARED_NOTE,
        "columns": DAILY_COLUMNS,
        "total_cells": cells(totals, kinds, req.currency),
        "export_columns": ",".join(name for name, _, _ in DAILY_COLUMNS),
        "devices": devices,
        # Live presence (pages/now.py), where the computers are shown.
        "presence": board.live_of(session, person.id, utc_now()) if sees_activity else None,
        "activity_hidden": not sees_activity,
        "recent_slices": recent,
        "slice_seconds": get_value(session, "slice_seconds", person.id),
        "idle_seconds": get_value(session, "idle_threshold_seconds", person.id),
        "empty": not has_data and not has_sales,
        "charts": {
            "colours": SERIES,
            "today": partial_day(sel, utc_now()),
            "revenue": {
                "labels": [d["date"] for d in days],
                "ppv": [chart_amount(d["ppv_sales"]) for d in days],
                "tips": [chart_amount(d["tips"]) for d in days],
                "currency": req.currency,
            },
            "activity": {
                "labels": [d["date"] for d in days],
                # Seconds; the chart's axis steps and labels them (dashboard.js).
                "active": [d["active_seconds"] for d in days],
                "inactive": [d["inactive_seconds"] for d in days],
                "paused": [d["paused_seconds"] for d in days],
            },
        },
    }


# Fan interactions and the revenue breakdown (issue 13): the API's /fans and /breakdown.
FAN_COLUMNS = page_columns(
    fans.FAN_COLUMNS,
    [
        ("fan", "text"),
        ("creator", "text"),
        ("net_revenue", "money"),
        ("ppv_revenue", "money"),
        ("tip_revenue", "money"),
        ("refunds", "money"),
        ("messages_sent", "integer"),
        ("fan_messages", "integer"),
        ("ppv_sent", "integer"),
        ("ppv_bought", "integer"),
        ("median_wait_seconds", "wait"),
        ("last_contact", "datetime"),
    ],
)
FANS_PER_PAGE = 25
# The page's query-string names for the fan table (the API's q, sort, order, page).
FAN_ARGS = {"fans_q": "q", "fans_sort": "sort", "fans_order": "order", "fans_page": "page"}


def _fan_state() -> dict[str, str]:
    """The fan table's choices from the query string; stale values fall back to defaults."""
    wanted = {name: request.args.get(name, "").strip() for name in FAN_ARGS}
    if wanted["fans_sort"] not in fans.SORTS:
        wanted["fans_sort"] = ""
    if wanted["fans_order"] not in reports.ORDERS:
        wanted["fans_order"] = ""
    wanted["fans_q"] = wanted["fans_q"][: fans.MAX_SEARCH]
    page = wanted["fans_page"]
    if text.whole_number(page, 1, 1_000_000) is None:
        wanted["fans_page"] = ""
    return wanted


def _fan_context(
    session: Session, req: reports.Request, key: str, sel: PageSelection, clock: Clock
) -> dict[str, Any]:
    wanted = _fan_state()
    asked = {FAN_ARGS[name]: value for name, value in wanted.items() if value}
    args = {**req.args, **asked, "per_page": str(FANS_PER_PAGE), "format": "json"}
    table = fans.fans(session, dataclasses.replace(req, args=args, fmt="json"), key)
    split = fans.breakdown(session, dataclasses.replace(req, fmt="json"), key)
    assert isinstance(table, dict) and isinstance(split, dict)
    for row in table["fans"]:
        last = row["last_contact"]
        row["last_contact_shown"] = clock.when(
            None if last is None else dt.datetime.fromisoformat(last)
        )
        row["refunds"] = _deducted(row["refunds"])
    totals = split["totals"]
    kinds = [
        ("PPV sales (before refunds)", totals["ppv_revenue"]),
        ("Tips (before refunds)", totals["tip_revenue"]),
        ("Refunds", _deducted(totals["refunds"])),
    ]
    by_creator = [
        {**part, "refunds": _deducted(part["refunds"])} for part in [*split["creators"], totals]
    ]
    state = {**sel.state(), **{k: v for k, v in wanted.items() if v}}

    def fans_here(**changes: str) -> str:
        """This page with some fan-table choices changed; the others kept."""
        merged: dict[str, Any] = {k: v for k, v in {**state, **changes}.items() if v}
        return url_for("pages.chatter_page", key=key, **merged) + "#fans-h"

    export = {
        **sel.query(),
        **{k: v for k, v in asked.items() if k != "page"},
        # the creator's name, as shown (the API's creator is the key)
        "columns": ",".join(
            "creator_name" if name == "creator" else name for name, _, _ in FAN_COLUMNS
        ),
    }
    return {
        "fans": table,
        "fan_columns": FAN_COLUMNS,
        "fan_wanted": wanted,
        "fans_here": fans_here,
        "fan_export": export,
        "breakdown": split,
        "breakdown_kinds": kinds,
        "breakdown_creators": by_creator[:-1],
        "breakdown_total": by_creator[-1],
    }


def _deducted(refunds: str) -> str:
    """The API's refunds (a positive amount) as the page shows them: a negative line."""
    amount = Decimal(refunds)
    return str(-amount) if amount else refunds


@bp.get("/chatters/<key>")
@login_required(*LOGIN_ROLES)
def chatter_page(key: str) -> str:
    """One chatter's numbers; a chatter reaches only their own page."""
    user = current_user()
    assert user is not None
    if user.role == "chatter" and (user.chatter is None or user.chatter.key != key):
        abort(403, description="a chatter sees only their own page")
    creators = creators_of(db.session, user)
    sel = page_selection(creators)
    req = report_request(sel.query())
    context = _context(db.session, req, key, sel)
    clock = Clock(zone(sel.tz), utc_now())  # times in the page's zone
    return render_template(
        "chatter.html",
        **context,
        **_fan_context(db.session, req, key, sel, clock),
        **chatter_shifts.context(db.session, req, context["person"], sel),
        creators=creators,
        presets=selection.PRESETS,
        zones=ALL_ZONES,
        own=user.role == "chatter",
        upcoming_days=chatter_shifts.UPCOMING_DAYS,
        recent_days=chatter_shifts.RECENT_DAYS,
        clock=clock,
        state_text=lambda live: state_text(live, clock),
    )
