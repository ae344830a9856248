"""What the manager's stats page and a chatter's page show, built from the reports.

Each function returns the template's context: the report bodies (the API's own
numbers), the figures with their change, and the charts' data.  Chart values are
plain numbers for drawing only; every number a person reads is formatted on the
server from the exact value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.models import Creator, Device, Slice, User, chatter_creators
from collector.settings import get_value
from collector.stats import reports
from collector.web.colours import OTHERS, chatter_colour
from collector.web.formatting import change, shown
from collector.web.selection import PageSelection

# The all-chatters table on the stats page, in screen order; the export buttons ask
# the API for exactly these columns.
TABLE_COLUMNS = [
    ("name", "Chatter", "text"),
    ("total_sales", "Total sales", "money"),
    ("ppv_sales", "PPV sales", "money"),
    ("tips", "Tips", "money"),
    ("ppv_purchase_rate", "PPV purchase rate", "percent"),
    ("messages_sent", "Messages sent", "integer"),
    ("keystrokes", "Keystrokes", "integer"),
    ("online_seconds", "Online", "hm"),
    ("active_seconds", "Active", "hm"),
    ("inactive_seconds", "Inactive", "hm"),
    ("avg_response_seconds", "Avg response", "wait"),
]
DAILY_COLUMNS = [
    ("date", "Date", "date"),
    ("total_revenue", "Total sales", "money"),
    ("ppv_sales", "PPV sales", "money"),
    ("tips", "Tips", "money"),
    ("ppv_sent", "PPVs sent", "integer"),
    ("ppv_bought", "PPVs bought", "integer"),
    ("messages_sent", "Messages sent", "integer"),
    ("keystrokes", "Keystrokes", "integer"),
    ("online_seconds", "Online", "hm"),
    ("active_seconds", "Active", "hm"),
    ("inactive_seconds", "Inactive", "hm"),
    ("paused_seconds", "Paused", "hm"),
    ("avg_response_seconds", "Avg response", "wait"),
]
TOP_LABELS = {
    "revenue": "Revenue",
    "activity": "Active time",
    "messages": "Messages sent",
    "response_time": "Response time",
}
TOP_FORMATS = {"revenue": "money", "activity": "hm", "messages": "integer", "response_time": "wait"}
LOWER_IS_BETTER = frozenset({"avg_response_seconds", "median_response_seconds", "refunds"})


def figures(totals: Mapping[str, Any], previous: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The key figures of a selection, each with its change against the previous period."""

    def figure(
        name: str, label: str, fmt: str, split: list[tuple[str, str, str]]
    ) -> dict[str, Any]:
        before = previous.get(name) if previous is not None else None
        delta = (
            change(
                totals.get(name),
                before,
                lower_is_better=name in LOWER_IS_BETTER,
                points=fmt == "percent",
            )
            if previous is not None
            else None
        )
        return {
            "name": name,
            "label": label,
            "value": totals.get(name),
            "format": fmt,
            "previous": before,
            "change": delta,
            "split": [(text, _part(totals, key), kind) for key, text, kind in split],
        }

    return [
        figure(
            "total_sales",
            "Total sales",
            "money",
            [("ppv_sales", "PPV", "money"), ("tips", "Tips", "money")],
        ),
        figure(
            "ppv_purchase_rate",
            "PPV purchase rate",
            "percent",
            [("ppv_bought", "bought", "integer"), ("ppv_sent", "sent", "integer")],
        ),
        figure("messages_sent", "Messages sent", "integer", []),
        figure("keystrokes", "Keystrokes", "integer", []),
        figure(
            "online_seconds",
            "Online time",
            "hm",
            [("active_seconds", "active", "hm"), ("inactive_seconds", "inactive", "hm")],
        ),
        figure("avg_response_seconds", "Average response time", "wait", []),
    ]


def _part(totals: Mapping[str, Any], key: str) -> Any:
    """A figure's part; inactive time is online minus active in whole minutes, so the
    h:mm parts shown add up to the h:mm total (each rounds down on its own otherwise)."""
    if key == "inactive_seconds":
        online, active = totals.get("online_seconds"), totals.get("active_seconds")
        if online is not None and active is not None:
            return (online // 60 - active // 60) * 60
    return totals.get(key)


def _number(value: Any) -> float:
    """A value for a chart to draw (never shown as text)."""
    if value is None:
        return 0.0
    return float(Decimal(str(value)))


def creators(session: Session, user: User) -> list[tuple[str, str]]:
    """The creators this person may pick: all for managers, their own for a chatter."""
    query = select(Creator.key, Creator.name).order_by(Creator.name)
    if user.role == "chatter":
        query = query.join(chatter_creators, chatter_creators.c.creator_id == Creator.id).where(
            chatter_creators.c.chatter_id == user.chatter_id
        )
    return [(key, name) for key, name in session.execute(query)]


def stats_page(session: Session, req: reports.Request, sel: PageSelection) -> dict[str, Any]:
    # No median on this page: it would cost more than the rest of the page together
    # over long ranges; the API and exports offer it (METRICS.md).
    table = reports.chatters(session, req, medians=False)
    top = reports.top(session, req)
    revenue = reports.revenue(session, dataclasses.replace(req, compare=False))
    assert isinstance(table, dict) and isinstance(top, dict) and isinstance(revenue, dict)
    ids = {p.key: p.id for p in req.people}
    for row in table["chatters"]:
        row["colour"] = chatter_colour(ids.get(row["key"]) if row["key"] else None)
        # Formatted here, not cell by cell in the template: 200 rows x 11 cells.
        row["cells"] = [
            ("" if row[name] is None else row[name], shown(row[name], kind, req.currency))
            for name, _, kind in TABLE_COLUMNS[1:]
        ]
    for item in top["items"]:
        item["colour"] = chatter_colour(ids[item["key"]])
    by = top["by"]
    slices = [
        {"label": i["name"], "value": _number(i["value"]), "colour": i["colour"]}
        for i in top["items"]
    ]
    if top.get("others") is not None and _number(top["others"]) > 0:
        slices.append(
            {"label": "Other chatters", "value": _number(top["others"]), "colour": OTHERS}
        )
    if top.get("unattributed") is not None and _number(top["unattributed"]) > 0:
        unattributed = {"label": "Unattributed", "value": _number(top["unattributed"])}
        slices.append({**unattributed, "colour": chatter_colour(None)})
    has_activity = any(r["online_seconds"] for r in table["chatters"])
    has_sales = Decimal(table["totals"]["total_sales"]) != 0 or table["totals"]["messages_sent"]
    return {
        "sel": sel,
        "table": table,
        "top": top,
        "revenue": revenue,
        "figures": figures(table["totals"], table.get("previous_totals")),
        "columns": TABLE_COLUMNS,
        "export_columns": ",".join(name for name, _, _ in TABLE_COLUMNS),
        "top_label": TOP_LABELS[by],
        "top_format": TOP_FORMATS[by],
        "top_labels": TOP_LABELS,
        "others_colour": OTHERS,
        "unattributed_colour": chatter_colour(None),
        "empty": not has_activity and not has_sales,
        "charts": {
            "top": {
                "kind": "bar" if by == "response_time" else "pie",
                "slices": slices,
                "format": TOP_FORMATS[by],
                "currency": req.currency,
            },
            "revenue": {
                "labels": [p["date"] for p in revenue["series"]],
                "ppv": [_number(p["ppv"]) for p in revenue["series"]],
                "tips": [_number(p["tips"]) for p in revenue["series"]],
                "currency": req.currency,
            },
        },
    }


def chatter_page(
    session: Session, req: reports.Request, key: str, sel: PageSelection
) -> dict[str, Any]:
    daily = reports.daily(session, req, key)
    assert isinstance(daily, dict)
    person = reports.find_chatter(req, key)
    days = daily["days"]
    devices = session.scalars(
        select(Device).where(Device.chatter_id == person.id).order_by(Device.enrolled_at)
    ).all()
    recent = session.scalars(
        select(Slice).where(Slice.chatter_id == person.id).order_by(Slice.start.desc()).limit(10)
    ).all()
    has_data = any(d["online_seconds"] or d["messages_sent"] or d["responses"] for d in days)
    has_sales = any(Decimal(d["total_revenue"]) for d in days)
    return {
        "sel": sel,
        "daily": daily,
        "person": person,
        "colour": chatter_colour(person.id),
        "figures": figures(daily["totals"], daily.get("previous_totals")),
        "columns": DAILY_COLUMNS,
        "export_columns": ",".join(name for name, _, _ in DAILY_COLUMNS),
        "devices": devices,
        "recent_slices": recent,
        "slice_seconds": get_value(session, "slice_seconds", person.id),
        "idle_seconds": get_value(session, "idle_threshold_seconds", person.id),
        "empty": not has_data and not has_sales,
        "charts": {
            "revenue": {
                "labels": [d["date"] for d in days],
                "ppv": [_number(d["ppv_sales"]) for d in days],
                "tips": [_number(d["tips"]) for d in days],
                "currency": req.currency,
            },
            "activity": {
                "labels": [d["date"] for d in days],
                # Hours, for the axis; the table beside it shows h:mm.
                "active": [d["active_seconds"] / 3600 for d in days],
                "inactive": [d["inactive_seconds"] / 3600 for d in days],
                "paused": [d["paused_seconds"] / 3600 for d in days],
            },
        },
    }
