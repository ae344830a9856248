"""The conversation-analytics reports behind /api/v1/stats/conversations.

Each builder takes the shared stats selection (collector/stats/reports.py:
range, zone, compare, format) and returns the JSON body or an export.  Every
number is read from the rollups (collector/conversations/queries.py) for the
range and, unless ``compare=false``, for the previous range of the same length.
Definitions: METRICS.md, "Conversation analytics".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from collector.conversations import feedback as conversation_feedback
from collector.conversations import metrics as m
from collector.conversations import queries
from collector.db import text
from collector.errors import ApiError
from collector.stats.periods import Period
from collector.stats.reports import INTERVALS, Report, Request, _choice, _limit
from collector.stats.tables import Column

MONEY = m.MONEY
MAX_PER_PAGE = 500


def check_request(req: Request) -> None:
    """Conversations are the agency's, not a creator's."""
    if req.args.get("creator"):
        raise ApiError(400, "bad_parameter", "conversation analytics take no creator")


def _money(req: Request, value: int | None) -> str | None:
    return None if value is None else req.money(value)


def fields(req: Request, item: m.Summary | m.AgentMetrics) -> dict[str, Any]:
    """Every figure by name; money as decimal strings."""
    return {
        name: _money(req, value) if name in MONEY else value  # type: ignore[arg-type]
        for name, value in m.figures(item).items()
    }


def change(req: Request, now: m.Summary | m.AgentMetrics, before: Any) -> dict[str, Any]:
    delta = m.change(m.figures(now), m.figures(before))
    return {
        name: _money(req, value) if name in MONEY else value  # type: ignore[arg-type]
        for name, value in delta.items()
    }


def _periods(req: Request) -> list[Period]:
    return [req.period, req.previous] if req.compare else [req.period]


def _range_label(p: Period) -> str:
    return f"{p.first} to {p.last}"


# Summary.

SUMMARY_FIELDS: list[tuple[str, str, Any]] = [
    ("requests", "Requests", "integer"),
    ("requests_agent_initiated", "Agent-initiated requests", "integer"),
    ("requests_visitor_initiated", "Visitor-initiated requests", "integer"),
    ("text_requests", "Text requests", "integer"),
    ("video_requests", "Video call requests", "integer"),
    ("conversations", "Conversations", "integer"),
    ("text_conversations", "Text conversations", "integer"),
    ("video_conversations", "Video call conversations", "integer"),
    ("avg_duration_seconds", "Avg duration", "duration"),
    ("unsuccessful_requests", "Unsuccessful requests", "integer"),
    ("unanswered_visitor_requests", "Unanswered visitor requests", "integer"),
    ("agent_acceptance_rate", "Agent acceptance rate", "ratio"),
    ("visitor_acceptance_rate", "Visitor acceptance rate", "ratio"),
    ("orders", "Attributed orders", "integer"),
    ("attributed_gmv", "Attributed GMV", "money"),
    ("aov", "AOV", "money"),
    ("conversion_rate", "Conversion rate", "ratio"),
    ("visitors_in_conversation", "Visitors in a conversation", "integer"),
    ("converted_visitors", "Converted visitors", "integer"),
    ("visitors_with_impression", "Visitors with impression", "integer"),
    ("visitors_with_click", "Visitors with click", "integer"),
    ("widget_ctr", "Widget CTR", "ratio"),
    ("visitors_with_request", "Visitors who asked", "integer"),
    ("request_rate", "Request rate", "ratio"),
    ("auto_message_clicks", "Auto-message clicks", "integer"),
    ("nps_responses", "NPS responses", "integer"),
    ("nps_rated", "NPS ratings", "integer"),
    ("nps_average", "NPS average", "number"),
]


def _breakdown(cells: list[m.Breakdown]) -> list[dict[str, Any]]:
    return [
        {
            "initiator": c.initiator,
            "channel": c.channel,
            "requests": c.requests,
            "conversations": c.conversations,
            "unsuccessful": c.unsuccessful,
        }
        for c in cells
    ]


def _read_summaries(connection: Connection, req: Request) -> tuple[queries.Summaries, int]:
    """The range's summary read with its previous period's (one read when they adjoin).

    Returns the read and the slot of the range in it (the previous period's is slot 0).
    """
    kinds = (*queries.SUMMARY_SETS, "auto")
    bounds = queries.period_bounds(req.period)
    if not req.compare:
        return queries.read_summaries(connection, bounds, kinds), 0
    before = queries.period_bounds(req.previous)
    if before[1] == bounds[0]:
        return queries.read_summaries(connection, [before[0], *bounds], kinds), 1
    old = queries.read_summaries(connection, before, queries.SUMMARY_SETS)
    now = queries.read_summaries(connection, bounds, kinds)
    joined = queries.Summaries(
        old.summaries + now.summaries, old.sums + now.sums, old.sets + now.sets
    )
    return joined, 1


def summary(session: Session, req: Request) -> Report:
    """The range's key figures, breakdown, top pages and auto messages."""
    check_request(req)
    limit = _limit(req.args)
    connection = session.connection()
    read, slot = _read_summaries(connection, req)
    now = read.summaries[slot]
    before = read.summaries[0] if req.compare else None
    if req.fmt != "json":
        rows = [{"period": _range_label(req.period), **fields(req, now)}]
        if before is not None:
            rows.append({"period": _range_label(req.previous), **fields(req, before)})
            rows.append({"period": "Change", **change(req, now, before)})
        columns = [Column("period", "Period", "text")] + [
            Column(k, t, kind) for k, t, kind in SUMMARY_FIELDS
        ]
        return req.export("Conversations", columns, rows, "conversations", by_creator=False)
    body: dict[str, Any] = {**_base(req), "summary": fields(req, now)}
    body["breakdown"] = _breakdown(queries.breakdown(read.sums[slot]))
    body["top_urls"] = [
        {"url": c.key, "requests": c.count, "conversations": c.second}
        for c in queries.top_urls(connection, req.period, limit)
    ]
    body["top_auto_messages"] = [
        {"trigger_id": c.key, "clicks": c.count, "visitors": c.second}
        for c in queries.ranked_auto_messages(read.sets[slot], limit)
    ]
    if before is not None:
        body["previous"] = fields(req, before)
        body["change"] = change(req, now, before)
    return body


def _base(req: Request) -> dict[str, Any]:
    body = req.base()
    body.pop("creator", None)
    return body


# Agents.

AGENT_COLUMNS = [
    Column("name", "Agent", "text"),
    Column("key", "Key", "text"),
    Column("avg_rating", "Average rating", "number"),
    Column("nps_rated", "Ratings", "integer"),
    Column("requests", "Requests", "integer"),
    Column("agent_initiated_requests", "Agent-initiated requests", "integer"),
    Column("acceptance_rate", "Acceptance rate", "ratio"),
    Column("conversations", "Conversations", "integer"),
    Column("unanswered_visitor_requests", "Unanswered visitor requests", "integer"),
    Column("attributed_orders", "Attributed orders", "integer"),
    Column("attributed_sales", "Attributed sales", "money"),
]


# The sums a leaderboard row and its days use.
AGENT_SUMS = (
    *(f"{kind}_{i}_{c}" for kind in ("req", "conv") for i in m.INITIATORS for c in m.CHANNELS),
    "orders",
    "gmv",
    "nps_rated",
    "nps_total",
)


def agents(session: Session, req: Request) -> Report:
    """The agent leaderboard, highest attributed sales first, with each agent's days."""
    check_request(req)
    connection = session.connection()
    names = {p.id: p for p in req.people}
    days = queries.sum_grid(connection, queries.day_bounds(req.period), columns=AGENT_SUMS)
    # The local days partition the range: their sum is the range's (exact integers).
    now = queries.agents(days.totals())
    before: dict[int, m.AgentMetrics] = {}
    if req.compare:
        previous = queries.period_bounds(req.previous)
        before = queries.agents(queries.sum_grid(connection, previous, columns=AGENT_SUMS).totals())
    trends = _agent_trends(req, days, list(now))
    rows = []
    for agent_id, metrics in now.items():
        person = names.get(agent_id)
        row: dict[str, Any] = {
            "key": person.key if person else None,
            "name": person.name if person else f"#{agent_id}",
            **fields(req, metrics),
        }
        if req.compare:
            old = before.get(agent_id, m.AgentMetrics())
            row["previous"] = fields(req, old)
            row["change"] = change(req, metrics, old)
        row["trend"] = trends[agent_id]
        rows.append(row)
    rows.sort(key=lambda r: str(r["name"]).lower())
    rows.sort(key=lambda r: (-now_sales(r, req), -int(r["conversations"])))
    if req.fmt != "json":
        return req.export("Agents", AGENT_COLUMNS, rows, "conversation_agents", by_creator=False)
    return {**_base(req), "agents": rows}


def _agent_trends(
    req: Request, days: queries.SumGrid, wanted: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """Each wanted agent's points, one per local day of the range (columns added in numpy)."""
    index = {agent: i for i, agent in enumerate(days.agents)}
    picked = days.values[:, [index[a] for a in wanted], :]  # (days, agents, AGENT_SUMS)
    col = {name: picked[:, :, i] for i, name in enumerate(days.columns)}
    by_agent = col["req_agent_text"] + col["req_agent_video"]
    accepted = col["conv_agent_text"] + col["conv_agent_video"]
    series = {
        "requests": by_agent + col["req_visitor_text"] + col["req_visitor_video"],
        "agent_initiated_requests": by_agent,
        "accepted": accepted,
        "conversations": accepted + col["conv_visitor_text"] + col["conv_visitor_video"],
        "attributed_orders": col["orders"],
        "gmv": col["gmv"],
        "nps_rated": col["nps_rated"],
        "nps_total": col["nps_total"],
    }
    # Plain ints per agent and day (agents first), so every figure below is Python's.
    per_agent = {name: values.T.tolist() for name, values in series.items()}
    dates = [day.isoformat() for day in req.period.days()]
    money = req.money
    found: dict[int, list[dict[str, Any]]] = {}
    for i, agent in enumerate(wanted):
        columns = [per_agent[name][i] for name in series]
        points = []
        for date, requests, by, acc, conv, orders, gmv, rated, total in zip(
            dates, *columns, strict=True
        ):
            points.append(
                {
                    "date": date,
                    "requests": requests,
                    "agent_initiated_requests": by,
                    "acceptance_rate": acc / by if by else None,
                    "conversations": conv,
                    "attributed_orders": orders,
                    "attributed_sales": money(gmv),
                    "avg_rating": total / rated if rated else None,
                }
            )
        found[agent] = points
    return found


def now_sales(row: Mapping[str, Any], req: Request) -> int:
    return int(Decimal(str(row["attributed_sales"])).scaleb(req.exponent))


# Trends.

_POINT_FIELDS: list[tuple[str, str, Any]] = [
    ("requests", "Requests", "integer"),
    ("requests_agent_initiated", "Agent-initiated requests", "integer"),
    ("requests_visitor_initiated", "Visitor-initiated requests", "integer"),
    ("text_requests", "Text requests", "integer"),
    ("video_requests", "Video call requests", "integer"),
    ("conversations", "Conversations", "integer"),
    ("visitors_with_impression", "Visitors with impression", "integer"),
    ("visitors_with_click", "Visitors with click", "integer"),
    ("widget_ctr", "Widget CTR", "ratio"),
    ("visitors_with_request", "Visitors who asked", "integer"),
    ("request_rate", "Request rate", "ratio"),
    ("agent_acceptance_rate", "Agent acceptance rate", "ratio"),
    ("visitor_acceptance_rate", "Visitor acceptance rate", "ratio"),
    ("nps_rated", "NPS ratings", "integer"),
    ("nps_average", "NPS average", "number"),
    ("orders", "Attributed orders", "integer"),
    ("attributed_gmv", "Attributed GMV", "money"),
]


def _series(req: Request, connection: Connection, p: Period, interval: str) -> list[dict[str, Any]]:
    bounds = queries.day_bounds(p) if interval == "day" else queries.hour_bounds(p)
    points = []
    for start, s in zip(bounds, queries.summaries(connection, bounds), strict=False):
        local = dt.datetime.fromtimestamp(start, dt.UTC).astimezone(p.tz)
        point: dict[str, Any] = {"start": local.isoformat()}
        if interval == "day":
            point["date"] = local.date().isoformat()
        values = fields(req, s)
        point.update((k, values[k]) for k, _, _ in _POINT_FIELDS)
        points.append(point)
    return points


def _hours(connection: Connection, p: Period) -> list[dict[str, int]]:
    return [
        {"hour": h.hour, "text_requests": h.text_requests, "video_requests": h.video_requests}
        for h in queries.hours_of_day(connection, p)
    ]


def trends(session: Session, req: Request) -> Report:
    """Every figure per local day or hour, and requests by hour of the day."""
    check_request(req)
    interval = _choice(req.args, "interval", INTERVALS, "day")
    connection = session.connection()
    series = _series(req, connection, req.period, interval)
    if req.fmt != "json":
        first = (
            Column("date", "Date", "date")
            if interval == "day"
            else Column("start", "Hour", "datetime")
        )
        columns = [first] + [Column(k, t, kind) for k, t, kind in _POINT_FIELDS]
        return req.export(
            "Conversation trends", columns, series, f"conversations_{interval}", by_creator=False
        )
    body: dict[str, Any] = {**_base(req), "interval": interval, "series": series}
    body["hours_of_day"] = _hours(connection, req.period)
    if req.compare:
        body["previous_series"] = _series(req, connection, req.previous, interval)
        body["previous_hours_of_day"] = _hours(connection, req.previous)
    return body


# NPS.

FEEDBACK_COLUMNS = [
    Column("date", "Date", "date"),
    Column("agent_name", "Agent", "text"),
    Column("rating", "Rating", "integer"),
    Column("feedback", "Feedback", "text"),
    Column("status", "Status", "text"),
    Column("visitor", "Visitor", "text"),
    Column("request_id", "Request", "text"),
    Column("event_id", "Event", "text"),
]


def _page(args: Mapping[str, str], name: str, default: int, highest: int) -> int:
    return text.whole_parameter(args, name, default, highest)


def feedback(
    session: Session, req: Request, p: Period, offset: int = 0, limit: int | None = None
) -> list[dict[str, Any]]:
    """Responses in the period with feedback text, newest first (as metrics.nps_feedback):
    ``limit`` of them from ``offset`` (all by default), read from the feedback facts."""
    people = {p.id: p for p in req.people}
    found = []
    rows = conversation_feedback.page(session.connection(), p.start, p.end, offset, limit)
    for at, event_id, agent_id, rating, attrs, status, visitor, ref in rows:
        person = people.get(agent_id) if agent_id is not None else None
        found.append(
            {
                "date": at.astimezone(p.tz).date().isoformat(),
                "at": at.isoformat().replace("+00:00", "Z"),
                "event_id": event_id,
                "agent": person.key if person else None,
                "agent_name": person.name if person else None,
                "rating": rating,
                "feedback": conversation_feedback.text_of(attrs),
                "status": status,
                "visitor": visitor,
                "request_id": ref,
            }
        )
    return found


def _distribution(counts: dict[int | None, int]) -> list[dict[str, Any]]:
    return [{"rating": r, "responses": counts[r]} for r in (*m.RATINGS, None)]


def nps(session: Session, req: Request) -> Report:
    """Ratings per value and the feedback detail, paginated by ``page`` and ``per_page``."""
    check_request(req)
    page = _page(req.args, "page", 1, 1_000_000)
    per_page = _page(req.args, "per_page", 50, MAX_PER_PAGE)
    if req.fmt != "json":
        items = feedback(session, req, req.period)
        return req.export("NPS feedback", FEEDBACK_COLUMNS, items, "nps_feedback", by_creator=False)
    connection = session.connection()
    total = conversation_feedback.total(connection, req.period.start, req.period.end)
    # Only the requested page's responses are read (a page past the end reads none).
    offset = (page - 1) * per_page
    items = feedback(session, req, req.period, offset, per_page) if offset < total else []
    found = []
    for p in _periods(req):
        sums = queries.total(queries.sums(connection, queries.period_bounds(p), by_agent=False)[0])
        found.append((queries.apply_sums(m.Summary(), sums), queries.distribution(sums)))
    figures: list[dict[str, Any]] = [
        {
            "responses": s.nps_responses,
            "rated": s.nps_rated,
            "average": s.nps_average,
            "distribution": _distribution(counts),
        }
        for s, counts in found
    ]
    pages = max(1, -(-total // per_page))
    body: dict[str, Any] = {**_base(req), **figures[0]}
    body["feedback"] = {
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": pages,
        "items": items,
    }
    if req.compare:
        body["previous"] = figures[1]
        now, before = found[0][0], found[1][0]
        delta = m.change(m.figures(now), m.figures(before))
        body["change"] = {
            "responses": delta["nps_responses"],
            "rated": delta["nps_rated"],
            "average": delta["nps_average"],
        }
    return body
