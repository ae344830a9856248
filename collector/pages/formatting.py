"""Numbers for people: money with its currency, durations as h:mm, rates as percent.

Inputs are the API's own values (money as exact decimal strings), so a page never
rounds a number the API gives differently.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}
NOTHING = "–"  # shown where a figure has no value (no PPV sent, no replies)


def money(value: str | None, currency: str) -> str:
    if value is None:
        return NOTHING
    amount = Decimal(value)
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,f}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def hours_minutes(seconds: float | None) -> str:
    """12:05 for 12 h 5 min (rounded down to the minute, as a clock would)."""
    if seconds is None:
        return NOTHING
    total = int(seconds) // 60
    return f"{total // 60}:{total % 60:02d}"


def wait(seconds: float | None) -> str:
    """A response time: 45 s, 2 min 05 s, 1 h 02 min."""
    if seconds is None:
        return NOTHING
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


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
        return {"text": "no comparison", "direction": "flat"}
    new, old = Decimal(str(now)), Decimal(str(before))
    if new == old:
        return {"text": "no change", "direction": "flat"}
    better = (new < old) if lower_is_better else (new > old)
    direction = "flat" if neutral else "up" if better else "down"
    if points:
        return {"text": f"{(new - old) * 100:+.1f} pp vs previous", "direction": direction}
    if absolute:
        return {"text": f"{new - old:+.2f} vs previous", "direction": direction}
    if old == 0:
        return {"text": "new (none before)", "direction": direction}
    relative = (new - old) / abs(old) * 100
    return {"text": f"{relative:+.1f} % vs previous", "direction": direction}


FILTERS: dict[str, Callable[[Any], str]] = {
    "hm": hours_minutes,
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
