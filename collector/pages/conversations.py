"""The conversation analytics page, built from the API's report builders.

The page asks collector/conversations/reports.py exactly what the API answers for the
same selection (summary, agents, trends by day, NPS with one page of feedback), so a
number on the page is the API's number.  This module adds only what a person needs on
top: the key figures with their change, each agent's colour, and the charts' data.
Chart values are plain numbers for drawing; every number a person reads is formatted
from the exact value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import render_template, request, url_for
from sqlalchemy.orm import Session

from collector.auth import callers
from collector.auth.roles import MANAGERS
from collector.conversations import reports
from collector.db import text
from collector.http.auth import current_user, login_required
from collector.http.database import db
from collector.pages import bp, page_selection, report_request, selection
from collector.pages.colours import RATINGS, SERIES, chatter_colour
from collector.pages.columns import page_columns
from collector.pages.figures import Figure, chart_number, chart_percent, figures, partial_day
from collector.pages.selection import ALL_ZONES, PageSelection
from collector.stats.reports import Request
from shared.protocol import utc_now

PER_PAGE = 10  # feedback entries per page
MAX_PER_PAGE = reports.MAX_PER_PAGE
TREND_AGENTS = 8  # lines in the per-agent chart; its table has every agent

# The key figures; formats are the `fmt` filter's.
FIGURES = [
    Figure(
        "requests",
        "Requests",
        "integer",
        [
            ("requests_agent_initiated", "by agents", "integer"),
            ("requests_visitor_initiated", "by visitors", "integer"),
        ],
    ),
    Figure(
        "conversations",
        "Conversations",
        "integer",
        [
            ("text_conversations", "text", "integer"),
            ("video_conversations", "video call", "integer"),
        ],
    ),
    Figure(
        "avg_duration_seconds",
        "Average duration",
        "wait",
        neutral=True,  # longer talks are neither better nor worse
    ),
    Figure(
        "agent_acceptance_rate",
        "Agent acceptance rate",
        "percent",
        [("requests_agent_initiated", "requests", "integer")],
    ),
    Figure(
        "visitor_acceptance_rate",
        "Visitor acceptance rate",
        "percent",
        [("requests_visitor_initiated", "requests", "integer")],
    ),
    Figure(
        "unanswered_visitor_requests",
        "Unanswered visitor requests",
        "integer",
        lower_is_better=True,
    ),
    Figure(
        "attributed_gmv",
        "Attributed sales",
        "money",
        [("orders", "orders", "integer"), ("aov", "AOV", "money")],
    ),
    Figure(
        "conversion_rate",
        "Conversion rate",
        "percent",
        [
            ("converted_visitors", "bought", "integer"),
            ("visitors_in_conversation", "in a conversation", "integer"),
        ],
    ),
    Figure(
        "widget_ctr",
        "Widget CTR",
        "percent",
        [
            ("visitors_with_click", "clicked", "integer"),
            ("visitors_with_impression", "saw it", "integer"),
        ],
    ),
    Figure(
        "request_rate",
        "Request rate",
        "percent",
        [("visitors_with_request", "visitors asked", "integer")],
    ),
    Figure(
        "nps_average",
        "NPS average (1–5)",
        "number",
        [("nps_rated", "ratings", "integer")],
        absolute=True,  # an average rating changes by its difference
    ),
    Figure(
        "auto_message_clicks",
        "Auto-message clicks",
        "integer",
    ),
]

# The leaderboard, in screen order (the API's agents export has these and a few more).
LEADERBOARD = page_columns(
    reports.AGENT_COLUMNS,
    [
        ("avg_rating", "number"),
        ("agent_initiated_requests", "integer"),
        ("acceptance_rate", "percent"),
        ("conversations", "integer"),
        ("attributed_sales", "money"),
        ("attributed_orders", "integer"),
    ],
)
# What the per-agent trend can show: name -> (label, format).
# Every leaderboard measure the issue lists, over the range, per agent.
AGENT_METRICS: dict[str, tuple[str, str]] = {
    "conversations": ("Conversations", "integer"),
    "requests": ("Requests", "integer"),
    "agent_initiated_requests": ("Agent-initiated requests", "integer"),
    "acceptance_rate": ("Acceptance rate", "percent"),
    "attributed_sales": ("Attributed sales", "money"),
    "attributed_orders": ("Attributed orders", "integer"),
    "avg_rating": ("Average rating", "number"),
}
DEFAULT_METRIC = "conversations"


@dataclass(frozen=True)
class Choices:
    """The page's own choices besides the selection; stale values fall back quietly."""

    page: int = 1
    per_page: int = PER_PAGE
    metric: str = DEFAULT_METRIC

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Choices:
        def whole(name: str, default: int, highest: int) -> int:
            value = text.whole_number(args.get(name, ""), 1, highest)
            return default if value is None else value

        metric = args.get("metric", "")
        return cls(
            page=whole("page", 1, 1_000_000),
            per_page=whole("per_page", PER_PAGE, MAX_PER_PAGE),
            metric=metric if metric in AGENT_METRICS else DEFAULT_METRIC,
        )

    def state(self) -> dict[str, str]:
        """What the page's links keep (defaults left out)."""
        found = {}
        if self.per_page != PER_PAGE:
            found["per_page"] = str(self.per_page)
        if self.metric != DEFAULT_METRIC:
            found["metric"] = self.metric
        return found


def _nps(session: Session, req: Request, choices: Choices) -> dict[str, Any]:
    """The NPS report with one page of feedback; a page past the last shows the last."""

    def ask(page: int) -> dict[str, Any]:
        args = {**req.args, "page": str(page), "per_page": str(choices.per_page)}
        body = reports.nps(session, dataclasses.replace(req, args=args))
        assert isinstance(body, dict)
        return body

    body = ask(choices.page)
    if choices.page > body["feedback"]["pages"]:
        body = ask(body["feedback"]["pages"])
    return body


def _has_traffic(summary: Mapping[str, Any]) -> bool:
    names = (
        "requests",
        "visitors_with_impression",
        "visitors_with_click",
        "auto_message_clicks",
        "nps_responses",
        "orders",
    )
    return any(summary.get(name) for name in names)


def build(session: Session, req: Request, sel: PageSelection, choices: Choices) -> dict[str, Any]:
    """The template's context: the reports' bodies, figures, colours, charts."""
    summary = reports.summary(session, req)
    agents = reports.agents(session, req)
    trends = reports.trends(session, dataclasses.replace(req, compare=False))
    assert isinstance(summary, dict) and isinstance(agents, dict) and isinstance(trends, dict)
    nps = _nps(session, req, choices)
    ids = {p.key: p.id for p in req.people}
    colours = {p.key: chatter_colour(p.id) for p in req.people}
    rows = agents["agents"]
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
        row["colour"] = chatter_colour(ids.get(row["key"]) if row["key"] else None)
    for item in nps["feedback"]["items"]:
        item["colour"] = colours.get(item["agent"]) if item["agent"] else None
    series = trends["series"]
    days = [p["date"] for p in series]
    metric_label, metric_format = AGENT_METRICS[choices.metric]
    drawn = rows[:TREND_AGENTS]
    metric_number = chart_percent if metric_format == "percent" else chart_number
    distribution = nps["distribution"]
    return {
        "sel": sel,
        "choices": choices,
        "currency": summary["currency"],
        "summary": summary,
        "agents": rows,
        "trends": trends,
        "nps": nps,
        "figures": figures(FIGURES, summary["summary"], summary.get("previous")),
        "leaderboard": LEADERBOARD,
        "agent_metrics": AGENT_METRICS,
        "metric_label": metric_label,
        "metric_format": metric_format,
        "trend_agents": TREND_AGENTS,
        "rating_colours": RATINGS,
        "empty": not _has_traffic(summary["summary"]),
        "charts": {
            "colours": SERIES,
            "today": partial_day(sel, utc_now()),
            "daily": {
                "labels": days,
                "agent": [p["requests_agent_initiated"] for p in series],
                "visitor": [p["requests_visitor_initiated"] for p in series],
                "conversations": [p["conversations"] for p in series],
            },
            "rates": {
                "labels": days,
                "ctr": [chart_percent(p["widget_ctr"]) for p in series],
                "visitor": [chart_percent(p["visitor_acceptance_rate"]) for p in series],
                "agent": [chart_percent(p["agent_acceptance_rate"]) for p in series],
            },
            "rating": {
                "labels": days,
                "average": [chart_number(p["nps_average"]) for p in series],
            },
            "hours": {
                "labels": [f"{h['hour']:02d}:00" for h in trends["hours_of_day"]],
                "text": [h["text_requests"] for h in trends["hours_of_day"]],
                "video": [h["video_requests"] for h in trends["hours_of_day"]],
            },
            "distribution": {
                "labels": [_rating_label(d["rating"]) for d in distribution],
                "values": [d["responses"] for d in distribution],
                "colours": RATINGS,
            },
            "agents": {
                "labels": days,
                "metric": metric_label,
                "format": metric_format,
                "currency": summary["currency"],
                "lines": [
                    {
                        "label": row["name"],
                        "colour": row["colour"],
                        "values": [metric_number(d[choices.metric]) for d in row["trend"]],
                    }
                    for row in drawn
                ],
            },
        },
    }


def _rating_label(rating: int | None) -> str:
    return "No rating" if rating is None else f"{rating} ★"


@bp.get("/conversations")
@login_required(*MANAGERS)
def conversations_page() -> str:
    """Conversation analytics: the chat widget's figures, trends, ratings and agents."""
    user = current_user()
    assert user is not None
    # The shop's conversations are no creator's: a manager limited to creators is refused.
    callers.refuse_limited(callers.of_user(user, MANAGERS), "conversation analytics")
    # The shop is the agency's, not a creator's: a creator in a link is left out.
    sel = page_selection([], {k: v for k, v in request.args.items() if k != "creator"})
    choices = Choices.from_args(request.args)
    context = build(db.session, report_request(sel.query()), sel, choices)

    def here(**changes: Any) -> str:
        """This page with some choices changed; the selection and the others kept."""
        merged = {**sel.state(), **choices.state(), **changes}
        return url_for("pages.conversations_page", **{k: v for k, v in merged.items() if v})

    return render_template(
        "conversations.html",
        **context,
        presets=selection.PRESETS,
        zones=ALL_ZONES,
        here=here,
        creator_ignored=bool(request.args.get("creator")),
    )
