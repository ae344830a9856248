"""The attendance and coverage views as the API sends them (JSON, CSV, Excel) and the
pages show them.  Same selection as the stats views (collector/stats/reports.py)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.attendance import queries, scheduled
from collector.attendance.compute import TOTALS, Result
from collector.attendance.definitions import STATUS_LABELS, Attendance, Coverage, Sums
from collector.db import text
from collector.db.models import Creator
from collector.db.settings import get_value
from collector.stats import reports
from collector.stats.tables import Column

PER_PAGE = 100
MAX_PER_PAGE = 1000
TABLES = ("shifts", "chatters", "days")

SHIFT_COLUMNS = (
    Column("chatter_name", "Chatter", "text"),
    Column("creator_name", "Creator", "text"),
    Column("starts_at", "Starts", "datetime"),
    Column("ends_at", "Ends", "datetime"),
    Column("status_label", "Status", "text"),  # in words, as the pages show it
    Column("scheduled_seconds", "Scheduled", "duration"),
    Column("online_seconds", "Online in shift", "duration"),
    Column("active_seconds", "Active in shift", "duration"),
    Column("paused_seconds", "Paused in shift", "duration"),
    Column("first_active_at", "First activity", "datetime"),
    Column("last_active_at", "Last activity", "datetime"),
    Column("late_seconds", "Late by", "duration"),
    Column("early_leave_seconds", "Left early by", "duration"),
    Column("swap_label", "Swapped", "text"),  # "yes": a day handed to this chatter
)
CHATTER_COLUMNS = (
    Column("name", "Chatter", "text"),
    # The page's "so far" figures beside the view's, which count the shifts to come too
    # (scheduled.py).
    Column("shifts_so_far", "Shifts so far", "integer"),
    Column("shifts", "Shifts (incl. to come)", "integer"),
    Column("scheduled_so_far_seconds", "Scheduled so far", "duration"),
    Column("scheduled_seconds", "Scheduled (incl. to come)", "duration"),
    Column("online_seconds", "Online in shifts", "duration"),
    Column("active_seconds", "Active in shifts", "duration"),
    Column("paused_seconds", "Paused in shifts", "duration"),
    Column("late_shifts", "Late starts", "integer"),
    Column("early_leaves", "Early leaves", "integer"),
    Column("no_shows", "No-shows", "integer"),
    Column("outside_online_seconds", "Online outside shifts", "duration"),
    Column("outside_active_seconds", "Active outside shifts", "duration"),
)
DAY_COLUMNS = (
    Column("name", "Chatter", "text"),
    Column("day", "Day", "date"),
    Column("scheduled_seconds", "Scheduled", "duration"),
    Column("online_seconds", "Online in shifts", "duration"),
    Column("outside_online_seconds", "Online outside shifts", "duration"),
    Column("outside_active_seconds", "Active outside shifts", "duration"),
)


def _whole(args: reports.Args, name: str, default: int, top: int) -> int:
    return text.whole_parameter(args, name, default, top)


def _local(moment: dt.datetime | int | None, req: reports.Request) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, int):
        moment = dt.datetime.fromtimestamp(moment, dt.UTC)
    return moment.astimezone(req.period.tz).isoformat()


def _names(session: Session) -> dict[int, tuple[str, str]]:
    return {i: (k, n) for i, k, n in session.execute(select(Creator.id, Creator.key, Creator.name))}


def grace_seconds(session: Session) -> int:
    return int(str(get_value(session, "late_grace_minutes"))) * 60


def compute(
    session: Session, req: reports.Request, now: dt.datetime
) -> tuple[Result, list[reports.Person]]:
    """The fast path for this selection; the chatters it covers (filter ``chatter``)."""
    people = req.people
    if key := req.args.get("chatter"):
        people = [reports.find_chatter(req, key)]
    window = req.period
    shifts = queries.shifts_around(session, window.start, window.end)
    result = queries.fast_attendance(
        session,
        window.first,
        window.last,
        window.tz,
        {p.id for p in people},
        shifts,
        grace=grace_seconds(session),
        now=int(now.timestamp()),
        creators=req.creator_ids,
        exclude_regular=req.exclude_regular,
    )
    if req.creator_ids is not None and not req.args.get("chatter"):
        # Of some creators: only the chatters linked to them (or with a shift of theirs in
        # the range), not every chatter with nothing but time outside shifts.  One chatter
        # asked for by name (their page) stays, as the stats views keep them.
        working = {a.occurrence.chatter_id for a in result.rows}
        people = [
            p
            for p in people
            if p.id in working or req.assignments.get(p.id, set()) & req.creator_ids
        ]
    return result, people


def outside_of_all(req: reports.Request) -> bool:
    """Whether the time outside shifts is wider than the selection: it is outside *all* a
    chatter's shifts, whatever the creator, so with creators selected it is every
    creator's (the page and the exports say "(all creators)")."""
    return req.creator_ids is not None


def _titled(columns: tuple[Column, ...], req: reports.Request) -> tuple[Column, ...]:
    if not outside_of_all(req):
        return columns
    return tuple(
        Column(c.key, f"{c.title} (all creators)", c.kind) if c.key.startswith("outside_") else c
        for c in columns
    )


def _shift_row(
    req: reports.Request,
    a: Attendance,
    people: dict[int, reports.Person],
    creators: dict[int, tuple[str, str]],
) -> dict[str, Any]:
    o, s = a.occurrence, a.sums
    person = people[o.chatter_id]
    key, name = creators.get(o.creator_id, ("", ""))
    return {
        "shift_id": o.shift_id,
        "shift_day": o.day.isoformat(),
        "chatter": person.key,
        "chatter_name": person.name,
        "creator": key,
        "creator_name": name,
        "swapped": o.swapped,
        "starts_at": _local(o.starts_at, req),
        "ends_at": _local(o.ends_at, req),
        "status": a.status,
        "scheduled_seconds": o.seconds,
        "online_seconds": s.online,
        "active_seconds": s.active,
        "paused_seconds": s.paused,
        "first_active_at": _local(s.first_active, req),
        "last_active_at": _local(s.last_active, req),
        "late_seconds": a.late_seconds,
        "early_leave_seconds": a.early_leave_seconds,
        "no_show": a.no_show,
    }


def _chatter_rows(result: Result, people: list[reports.Person]) -> list[dict[str, Any]]:
    nothing = (0,) * len(TOTALS)
    totals = result.totals
    return [
        {
            "chatter": p.key,
            "name": p.name,
            **dict(zip(TOTALS, totals.get(p.id, nothing), strict=True)),
        }
        for p in people
    ]


def _day_rows(
    req: reports.Request, result: Result, people: list[reports.Person]
) -> list[dict[str, Any]]:
    inside: dict[tuple[int, dt.date], list[int]] = defaultdict(lambda: [0, 0])
    for a in result.rows:
        day = req.period.local_date(a.occurrence.starts_at)
        inside[(a.occurrence.chatter_id, day)][0] += a.occurrence.seconds
        inside[(a.occurrence.chatter_id, day)][1] += a.sums.online
    rows = []
    for p in people:
        for day in req.period.days():
            s = result.outside.get((p.id, day), Sums())
            scheduled, online = inside.get((p.id, day), [0, 0])
            rows.append(
                {
                    "chatter": p.key,
                    "name": p.name,
                    "day": day.isoformat(),
                    "scheduled_seconds": scheduled,
                    "online_seconds": online,
                    "outside_online_seconds": s.online,
                    "outside_active_seconds": s.active,
                }
            )
    return rows


def attendance(session: Session, req: reports.Request, now: dt.datetime) -> reports.Report:
    """Shift occurrences starting in the range (paged), per-chatter totals, and with
    ``chatter`` each local day's time outside shifts.  Exports: ``table`` shifts (every
    row), chatters or days."""
    table = reports.choice(req.args, "table", TABLES, "shifts")
    page = _whole(req.args, "page", 1, 1_000_000)
    per_page = _whole(req.args, "per_page", PER_PAGE, MAX_PER_PAGE)
    result, people = compute(session, req, now)
    by_id = {p.id: p for p in people}
    creators = _names(session)
    chatters = _chatter_rows(result, people)
    if req.fmt != "json":
        if table == "chatters":
            scheduled.annotate(session, req, now, chatters)
            for row in chatters:
                row["shifts_so_far"] = row["so_far"]["shifts"]
                row["scheduled_so_far_seconds"] = row["so_far"]["scheduled_seconds"]
            return req.export(
                "Attendance by chatter",
                _titled(CHATTER_COLUMNS, req),
                chatters,
                "attendance_chatters",
                money=False,
            )
        if table == "days":
            return req.export(
                "Attendance by day",
                _titled(DAY_COLUMNS, req),
                _day_rows(req, result, people),
                "attendance_days",
                money=False,
            )
        rows = [_shift_row(req, a, by_id, creators) for a in result.rows]
        for row in rows:
            row["status_label"] = STATUS_LABELS[row["status"]]
            row["swap_label"] = "yes" if row["swapped"] else ""
        return req.export("Attendance", SHIFT_COLUMNS, rows, "attendance", money=False)
    shown = result.rows[(page - 1) * per_page : page * per_page]
    total = len(result.rows)
    body: dict[str, Any] = {
        "range": req.range(req.period),
        "creator": req.creator.key if req.creator else None,
        "grace_seconds": grace_seconds(session),
        # Whether active time leaves regular input out (exclude_regular_input).
        "regular_input_excluded": req.exclude_regular,
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": max(1, -(-total // per_page)),
        "shifts": [_shift_row(req, a, by_id, creators) for a in shown],
        "chatters": chatters,
    }
    if req.args.get("chatter"):
        body["days"] = _day_rows(req, result, people)
    return body


HOUR_COLUMNS = (
    Column("creator_name", "Creator", "text"),
    Column("hour", "Hour of day", "integer"),
    Column("hours", "Hours", "integer"),
    Column("required_hours", "Hours with a requirement", "integer"),
    Column("uncovered_hours", "Uncovered hours", "integer"),
    Column("required", "Chatters required (sum)", "integer"),
    Column("online", "Chatters online (sum)", "integer"),
    Column("coverage", "Coverage", "ratio"),
)


def coverage_view(
    session: Session, req: reports.Request, now: dt.datetime
) -> tuple[Coverage, list[tuple[int, str, str]]]:
    names = _names(session)
    ids = req.creator_ids if req.creator_ids is not None else frozenset(names)
    creators = sorted(((i, *names[i]) for i in ids if i in names), key=lambda c: c[2].lower())
    shifts = queries.shifts_around(session, req.period.start, req.period.end)
    cov = queries.fast_coverage(
        session,
        req.period.start,
        req.period.end,
        req.period.tz,
        [c[0] for c in creators],
        shifts,
        now=int(now.timestamp()),
    )
    return cov, creators


def coverage(session: Session, req: reports.Request, now: dt.datetime) -> reports.Report:
    """Per creator and local hour of the day: chatters required and online, uncovered
    hours; of the hours over at ``now`` (the others are counted as to come)."""
    cov, creators = coverage_view(session, req, now)
    rows = []
    out = []
    for creator_id, key, name in creators:
        cells = cov.cells[creator_id]
        hours = []
        for hour, cell in enumerate(cells):
            item = {
                "hour": hour,
                "hours": cell.hours,
                "required_hours": cell.required_hours,
                "covered_hours": cell.covered_hours,
                "uncovered_hours": cell.uncovered_hours,
                "required": cell.required,
                "online": cell.online,
                "coverage": cell.ratio,
            }
            hours.append(item)
            rows.append({"creator": key, "creator_name": name, **item})
        out.append(
            {
                "creator": key,
                "name": name,
                "uncovered_hours": sum(c.uncovered_hours for c in cells),
                "required_hours": sum(c.required_hours for c in cells),
                "hours": hours,
            }
        )
    if req.fmt != "json":
        return req.export("Coverage", HOUR_COLUMNS, rows, "coverage", money=False)
    names = {c[0]: (c[1], c[2]) for c in creators}
    return {
        "range": req.range(req.period),
        "creator": req.creator.key if req.creator else None,
        # Local hours of the range not over yet: not judged, in no figure above.
        "hours_to_come": cov.to_come,
        "creators": out,
        "uncovered": [
            {
                "creator": names[creator][0],
                "starts_at": dt.datetime.fromtimestamp(h.start, dt.UTC)
                .astimezone(req.period.tz)
                .isoformat(),
                "required": need,
                "online": have,
            }
            for creator, h, need, have in cov.uncovered
        ],
    }
