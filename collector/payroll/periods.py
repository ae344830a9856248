"""Pay periods: the agency's payroll calendar, in local days of the agency zone.

Four kinds, as agencies pay: ``weekly`` and ``biweekly`` (runs of 7 or 14 days from an
anchor day, any weekday), ``semimonthly`` (the 1st-15th and the 16th-last day of each
month) and ``monthly``.  A period is a run of whole local days; its UTC bounds, 23- or
25-hour days included, are ``stats.periods.period``'s, so payroll and the stats read the
same instants.  Every day belongs to exactly one period, and each period ends the day
before the next begins (tests/collector/payroll/test_periods.py).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from collector.db.text import iso_day
from collector.stats.periods import EARLIEST, LATEST

KINDS = ("weekly", "biweekly", "semimonthly", "monthly")
# The default anchor of the runs of days: a Monday, so weekly periods run Monday-Sunday.
DEFAULT_ANCHOR = dt.date(2024, 1, 1)


class PayPeriodError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class PayPeriod:
    """Local days ``first``..``last``, inclusive."""

    first: dt.date
    last: dt.date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def label(self) -> str:
        """How the API and pages name it: ``2026-11-16..2026-11-30``."""
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


@dataclass(frozen=True)
class PaySchedule:
    kind: str
    anchor: dt.date = DEFAULT_ANCHOR  # weekly and biweekly: a first day of a period

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PayPeriodError(f"pay period must be one of {', '.join(KINDS)}, not {self.kind!r}")

    def containing(self, day: dt.date) -> PayPeriod:
        """The period that holds ``day``."""
        if self.kind in ("weekly", "biweekly"):
            length = 7 if self.kind == "weekly" else 14
            first = day - dt.timedelta(days=(day - self.anchor).days % length)
            return PayPeriod(first, first + dt.timedelta(days=length - 1))
        end_of_month = calendar.monthrange(day.year, day.month)[1]
        if self.kind == "monthly":
            return PayPeriod(day.replace(day=1), day.replace(day=end_of_month))
        if day.day <= 15:
            return PayPeriod(day.replace(day=1), day.replace(day=15))
        return PayPeriod(day.replace(day=16), day.replace(day=end_of_month))

    def following(self, period: PayPeriod) -> PayPeriod:
        """The period that starts the day after ``period`` ends."""
        return self.containing(period.last + dt.timedelta(days=1))

    def between(self, first: dt.date, last: dt.date) -> list[PayPeriod]:
        """The periods holding any day of ``first``..``last``, in order."""
        if last < first:
            raise PayPeriodError(f"{last} is before {first}")
        found = [self.containing(first)]
        while found[-1].last < last:
            found.append(self.following(found[-1]))
        return found

    def parse(self, text: str) -> PayPeriod:
        """A period named by its label or by any day in it (``2026-11-20``)."""
        first_text, _, last_text = text.partition("..")
        first, last = iso_day(first_text), iso_day(last_text or first_text)
        if first is None or last is None:
            raise PayPeriodError(f"a day (YYYY-MM-DD) or first..last is needed, not {text[:30]!r}")
        # The days every report accepts (stats.periods): a period of year 1 would be "over"
        # and could be approved, and one at the end of the calendar has no UTC bounds.
        if not (EARLIEST <= first <= LATEST and EARLIEST <= last <= LATEST):
            raise PayPeriodError(f"days from {EARLIEST} to {LATEST} only, not {text[:30]!r}")
        period = self.containing(first)
        if not (EARLIEST <= period.first and period.last <= LATEST):
            raise PayPeriodError(f"days from {EARLIEST} to {LATEST} only, not {text[:30]!r}")
        if ".." in text and period != PayPeriod(first, last):
            raise PayPeriodError(
                f"{text} is not a {self.kind} pay period; the one holding {first} is "
                f"{period.label()}"
            )
        return period


__all__ = ["DEFAULT_ANCHOR", "KINDS", "PayPeriod", "PayPeriodError", "PaySchedule"]
