"""Read-only statistics for managers (and chatters, about themselves).

Every view reads the rollups (collector/stats/views.py), for the requested
range and for the previous range of the same length, and can be exported as
CSV or Excel with ``format=csv|xlsx``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy import select

from collector.auth import require_token
from collector.db import db
from collector.errors import ApiError
from collector.exports import Table, export_response
from collector.jsonio import json_response
from collector.models import ApiToken, Chatter, Creator, chatter_creators
from collector.settings import currency_exponent, get_value
from collector.stats import present, views
from collector.stats.metrics import ChatterMetrics
from collector.stats.periods import Period, PeriodError, period
from collector.stats.views import Selection
from shared.money import format_amount

bp = Blueprint("stats", __name__, url_prefix="/api/v1/stats")

TOP_MEASURES = ("revenue", "activity", "messages", "response_time")
INTERVALS = ("day", "hour")
FORMATS = ("json", "csv", "xlsx")


def _date(name: str) -> dt.date:
    raw = request.args.get(name)
    if not raw:
        raise ApiError(400, "bad_parameter", f"{name} is required (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "bad_parameter", f"{name}={raw!r} is not a date (YYYY-MM-DD)") from None


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.args.get(name) or default
    if value not in allowed:
        raise ApiError(400, "bad_parameter", f"{name}={value!r}: use one of {', '.join(allowed)}")
    return value


def _flag(name: str, default: bool) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise ApiError(400, "bad_parameter", f"{name}={raw!r}: use true or false")


@dataclass(frozen=True)
class Person:
    id: int
    key: str
    name: str


@dataclass
class Request:
    """What every stats view is asked for: who asks, the range, the creator."""

    token: ApiToken
    period: Period
    previous: Period  # the same number of days just before
    creator: Creator | None
    people: list[Person]
    assignments: dict[int, set[int]]
    currency: str
    exponent: int
    compare: bool
    fmt: str

    def selection(self, window: Period, chatter: Person | None = None) -> Selection:
        return Selection(
            window,
            self.creator.id if self.creator else None,
            chatter.id if chatter else None,
        )

    def range(self, window: Period) -> dict[str, str]:
        return {
            "start": window.first.isoformat(),
            "end": window.last.isoformat(),
            "tz": window.tz.key,
            "utc_start": window.start.isoformat().replace("+00:00", "Z"),
            "utc_end": window.end.isoformat().replace("+00:00", "Z"),
        }

    def money(self, minor: int) -> str:
        return format_amount(minor, self.exponent)

    def base(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "range": self.range(self.period),
            "creator": self.creator.key if self.creator else None,
            "currency": self.currency,
        }
        if self.compare:
            body["previous_range"] = self.range(self.previous)
        return body

    def export(self, title: str, columns: Any, rows: list[dict[str, Any]], stem: str) -> Response:
        meta = [
            ("Range", f"{self.period.first} to {self.period.last}"),
            ("Time zone", self.period.tz.key),
            ("Creator", self.creator.name if self.creator else "All creators"),
        ]
        name = f"{stem}_{self.period.first}_{self.period.last}"
        table = Table(title, columns, rows, meta, self.currency, self.exponent, name)
        return export_response(table, self.fmt)


def _request(*roles: str) -> Request:
    session = db.session
    token = require_token(session, *roles)
    tz = request.args.get("tz") or str(get_value(session, "agency_timezone"))
    try:
        window = period(_date("start"), _date("end"), tz)
        previous = window.previous()
    except PeriodError as exc:
        raise ApiError(400, "bad_parameter", str(exc)) from None
    creator = None
    if key := request.args.get("creator"):
        creator = session.scalar(select(Creator).where(Creator.key == key))
        if creator is None:
            raise ApiError(400, "bad_parameter", f"unknown creator {key!r}")
    # Plain rows, not ORM objects: this runs on every view, for every chatter.
    people = [
        Person(*row) for row in session.execute(select(Chatter.id, Chatter.key, Chatter.name))
    ]
    assignments: dict[int, set[int]] = {p.id: set() for p in people}
    for chatter_id, creator_id in session.execute(
        select(chatter_creators.c.chatter_id, chatter_creators.c.creator_id)
    ):
        assignments[chatter_id].add(creator_id)
    currency, exponent = currency_exponent(session)
    return Request(
        token=token,
        period=window,
        previous=previous,
        creator=creator,
        people=sorted(people, key=lambda c: c.name.lower()),
        assignments=assignments,
        currency=currency,
        exponent=exponent,
        compare=_flag("compare", True),
        fmt=_choice("format", FORMATS, "json"),
    )


@bp.get("/chatters")
def chatters() -> Response:
    """All chatters' metrics for a range of local days (see METRICS.md)."""
    req = _request("admin", "manager", "chatter")
    connection = db.session.connection()
    own = req.token.chatter_id if req.token.role == "chatter" else None
    now = views.totals(connection, req.selection(req.period), req.assignments)
    before: dict[int | None, ChatterMetrics] = {}
    if req.compare:
        previous = req.selection(req.previous)
        before = views.totals(connection, previous, req.assignments)
    query = (request.args.get("q") or "").strip().lower()
    rows = []
    for chatter in req.people:
        if own is not None and chatter.id != own:
            continue
        if (
            req.creator
            and chatter.id not in now
            and req.creator.id not in req.assignments[chatter.id]
        ):
            continue
        if query and query not in chatter.name.lower() and query not in chatter.key:
            continue
        rows.append(_chatter_row(req, chatter.key, chatter.name, now, before, chatter.id))
    if own is None and not query and None in now:
        rows.append(_chatter_row(req, None, "Unattributed", now, before, None))
    if req.fmt != "json":
        return req.export("All chatters", present.CHATTER_COLUMNS, rows, "chatters")
    return json_response({**req.base(), "chatters": rows})


def _chatter_row(
    req: Request,
    key: str | None,
    name: str,
    now: dict[int | None, ChatterMetrics],
    before: dict[int | None, ChatterMetrics],
    chatter_id: int | None,
) -> dict[str, Any]:
    fields = present.metric_fields(now.get(chatter_id, ChatterMetrics()), req.exponent)
    # METRICS.md: under one creator, a chatter assigned to several shows all their activity.
    fields["activity_shared"] = bool(
        req.creator and chatter_id is not None and len(req.assignments[chatter_id]) > 1
    )
    row: dict[str, Any] = {"key": key, "name": name, **fields}
    if req.compare:
        old = present.metric_fields(before.get(chatter_id, ChatterMetrics()), req.exponent)
        row["previous"] = old
        row["change"] = present.change(fields, old, req.exponent)
    return row


def _chatter(req: Request, key: str) -> Person:
    chatter = next((c for c in req.people if c.key == key), None)
    if chatter is None:
        raise ApiError(404, "not_found", f"no chatter {key!r}")
    if req.token.role == "chatter" and req.token.chatter_id != chatter.id:
        raise ApiError(403, "forbidden", "a chatter token sees only its own chatter")
    return chatter


@bp.get("/chatters/<key>/daily")
def daily(key: str) -> Response:
    """One chatter's metrics per local day, every day of the range present."""
    req = _request("admin", "manager", "chatter")
    chatter = _chatter(req, key)
    connection = db.session.connection()
    days = views.daily(connection, req.selection(req.period, chatter), req.assignments)
    rows = [_day_row(req, day, m) for day, m in days]
    if req.fmt != "json":
        return req.export(f"Daily {chatter.name}", present.DAILY_COLUMNS, rows, f"daily_{key}")
    body = {**req.base(), "chatter": {"key": chatter.key, "name": chatter.name}, "days": rows}
    whole = views.totals(connection, req.selection(req.period, chatter), req.assignments)
    body["totals"] = present.metric_fields(whole.get(chatter.id, ChatterMetrics()), req.exponent)
    if req.compare:
        previous = req.selection(req.previous, chatter)
        old = views.totals(connection, previous, req.assignments)
        body["previous_totals"] = present.metric_fields(
            old.get(chatter.id, ChatterMetrics()), req.exponent
        )
        body["change"] = present.change(body["totals"], body["previous_totals"], req.exponent)
    return json_response(body)


def _day_row(req: Request, day: dt.date, m: ChatterMetrics) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "active_seconds": m.active_seconds,
        "inactive_seconds": m.inactive_seconds,
        "paused_seconds": m.paused_seconds,
        "online_seconds": m.online_seconds,
        "total_revenue": req.money(m.total_sales),
        "ppv_sales": req.money(m.ppv_sales),
        "tips": req.money(m.tips),
        "avg_response_seconds": m.avg_response_seconds,
        "responses": m.responses,
        "messages_sent": m.messages_sent,
        "ppv_sent": m.ppv_sent,
        "ppv_bought": m.ppv_bought,
        "keystrokes": m.keystrokes,
    }


def _measure(by: str, m: ChatterMetrics) -> int | float | None:
    if by == "revenue":
        return m.total_sales
    if by == "activity":
        return m.active_seconds
    if by == "messages":
        return m.messages_sent
    return m.avg_response_seconds


@bp.get("/top")
def top() -> Response:
    """Chatters ranked by a measure, with each one's share of the total (additive measures)."""
    req = _request("admin", "manager")
    by = _choice("by", TOP_MEASURES, "revenue")
    limit = _limit()
    connection = db.session.connection()
    now = views.totals(connection, req.selection(req.period), req.assignments, medians=False)
    before: dict[int | None, ChatterMetrics] = {}
    if req.compare:
        previous = req.selection(req.previous)
        before = views.totals(connection, previous, req.assignments, medians=False)
    ranked = []
    for chatter in req.people:
        value = _measure(by, now.get(chatter.id, ChatterMetrics()))
        if value is not None and (value != 0 or by == "response_time"):
            ranked.append((chatter, value))
    ranked.sort(key=lambda cv: (cv[1] if by == "response_time" else -cv[1], cv[0].name.lower()))
    additive = by != "response_time"
    total = sum(v for m in now.values() if (v := _measure(by, m)) is not None) if additive else None
    items = []
    for rank, (chatter, value) in enumerate(ranked[:limit], start=1):
        old = _measure(by, before.get(chatter.id, ChatterMetrics())) if req.compare else None
        items.append(
            {
                "rank": rank,
                "key": chatter.key,
                "name": chatter.name,
                "value": _shown(req, by, value),
                "share": value / total if additive and total else None,
                "previous_value": _shown(req, by, old),
                "change": None if old is None else _shown(req, by, value - old),
            }
        )
    if req.fmt != "json":
        return req.export(f"Top chatters by {by}", present.top_columns(by), items, f"top_{by}")
    body = {**req.base(), "by": by, "items": items}
    if additive and total is not None:
        shown = sum(v for _, v in ranked[:limit])
        body["total"] = _shown(req, by, total)
        body["others"] = _shown(req, by, total - shown)
        body["others_share"] = (total - shown) / total if total else None
    return json_response(body)


def _shown(req: Request, by: str, value: int | float | None) -> Any:
    if value is None:
        return None
    return req.money(int(value)) if by == "revenue" else value


def _limit() -> int:
    raw = request.args.get("limit") or "10"
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise ApiError(400, "bad_parameter", f"limit={raw!r}: a whole number from 1 to 1000")
    return int(raw)


@bp.get("/revenue")
def revenue() -> Response:
    """PPV sales and tips per local day or hour, for all creators or one (or one chatter)."""
    req = _request("admin", "manager", "chatter")
    interval = _choice("interval", INTERVALS, "day")
    chatter = None
    if key := request.args.get("chatter"):
        chatter = _chatter(req, key)
    elif req.token.role == "chatter":
        raise ApiError(403, "forbidden", "a chatter token sees only its own chatter (chatter=KEY)")
    connection = db.session.connection()
    points = views.revenue(connection, req.selection(req.period, chatter), interval)
    series = [_point(req, interval, p) for p in points]
    if req.fmt != "json":
        stem = f"revenue_{interval}" + (f"_{chatter.key}" if chatter else "")
        return req.export("Revenue", present.revenue_columns(interval), series, stem)
    body = {**req.base(), "interval": interval, "chatter": chatter.key if chatter else None}
    body["series"] = series
    body["totals"] = _sum_points(req, points)
    if req.compare:
        previous = req.selection(req.previous, chatter)
        old_points = views.revenue(connection, previous, interval)
        body["previous_series"] = [_point(req, interval, p) for p in old_points]
        body["previous_totals"] = _sum_points(req, old_points)
        body["change"] = present.change(body["totals"], body["previous_totals"], req.exponent)
    return json_response(body)


def _point(req: Request, interval: str, p: views.RevenuePoint) -> dict[str, Any]:
    point: dict[str, Any] = {"start": p.start.isoformat()}
    if interval == "day":
        point["date"] = p.start.date().isoformat()
    point.update(ppv=req.money(p.ppv_sales), tips=req.money(p.tips), total=req.money(p.total))
    return point


def _sum_points(req: Request, points: list[views.RevenuePoint]) -> dict[str, str]:
    ppv = sum(p.ppv_sales for p in points)
    tips = sum(p.tips for p in points)
    return {"ppv": req.money(ppv), "tips": req.money(tips), "total": req.money(ppv + tips)}
