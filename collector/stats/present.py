"""Metrics as the API shows them (money as decimal strings) and as export tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from collector.stats.metrics import ChatterMetrics
from collector.stats.periods import difference
from collector.stats.tables import Column
from shared.money import format_amount

# Fields holding money (decimal strings): their change is a decimal string too.
MONEY_FIELDS = frozenset(
    {
        "total_sales",
        "ppv_sales",
        "tips",
        "refunds",
        "unmatched_refunds",
        "revenue_per_active_hour",
        "ppv",
        "total",
    }
)


def metric_fields(m: ChatterMetrics, exponent: int, *, medians: bool = True) -> dict[str, Any]:
    def money(minor: int) -> str:
        return format_amount(minor, exponent)

    active_hours = m.active_seconds / 3600
    fields: dict[str, Any] = {
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
        "regular_seconds": m.regular_seconds,
        "avg_response_seconds": m.avg_response_seconds,
        "responses": m.responses,
        "revenue_per_active_hour": None
        if active_hours == 0
        else money(round(m.total_sales / active_hours)),
        "activity_shared": m.activity_shared,
    }
    if medians:
        fields["median_response_seconds"] = m.median_response_seconds
    return fields


def change(now: Mapping[str, Any], before: Mapping[str, Any], exponent: int) -> dict[str, Any]:
    """Current minus previous for every numeric field (``periods.difference``); money
    fields, decimal strings here, stay decimal strings."""

    def parsed(fields: Mapping[str, Any]) -> dict[str, Any]:
        return {
            name: Decimal(value) if name in MONEY_FIELDS and value is not None else value
            for name, value in fields.items()
        }

    delta = difference(parsed(now), parsed(before))
    for name in MONEY_FIELDS & delta.keys():
        if delta[name] is not None:
            delta[name] = format_amount(int(delta[name].scaleb(exponent)), exponent)
    return delta


def _columns(spec: Sequence[tuple[str, str, Any]]) -> list[Column]:
    return [Column(key, title, kind) for key, title, kind in spec]


CHATTER_COLUMNS = _columns(
    [
        ("name", "Chatter", "text"),
        ("key", "Key", "text"),
        ("total_sales", "Total sales", "money"),
        ("ppv_sales", "PPV sales", "money"),
        ("tips", "Tips", "money"),
        ("refunds", "Refunds", "money"),
        ("ppv_sent", "Sent PPVs", "integer"),
        ("ppv_bought", "Bought PPVs", "integer"),
        ("ppv_purchase_rate", "PPV purchase rate", "ratio"),
        ("messages_sent", "Messages sent", "integer"),
        ("mass_messages_sent", "Mass messages", "integer"),
        ("automated_messages_sent", "Automated messages", "integer"),
        ("ppv_per_message", "PPVs per message", "number"),
        ("keystrokes", "Keystrokes", "integer"),
        ("online_seconds", "Online", "duration"),
        ("active_seconds", "Active", "duration"),
        ("inactive_seconds", "Inactive", "duration"),
        ("paused_seconds", "Paused", "duration"),
        ("regular_seconds", "Regular input", "duration"),
        ("avg_response_seconds", "Avg response", "duration"),
        ("median_response_seconds", "Median response", "duration"),
        ("responses", "Responses", "integer"),
        ("revenue_per_active_hour", "Revenue per active hour", "money"),
    ]
)

DAILY_COLUMNS = _columns(
    [
        ("date", "Date", "date"),
        ("online_seconds", "Online", "duration"),
        ("active_seconds", "Active", "duration"),
        ("inactive_seconds", "Inactive", "duration"),
        ("paused_seconds", "Paused", "duration"),
        ("regular_seconds", "Regular input", "duration"),
        ("total_revenue", "Total sales", "money"),
        ("ppv_sales", "PPV sales", "money"),
        ("tips", "Tips", "money"),
        ("avg_response_seconds", "Avg response", "duration"),
        ("responses", "Responses", "integer"),
        ("messages_sent", "Messages sent", "integer"),
        ("ppv_sent", "Sent PPVs", "integer"),
        ("ppv_bought", "Bought PPVs", "integer"),
        ("keystrokes", "Keystrokes", "integer"),
    ]
)

TOP_VALUE_KIND = {
    "revenue": "money",
    "activity": "duration",
    "messages": "integer",
    "response_time": "duration",
}


def top_columns(by: str) -> list[Column]:
    return _columns(
        [
            ("rank", "Rank", "integer"),
            ("name", "Chatter", "text"),
            ("key", "Key", "text"),
            ("value", by.replace("_", " ").capitalize(), TOP_VALUE_KIND[by]),
            ("share", "Share", "ratio"),
            ("previous_value", "Previous period", TOP_VALUE_KIND[by]),
        ]
    )


def revenue_columns(interval: str) -> list[Column]:
    first = ("date", "Date", "date") if interval == "day" else ("start", "Hour", "datetime")
    return _columns(
        [
            first,
            ("ppv", "PPV sales", "money"),
            ("tips", "Tips", "money"),
            ("total", "Total", "money"),
        ]
    )
