"""Numbers for people: money with its currency, durations with units, rates as percent.

Inputs are the API's own values (money as exact decimal strings), so a page never
rounds a number the API gives differently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from collector.db import text

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}
NOTHING = "–"  # shown where a figure has no value (no PPV sent, no replies)
# A change with no previous value to show beside it ("(was $0.00)" would say it twice).
NO_COMPARISON = "no comparison"
NONE_BEFORE = "new (none before)"


def money(value: str | None, currency: str) -> str:
    if value is None:
        return NOTHING
    amount = Decimal(value)
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,f}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def step_of(seconds: float) -> int:
    """A duration's precision: whole seconds under a minute, whole minutes above.

    Nothing at all is "0 min": the unit of the durations around it, which are minutes in
    every table of hours (a "0 s" among "50 min" reads as another kind of number)."""
    return 1 if 0 < seconds < 60 else 60


def duration(seconds: float | None, step: int | None = None) -> str:
    """34 h 00 min, 5 min, 44 s: rounded down to its step (``step_of`` unless given),
    as a clock would, so the parts of a total shown at the total's step add up."""
    if seconds is None:
        return NOTHING
    step = step or step_of(seconds)
    whole = int(seconds) // step * step
    if step == 1:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def duration_parts(total: float, first: float) -> tuple[str, str]:
    """A total's two parts as shown (``first`` and the rest), so that they add up to the
    total as shown: both at the total's step, the rest the shown total minus the shown
    first part (scheduled 10 min 40 s so far and 20 min 40 s to come: 10 min + 21 min =
    31 min, where each alone rounded down would be 10 min + 20 min)."""
    step = step_of(total)
    shown_total, shown_first = int(total) // step, int(first) // step
    return duration(shown_first * step, step), duration((shown_total - shown_first) * step, step)


def online_parts(values: Mapping[str, Any]) -> dict[str, str]:
    """Online, active and inactive time as shown, so that active + inactive = online.

    All three are shown at the online time's step; the inactive part is the shown online
    minus the shown active, not the raw inactive seconds rounded down on their own
    (3 h 00 min 30 s online, 1 h 00 min 40 s active: 3 h 00 min = 1 h 00 min + 2 h 00 min,
    where the 1 h 59 min 50 s inactive alone would show as 1 h 59 min).
    Empty when the values lack online or active time.
    """
    online, active = values.get("online_seconds"), values.get("active_seconds")
    if online is None or active is None:
        return {}
    step = step_of(online)
    shown_online, shown_active = int(online) // step, int(active) // step
    inactive = (shown_online - shown_active) * step
    return {
        "online_seconds": duration(shown_online * step, step),
        "active_seconds": duration(shown_active * step, step),
        "inactive_seconds": duration(inactive, step),
    }


def wait(seconds: float | None) -> str:
    """A response time as collector.db.text.wait writes it; a dash for none."""
    return NOTHING if seconds is None else text.wait(seconds)


def percent(ratio: float | None, digits: int = 1) -> str:
    return NOTHING if ratio is None else f"{ratio * 100:.{digits}f} %"


def integer(value: int | None) -> str:
    return NOTHING if value is None else f"{value:,}"


def number(value: float | None, digits: int = 2) -> str:
    return NOTHING if value is None else f"{value:,.{digits}f}"


def change(
    now: Any,
    before: Any,
    *,
    lower_is_better: bool = False,
    points: bool = False,
    absolute: bool = False,
    neutral: bool = False,
) -> dict[str, str]:
    """The change against the previous period, as text and as a direction (up/down/flat).

    The one rule every page follows: rates change by percentage points ("+2.5 pp"), not
    by a percent of a percent; an average rating by its difference (``absolute``); other
    figures by a percent of the previous value.  ``neutral`` figures (a longer talk is
    neither better nor worse) are never coloured.
    """
    if now is None or before is None:
        return {"text": NO_COMPARISON, "direction": "flat"}
    new, old = Decimal(str(now)), Decimal(str(before))
    if new == old:
        return {"text": "no change", "direction": "flat"}
    better = (new < old) if lower_is_better else (new > old)
    direction = "flat" if neutral else "up" if better else "down"
    if old == 0 and not (points or absolute):
        return {"text": NONE_BEFORE, "direction": direction}
    if points:
        amount, digits, unit = (new - old) * 100, 1, " pp"
    elif absolute:
        amount, digits, unit = new - old, 2, ""
    else:
        amount, digits, unit = (new - old) / abs(old) * 100, 1, " %"
    shown = round(amount, digits)
    if shown == 0:
        # Too small to show: no sign (never "-0.0 %") and no colour.
        return {"text": f"{abs(shown):.{digits}f}{unit} vs previous", "direction": "flat"}
    return {"text": f"{shown:+.{digits}f}{unit} vs previous", "direction": direction}


FILTERS: dict[str, Callable[[Any], str]] = {
    "duration": duration,
    "wait": wait,
    "percent": percent,
    "integer": integer,
    "number": number,
}


def shown(value: Any, kind: str, currency: str = "") -> str:
    """Any figure for people, by its kind (the template filter ``fmt``)."""
    if kind == "money":
        return money(value, currency)
    if kind in ("text", "date"):
        return "" if value is None else str(value)
    return FILTERS[kind](value)


def cells(
    row: Mapping[str, Any], columns: Sequence[tuple[str, str]], currency: str
) -> list[tuple[Any, str]]:
    """A table row's (value, text) per (field, kind) column: values for sorting,
    texts for people, online time and its parts by ``online_parts``."""
    parts = online_parts(row)
    return [
        (
            "" if row.get(name) is None else row[name],
            parts[name]
            if kind == "duration" and name in parts
            else shown(row.get(name), kind, currency),
        )
        for name, kind in columns
    ]
