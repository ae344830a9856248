"""Key figures: a page's headline numbers, each with its change against the previous period,
and the numbers charts draw.  Every page builds its figures here, with one change rule
(``formatting.change``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from collector.pages.formatting import NO_COMPARISON, NONE_BEFORE, change, online_parts
from collector.pages.selection import PageSelection
from collector.stats.periods import zone

# A figure's parts shown under it: (field, text, format).
Split = list[tuple[str, str, str]]


@dataclass(frozen=True)
class Figure:
    """One headline number; ``fmt`` is the ``fmt`` filter's kind."""

    name: str
    label: str
    fmt: str
    split: Split = field(default_factory=list)
    lower_is_better: bool = False
    absolute: bool = False  # changes by its difference (an average rating)
    neutral: bool = False  # a change is neither good nor bad


Part = Callable[[Mapping[str, Any], str], Any]


def _field(values: Mapping[str, Any], name: str) -> Any:
    return values.get(name)


def figures(
    specs: Sequence[Figure],
    values: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    part: Part = _field,
) -> list[dict[str, Any]]:
    """The template's figures: value, previous value, change, and parts."""
    found = []
    for spec in specs:
        now = values.get(spec.name)
        before = previous.get(spec.name) if previous is not None else None
        delta = None
        if previous is not None:
            delta = change(
                now,
                before,
                lower_is_better=spec.lower_is_better,
                points=spec.fmt == "percent",
                absolute=spec.absolute,
                neutral=spec.neutral,
            )
        found.append(
            {
                "name": spec.name,
                "label": spec.label,
                "value": now,
                "format": spec.fmt,
                "previous": before,
                "change": delta,
                # "(was …)" only beside a change from a previous value, not "new (none before)"
                "was": delta is not None and delta["text"] not in (NO_COMPARISON, NONE_BEFORE),
                "split": [(text, part(values, key), kind) for key, text, kind in spec.split],
            }
        )
    return found


def chart_number(value: Any) -> float | None:
    """A value for a chart to draw (never shown as text); None leaves a gap."""
    return None if value is None else float(Decimal(str(value)))


def chart_percent(value: Any) -> float | None:
    """A ratio drawn as a percentage."""
    return None if value is None else round(float(value) * 100, 4)


def partial_day(sel: PageSelection, now: dt.datetime) -> str | None:
    """Today's date in the page's zone when the range holds it: every daily chart draws
    that day as partial (static/charts.js), since it is not over."""
    if not sel.includes_today:
        return None
    return now.astimezone(zone(sel.tz)).date().isoformat()


def chart_amount(value: Any) -> float:
    """A value for a bar or pie: nothing is drawn as zero."""
    return chart_number(value) or 0.0


ONLINE = Figure(
    "online_seconds",
    "Online time",
    "duration",
    [("active_seconds", "active", "duration"), ("inactive_seconds", "inactive", "duration")],
)
# The key figures of the stats and chatter pages.
CHATTER_FIGURES = [
    Figure(
        "total_sales",
        "Total sales",
        "money",
        [("ppv_sales", "PPV", "money"), ("tips", "Tips", "money")],
    ),
    Figure(
        "ppv_purchase_rate",
        "PPV purchase rate",
        "percent",
        [("ppv_bought", "bought", "integer"), ("ppv_sent", "sent", "integer")],
    ),
    Figure("messages_sent", "Messages sent", "integer"),
    Figure("keystrokes", "Keystrokes", "integer"),
    ONLINE,
    Figure("avg_response_seconds", "Average response time", "wait", lower_is_better=True),
]


# Shown beside a chatter's activity when a creator is selected and they work for several
# (the API's ``activity_shared``; METRICS.md, "One creator or all").
SHARED_NOTE = (
    "Works for several creators: the agent cannot tell them apart, so online time and "
    "keystrokes are the chatter's whole activity, shown under each of their creators."
)
ACTIVITY = ("online_seconds", "keystrokes")  # the figures from the agent's slices


def chatter_figures(
    totals: Mapping[str, Any], previous: Mapping[str, Any] | None, shared: bool = False
) -> list[dict[str, Any]]:
    """The key figures; ``shared`` marks the activity figures as shared by creators."""
    found = figures(CHATTER_FIGURES, totals, previous)
    for figure in found:
        figure["shared"] = shared and figure["name"] in ACTIVITY
    # Online time's parts as shown add up to it (formatting.online_parts): texts, not seconds.
    parts = online_parts(totals)
    for figure in found:
        if figure["name"] == "online_seconds" and parts:
            figure["split"] = [(text, parts[key], "text") for key, text, _ in ONLINE.split]
    return found
