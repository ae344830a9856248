"""The attendance page: who came late, left early or did not come, the time outside
shifts, and the coverage heat map (creator x hour of the day) with its table.

The numbers are the attendance API's for the same selection
(collector/attendance/reports.py); the export buttons link to it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import render_template, request, url_for

from collector.attendance import reports as attendance
from collector.attendance import scheduled
from collector.attendance.definitions import STATUS_LABELS
from collector.auth.roles import MANAGERS
from collector.db import text
from collector.http.auth import current_user, login_required
from collector.http.database import db
from collector.pages import bp, page_selection, report_request, selection
from collector.pages.clock import Clock
from collector.pages.formatting import percent
from collector.pages.selection import ALL_ZONES, creators_of
from collector.stats.periods import zone
from shared.protocol import utc_now

PER_PAGE = 50


def shown_shifts(rows: list[dict[str, Any]]) -> None:
    """The view's shift rows as the pages show them: the status in words, the start and
    end as moments (the API's local ISO times) for the one span format (_macros.html)."""
    for row in rows:
        row["status_label"] = STATUS_LABELS[row["status"]]
        row["starts"] = dt.datetime.fromisoformat(row["starts_at"])
        row["ends"] = dt.datetime.fromisoformat(row["ends_at"])


def heat(ratio: float | None) -> str:
    """A cell's background: red (nobody of those required) through amber to green
    (all of them); light, so the text on it keeps its contrast.  Grey: none required."""
    if ratio is None:
        return "#f1f3f5"
    return f"hsl({round(min(ratio, 1.0) * 120)}, 70%, 82%)"


@bp.get("/attendance")
@login_required(*MANAGERS)
def attendance_page() -> str:
    """Attendance per shift and per chatter, and coverage per creator and hour."""
    user = current_user()
    assert user is not None
    creators = creators_of(db.session, user)
    sel = page_selection(creators)
    page = request.args.get("page", "1")
    if text.whole_number(page, 1, 1_000_000) is None:
        page = "1"
    args = {**sel.query(), "page": page, "per_page": str(PER_PAGE)}
    req = report_request(args)
    now = utc_now()
    body = attendance.attendance(db.session, req, now)
    cov = attendance.coverage(db.session, req, now)
    assert isinstance(body, dict) and isinstance(cov, dict)
    shown_shifts(body["shifts"])
    scheduled.annotate(db.session, req, now, body["chatters"])
    grid = [
        {
            "name": c["name"],
            "uncovered": c["uncovered_hours"],
            "cells": [
                {
                    **h,
                    "colour": heat(h["coverage"]),
                    "text": "–" if h["coverage"] is None else percent(h["coverage"], 0),
                }
                for h in c["hours"]
            ],
        }
        for c in cov["creators"]
    ]

    def here(**changes: str) -> str:
        merged: dict[str, Any] = {k: v for k, v in {**sel.state(), **changes}.items() if v}
        return url_for("pages.attendance_page", **merged)

    return render_template(
        "attendance.html",
        sel=sel,
        body=body,
        grid=grid,
        cov_to_come=cov["hours_to_come"],
        creators=creators,
        presets=selection.PRESETS,
        zones=ALL_ZONES,
        here=here,
        export=sel.query(),
        clock=Clock(zone(sel.tz), now),
        legend=[(label, heat(r)) for label, r in (("0 %", 0.0), ("50 %", 0.5), ("100 %", 1.0))],
        none_colour=heat(None),
        outside_all=attendance.outside_of_all(req),
    )


__all__ = ["STATUS_LABELS", "attendance_page", "heat", "shown_shifts"]
