"""Moments shown to people: in the agency's time zone, with how long ago they were."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from sqlalchemy.orm import Session

from collector.db import settings
from collector.shifts.fields import DAY_LABELS


@dataclass(frozen=True)
class Clock:
    """Moments for people: in the agency's zone, with how long ago they were."""

    zone: zoneinfo.ZoneInfo
    now: dt.datetime

    @classmethod
    def of(cls, session: Session, now: dt.datetime) -> Clock:
        name = str(settings.get_value(session, "agency_timezone"))
        return cls(zoneinfo.ZoneInfo(name), now)

    @property
    def zone_name(self) -> str:
        return self.zone.key

    def when(self, moment: dt.datetime | None, never: str = "never") -> str:
        """2026-11-24 14:05 (in the agency zone): the pages' one date format, as their
        days (2026-11-24) and the date inputs show it."""
        if moment is None:
            return never
        return f"{moment.astimezone(self.zone):%Y-%m-%d %H:%M}"

    def day_when(self, moment: dt.datetime) -> str:
        """Mon 2026-11-30 14:05: ``when`` with the local weekday, where a list of days
        ahead is read by the day of the week (a chatter's shifts)."""
        return f"{DAY_LABELS[moment.astimezone(self.zone).weekday()]} {self.when(moment)}"

    def time(self, moment: dt.datetime, seconds: bool = False) -> str:
        """14:05 (14:05:32 with ``seconds``), in the zone: a time beside a day already shown."""
        return f"{moment.astimezone(self.zone):%H:%M:%S}" if seconds else self.when(moment)[11:]

    def days_after(self, start: dt.datetime, end: dt.datetime) -> int:
        """How many local days ``end`` falls after ``start``: 1 for 22:00-06:00 (shown +1)."""
        return (end.astimezone(self.zone).date() - start.astimezone(self.zone).date()).days

    def iso(self, moment: dt.datetime | None) -> str:
        """For a <time datetime> attribute."""
        return "" if moment is None else moment.astimezone(dt.UTC).isoformat()

    @staticmethod
    def skew(seconds: float) -> str:
        """How far a device's clock was off: +1.5 s ahead, -0.3 s behind (never -0.0)."""
        tenths = round(seconds * 10)
        return "0.0 s" if tenths == 0 else f"{tenths / 10:+.1f} s"

    def ago(self, moment: dt.datetime | None) -> str:
        """just now, 5 min ago, 3 h ago, 2 days ago; 'in 3 h' for the future."""
        if moment is None:
            return ""
        seconds = (self.now - moment).total_seconds()
        future = seconds < 0
        seconds = abs(seconds)
        if seconds < 60:
            return "just now" if not future else "in under a minute"
        if seconds < 3600:
            text = f"{int(seconds // 60)} min"
        elif seconds < 2 * 86400:
            text = f"{round(seconds / 3600)} h"
        else:
            text = f"{round(seconds / 86400)} days"
        return f"in {text}" if future else f"{text} ago"
