"""The stats reports behind the JSON API and the dashboard's pages.

One builder per view takes the caller and the query parameters and returns the
body the API sends (or an export); the pages render the same bodies, so a number
on a page is the API's number for the same selection.  Every view reads the
rollups (collector/stats/queries.py) for the range and for the previous range of
the same length.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.auth.callers import Caller
from collector.db import text
from collector.db.buckets import DAY, epoch
from collector.db.models import Chatter, Creator, SalesDay, chatter_creators
from collector.db.settings import currency_exponent, get_value
from collector.errors import ApiError
from collector.stats import present, queries
from collector.stats.metrics import ChatterMetrics, combined
from collector.stats.periods import Period, PeriodError, period
from collector.stats.queries import Selection
from collector.stats.tables import Table
from shared.money import format_amount

TOP_MEASURES = ("revenue", "activity", "messages", "response_time")
INTERVALS = ("day", "hour")
FORMATS = ("json", "csv", "xlsx")
ORDERS = ("asc", "desc")

Args = Mapping[str, str]


def _date(args: Args, name: str) -> dt.date:
    raw = args.get(name)
    if not raw:
        raise ApiError(400, "bad_parameter", f"{name} is required (YYYY-MM-DD)")
    day = text.iso_day(raw)
    if day is None:
        raise ApiError(400, "bad_parameter", f"{name}={raw[:30]!r} is not a date (YYYY-MM-DD)")
    return day


def _choice(args: Args, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = args.get(name) or default
    if value not in allowed:
        raise ApiError(400, "bad_parameter", f"{name}={value!r}: use one of {', '.join(allowed)}")
    return value


def _flag(args: Args, name: str, default: bool) -> bool:
    raw = args.get(name)
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

    caller: Caller
    args: Args
    period: Period
    previous: Period  # the same number of days just before
    creator: Creator | None
    people: list[Person]  # those the caller may see (a limited manager: their creators')
    assignments: dict[int, set[int]]
    currency: str
    exponent: int
    compare: bool
    fmt: str
    # A manager limited to some creators (caller.creators): those creators, by name.
    limited_to: list[Creator] = field(default_factory=list)
    # The setting exclude_regular_input (METRICS.md "Regular (machine-like) input").
    exclude_regular: bool = False
    _totals: dict[tuple[Period, int | None], tuple[bool, dict[int | None, ChatterMetrics]]] = field(
        default_factory=dict, repr=False
    )

    def totals(
        self,
        session: Session,
        window: Period,
        chatter: Person | None = None,
        *,
        medians: bool = True,
    ) -> dict[int | None, ChatterMetrics]:
        """queries.totals for this selection, computed once per request.

        A page shows several views of the same range (table, top chatters, key
        figures); they share one read.  Figures with medians serve views without.
        """
        key = (window, chatter.id if chatter else None)
        found = self._totals.get(key)
        if found is not None and (found[0] or not medians):
            return found[1]
        result = queries.totals(
            session.connection(), self.selection(window, chatter), self.assignments, medians=medians
        )
        self._totals[key] = (medians, result)
        return result

    @property
    def creator_ids(self) -> frozenset[int] | None:
        """The creators the numbers are of: the one chosen, else the caller's (None: all)."""
        if self.creator is not None:
            return frozenset([self.creator.id])
        return self.caller.creators

    def selection(self, window: Period, chatter: Person | None = None) -> Selection:
        return Selection(
            window, self.creator_ids, chatter.id if chatter else None, self.exclude_regular
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
            # Whether active figures leave regular input out (exclude_regular_input).
            "regular_input_excluded": self.exclude_regular,
        }
        if self.compare:
            body["previous_range"] = self.range(self.previous)
        return body

    @property
    def own_chatter(self) -> int | None:
        """A chatter sees only themself: their chatter id, else None."""
        return self.caller.chatter_id if self.caller.role == "chatter" else None

    @property
    def visible_chatters(self) -> frozenset[int] | None:
        """The chatters the caller may see named (None: every one): a chatter themself
        only, a limited manager the chatters of their creators (``people``)."""
        own = self.own_chatter
        if own is not None:
            return frozenset([own])
        if self.caller.limited:
            return frozenset(p.id for p in self.people)
        return None

    def export(
        self,
        title: str,
        columns: Any,
        rows: list[dict[str, Any]],
        stem: str,
        *,
        by_creator: bool = True,
        money: bool = True,
    ) -> Table:
        """A file's table and title block; ``by_creator`` False for figures that belong to
        no creator (conversations), whose block then names none; ``money`` False for
        tables without money (attendance), whose block then names no currency."""
        meta = [
            ("Range", f"{self.period.first} to {self.period.last}"),
            ("Time zone", self.period.tz.key),
        ]
        if by_creator:
            meta.append(("Creator", self.creators_shown()))
        name = f"{stem}_{self.period.first}_{self.period.last}"
        return Table(title, columns, rows, meta, self.currency, self.exponent, name, money)

    def creators_shown(self) -> str:
        if self.creator is not None:
            return self.creator.name
        if self.limited_to:
            return ", ".join(c.name for c in self.limited_to)
        return "All creators"


def build_request(session: Session, caller: Caller, args: Args) -> Request:
    """The selection every view shares: range and zone, creator, export format."""
    tz = args.get("tz") or str(get_value(session, "agency_timezone"))
    try:
        window = period(_date(args, "start"), _date(args, "end"), tz)
        previous = window.previous()
    except PeriodError as exc:
        raise ApiError(400, "bad_parameter", str(exc)) from None
    creator = None
    if key := args.get("creator"):
        creator = visible_creator(session, caller.creators, key)
    limit = caller.creators
    # Plain rows, not ORM objects: this runs on every view, for every chatter.
    people = [
        Person(*row) for row in session.execute(select(Chatter.id, Chatter.key, Chatter.name))
    ]
    assignments: dict[int, set[int]] = {p.id: set() for p in people}
    for chatter_id, creator_id in session.execute(
        select(chatter_creators.c.chatter_id, chatter_creators.c.creator_id)
    ):
        assignments[chatter_id].add(creator_id)
    limited_to: list[Creator] = []
    if limit is not None:
        limited_to = list(
            session.scalars(select(Creator).where(Creator.id.in_(limit)).order_by(Creator.name))
        )
        mine = _chatters_of(session, limit, assignments, previous.start, window.end)
        people = [p for p in people if p.id in mine]
    currency, exponent = currency_exponent(session)
    return Request(
        caller=caller,
        args=args,
        period=window,
        previous=previous,
        creator=creator,
        people=sorted(people, key=lambda c: c.name.lower()),
        assignments=assignments,
        currency=currency,
        exponent=exponent,
        compare=_flag(args, "compare", True),
        fmt=_choice(args, "format", FORMATS, "json"),
        limited_to=limited_to,
        exclude_regular=bool(get_value(session, "exclude_regular_input")),
    )


def visible_creator(session: Session, limit: Collection[int] | None, key: str) -> Creator:
    """The creator ``key`` names, for a caller limited to the creators ``limit`` (None:
    every one).  A team lead learns nothing about other creators, not even which keys
    exist: another creator's key and a key nobody has are both 403 to them; to everyone
    else an unknown key is 400.  Shared by every API that filters by creator."""
    creator = session.scalar(select(Creator).where(Creator.key == key))
    if limit is not None and (creator is None or creator.id not in limit):
        raise ApiError(403, "forbidden", f"this login does not see the creator {key[:64]!r}")
    if creator is None:
        raise ApiError(400, "bad_parameter", f"unknown creator {key[:64]!r}")
    return creator


def _chatters_of(
    session: Session,
    creators: frozenset[int],
    assignments: dict[int, set[int]],
    start: dt.datetime,
    end: dt.datetime,
) -> set[int]:
    """A limited manager's chatters: assigned to one of their creators, or credited
    with a sale of one around the range (rows a creator's selection shows, METRICS.md)."""
    mine = {c for c, assigned in assignments.items() if not creators.isdisjoint(assigned)}
    credited = select(SalesDay.chatter_id).where(
        SalesDay.creator_id.in_(sorted(creators)),
        SalesDay.chatter_id.is_not(None),
        SalesDay.day >= epoch(start) // DAY * DAY,  # UTC days: the one the range starts in
        SalesDay.day < epoch(end),
    )
    mine.update(c for (c,) in session.execute(credited.distinct()) if c is not None)
    return mine


# The body the API sends as JSON, or the table it sends as a CSV or Excel file.
Report = dict[str, Any] | Table


def chatters(session: Session, req: Request, *, medians: bool | None = None) -> Report:
    """All chatters' metrics, the selection's totals, search ``q``, ``sort``/``order``.

    The median response time needs every sample of the range, which costs more than
    every other figure together; it is left out when the caller shows no median (an
    export whose ``columns`` lack it, or ``medians=False``).
    """
    if medians is None:
        wanted = req.args.get("columns")
        medians = not wanted or "median_response_seconds" in wanted.split(",")
    if not medians and req.args.get("sort") == "median_response_seconds":
        medians = True
    now = req.totals(session, req.period, medians=medians)
    before: dict[int | None, ChatterMetrics] = {}
    if req.compare:
        before = req.totals(session, req.previous, medians=medians)
    own = req.own_chatter
    shown: list[tuple[str | None, str, int | None]] = []
    for chatter in req.people:
        if own is not None and chatter.id != own:
            continue
        chosen = req.creator_ids
        if (
            chosen is not None
            and chatter.id not in now
            and chosen.isdisjoint(req.assignments[chatter.id])
        ):
            continue
        shown.append((chatter.key, chatter.name, chatter.id))
    if own is None and None in now:
        shown.append((None, "Unattributed", None))
    ids = [chatter_id for _, _, chatter_id in shown]
    query = (req.args.get("q") or "").strip().lower()
    # A search looks for chatters by name or key; the unattributed row is not one.
    rows = [
        _chatter_row(req, key, name, now, before, chatter_id, medians)
        for key, name, chatter_id in shown
        if not query or (key is not None and (query in name.lower() or query in key))
    ]
    rows = _sorted(req.args, rows)
    if req.fmt != "json":
        columns = _export_columns(req.args, present.CHATTER_COLUMNS)
        return req.export("All chatters", columns, rows, "chatters")
    body = {**req.base(), "chatters": rows}
    totals = combined(now.get(i, ChatterMetrics()) for i in ids)
    body["totals"] = present.metric_fields(totals, req.exponent, medians=False)
    if req.compare:
        old = combined(before.get(i, ChatterMetrics()) for i in ids)
        body["previous_totals"] = present.metric_fields(old, req.exponent, medians=False)
        change = present.change(body["totals"], body["previous_totals"], req.exponent)
        body["totals_change"] = change
    return body


SORTABLE = frozenset(c.key for c in present.CHATTER_COLUMNS)


def _sorted(args: Args, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in the order asked for; rows without a value go last either way."""
    key = args.get("sort") or "name"
    if key not in SORTABLE:
        allowed = ", ".join(sorted(SORTABLE))
        raise ApiError(400, "bad_parameter", f"sort={key!r}: use one of {allowed}")
    descending = _choice(args, "order", ORDERS, "asc") == "desc"

    def value(row: dict[str, Any]) -> Any:
        raw = row.get(key)
        if isinstance(raw, str) and key in present.MONEY_FIELDS:
            return Decimal(raw)
        return raw.lower() if isinstance(raw, str) else raw

    present_rows = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]
    present_rows.sort(key=lambda r: str(r["name"]).lower())  # ties: by name
    present_rows.sort(key=value, reverse=descending)
    return present_rows + missing


def _export_columns(args: Args, columns: list[Any]) -> list[Any]:
    """``columns=a,b,c`` exports those columns in that order (what a page shows)."""
    raw = args.get("columns")
    if not raw:
        return columns
    by_key = {c.key: c for c in columns}
    wanted = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in by_key]
    if unknown or not wanted:
        allowed = ", ".join(by_key)
        raise ApiError(400, "bad_parameter", f"columns: unknown {unknown}; use of {allowed}")
    return [by_key[name] for name in wanted]


def _chatter_row(
    req: Request,
    key: str | None,
    name: str,
    now: dict[int | None, ChatterMetrics],
    before: dict[int | None, ChatterMetrics],
    chatter_id: int | None,
    medians: bool = True,
) -> dict[str, Any]:
    metrics = now.get(chatter_id, ChatterMetrics())
    fields = present.metric_fields(metrics, req.exponent, medians=medians)
    # METRICS.md: under one creator, a chatter assigned to several shows all their activity.
    fields["activity_shared"] = req.selection(req.period).shared(req.assignments, chatter_id)
    row: dict[str, Any] = {"key": key, "name": name, **fields}
    if req.compare:
        old_metrics = before.get(chatter_id, ChatterMetrics())
        old = present.metric_fields(old_metrics, req.exponent, medians=medians)
        row["previous"] = old
        row["change"] = present.change(fields, old, req.exponent)
    return row


def find_chatter(req: Request, key: str) -> Person:
    # A chatter learns nothing about other keys, not even whether they exist; nor does
    # a limited manager about chatters outside their creators (not in req.people).
    own = req.own_chatter
    chatter = next((c for c in req.people if c.key == key), None)
    if own is not None and (chatter is None or chatter.id != own):
        raise ApiError(403, "forbidden", "a chatter sees only their own numbers")
    if chatter is None and req.caller.limited:
        raise ApiError(403, "forbidden", "this login sees only the chatters of its creators")
    if chatter is None:
        raise ApiError(404, "not_found", f"no chatter {key!r}")
    return chatter


def daily(session: Session, req: Request, key: str) -> Report:
    """One chatter's metrics per local day, every day of the range present."""
    chatter = find_chatter(req, key)
    connection = session.connection()
    days = queries.daily(connection, req.selection(req.period, chatter), req.assignments)
    rows = [_day_row(req, day, m) for day, m in days]
    if req.fmt != "json":
        columns = _export_columns(req.args, present.DAILY_COLUMNS)
        return req.export(f"Daily {chatter.name}", columns, rows, f"daily_{key}")
    body = {**req.base(), "chatter": {"key": chatter.key, "name": chatter.name}, "days": rows}
    whole = req.totals(session, req.period, chatter)
    body["totals"] = present.metric_fields(whole.get(chatter.id, ChatterMetrics()), req.exponent)
    if req.compare:
        old = req.totals(session, req.previous, chatter)
        body["previous_totals"] = present.metric_fields(
            old.get(chatter.id, ChatterMetrics()), req.exponent
        )
        body["change"] = present.change(body["totals"], body["previous_totals"], req.exponent)
    return body


def _day_row(req: Request, day: dt.date, m: ChatterMetrics) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "active_seconds": m.active_seconds,
        "inactive_seconds": m.inactive_seconds,
        "paused_seconds": m.paused_seconds,
        "online_seconds": m.online_seconds,
        "regular_seconds": m.regular_seconds,
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


def top(session: Session, req: Request) -> Report:
    """Chatters ranked by a measure, with each one's share of the total (additive measures)."""
    by = _choice(req.args, "by", TOP_MEASURES, "revenue")
    limit = _limit(req.args)
    now = req.totals(session, req.period, medians=False)
    before: dict[int | None, ChatterMetrics] = {}
    if req.compare:
        before = req.totals(session, req.previous, medians=False)
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
        # The total splits into the ranked chatters, the other chatters, and what
        # no chatter is credited with (unattributed sales): each is its own slice.
        shown = sum(v for _, v in ranked[:limit])
        nobody = _measure(by, now.get(None, ChatterMetrics())) or 0
        rest = total - shown - nobody
        body["total"] = _shown(req, by, total)
        body["others"] = _shown(req, by, rest)
        body["others_share"] = rest / total if total else None
        body["unattributed"] = _shown(req, by, nobody)
        body["unattributed_share"] = nobody / total if total else None
    return body


def _shown(req: Request, by: str, value: int | float | None) -> Any:
    if value is None:
        return None
    return req.money(int(value)) if by == "revenue" else value


def _limit(args: Args) -> int:
    return text.whole_parameter(args, "limit", 10, 1000)


def revenue(session: Session, req: Request) -> Report:
    """PPV sales and tips per local day or hour, for all creators or one (or one chatter)."""
    interval = _choice(req.args, "interval", INTERVALS, "day")
    chatter = None
    if key := req.args.get("chatter"):
        chatter = find_chatter(req, key)
    elif req.own_chatter is not None:
        raise ApiError(403, "forbidden", "a chatter sees only their own numbers (chatter=KEY)")
    connection = session.connection()
    points = queries.revenue(connection, req.selection(req.period, chatter), interval)
    series = [_point(req, interval, p) for p in points]
    if req.fmt != "json":
        stem = f"revenue_{interval}" + (f"_{chatter.key}" if chatter else "")
        return req.export("Revenue", present.revenue_columns(interval), series, stem)
    body = {**req.base(), "interval": interval, "chatter": chatter.key if chatter else None}
    body["series"] = series
    body["totals"] = _sum_points(req, points)
    if req.compare:
        previous = req.selection(req.previous, chatter)
        old_points = queries.revenue(connection, previous, interval)
        body["previous_series"] = [_point(req, interval, p) for p in old_points]
        body["previous_totals"] = _sum_points(req, old_points)
        body["change"] = present.change(body["totals"], body["previous_totals"], req.exponent)
    return body


def _point(req: Request, interval: str, p: queries.RevenuePoint) -> dict[str, Any]:
    point: dict[str, Any] = {"start": p.start.isoformat()}
    if interval == "day":
        point["date"] = p.start.date().isoformat()
    point.update(ppv=req.money(p.ppv_sales), tips=req.money(p.tips), total=req.money(p.total))
    return point


def _sum_points(req: Request, points: list[queries.RevenuePoint]) -> dict[str, str]:
    ppv = sum(p.ppv_sales for p in points)
    tips = sum(p.tips for p in points)
    return {"ppv": req.money(ppv), "tips": req.money(tips), "total": req.money(ppv + tips)}


# The fan views (collector/stats/fans.py) read their parameters the same way.
choice = _choice
export_columns = _export_columns
