"""Local days in an IANA time zone, as UTC instants (DST-correct), and the one rule
for a figure's change against the previous period."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from collector.db import text

MAX_DAYS = 366
QUARTER_HOUR = 900


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    """Local dates ``first``..``last`` (inclusive) in ``tz``, and their UTC bounds."""

    first: dt.date
    last: dt.date
    tz: zoneinfo.ZoneInfo
    start: dt.datetime  # UTC, inclusive
    end: dt.datetime  # UTC, exclusive

    def contains(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end

    def local_date(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.tz).date()

    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def previous(self) -> Period:
        """The period of the same number of days just before this one."""
        length = (self.last - self.first).days + 1
        return period(
            self.first - dt.timedelta(days=length), self.first - dt.timedelta(days=1), self.tz.key
        )


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone ``name`` (``text.zones``: the one rule of every zone people choose)."""
    wrong = text.zone_problem(name)
    if wrong is not None:
        raise PeriodError(wrong)
    return zoneinfo.ZoneInfo(name)


def local_midnight(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The UTC instant a local day starts (zoneinfo resolves DST gaps forward)."""
    naive = dt.datetime.combine(day, dt.time())
    return naive.replace(tzinfo=tz).astimezone(dt.UTC)


# Dates a range may use: far enough for any agency, and safe from datetime's limits
# (a range's previous period and its UTC bounds must exist too).
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(9000, 12, 31)


def period(first: dt.date, last: dt.date, tz_name: str) -> Period:
    for day in (first, last):
        if not EARLIEST <= day <= LATEST:
            raise PeriodError(f"{day} is outside the dates stats cover ({EARLIEST} to {LATEST})")
    if last < first:
        raise PeriodError(f"end {last} is before start {first}")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(f"a range covers at most {MAX_DAYS} days")
    tz = zone(tz_name)
    start, end = local_midnight(first, tz), local_midnight(last + dt.timedelta(days=1), tz)
    # Stats are kept per quarter hour; every zone in use today starts its days on one.
    if start.timestamp() % QUARTER_HOUR or end.timestamp() % QUARTER_HOUR:
        raise PeriodError(f"local midnight in {tz.key} is not on a quarter hour in this range")
    return Period(first, last, tz, start, end)


def difference(now: Mapping[str, Any], before: Mapping[str, Any]) -> dict[str, Any]:
    """This period minus the previous one, for every number both periods have.

    None when either side has no value; flags, text and figures the previous period
    lacks are left out.  Exact for integers and Decimals (money).
    """
    delta: dict[str, Any] = {}
    for name, value in now.items():
        if name not in before or isinstance(value, bool):
            continue
        old = before[name]
        if value is None or old is None:
            delta[name] = None
        elif isinstance(value, Decimal) and isinstance(old, Decimal):
            delta[name] = value - old
        elif isinstance(value, int | float) and isinstance(old, int | float):
            delta[name] = value - old
    return delta
