"""The page's selection: a date preset (or a custom range), a time zone, a creator
(of those the person may pick).

Presets are local days in the chosen zone, counted from today there: "last 7 days"
is today and the six days before.  The result is the query string the reports
(and the API, for the export buttons) take.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.auth.callers import creator_limit
from collector.db import text
from collector.db.models import Creator, User, chatter_creators
from collector.stats.periods import PeriodError, period, zone

PRESETS: dict[str, str] = {
    "today": "Today",
    "yesterday": "Yesterday",
    "last_7_days": "Last 7 days",
    "last_30_days": "Last 30 days",
    "this_month": "This month",
    "last_month": "Last month",
    "custom": "Custom range",
}
DEFAULT_PRESET = "last_7_days"


@dataclass(frozen=True)
class PageSelection:
    preset: str
    start: dt.date
    end: dt.date
    tz: str
    creator: str  # "" for all creators
    error: str | None = None  # shown above the form; the page falls back to the default
    includes_today: bool = False  # today is not over: its figures are "so far"

    def query(self) -> dict[str, str]:
        """The report parameters (and the API's) for this selection."""
        args = {"start": self.start.isoformat(), "end": self.end.isoformat(), "tz": self.tz}
        if self.creator:
            args["creator"] = self.creator
        return args

    def state(self) -> dict[str, str]:
        """What the page's own links keep: the preset, not only its dates."""
        args = {"preset": self.preset, "tz": self.tz}
        if self.creator:
            args["creator"] = self.creator
        if self.preset == "custom":
            args.update(start=self.start.isoformat(), end=self.end.isoformat())
        return args


def preset_range(preset: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if preset == "today":
        return today, today
    if preset == "yesterday":
        day = today - dt.timedelta(days=1)
        return day, day
    if preset == "last_7_days":
        return today - dt.timedelta(days=6), today
    if preset == "last_30_days":
        return today - dt.timedelta(days=29), today
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "last_month":
        last = today.replace(day=1) - dt.timedelta(days=1)
        return last.replace(day=1), last
    raise ValueError(preset)


def from_args(
    args: Mapping[str, str], default_tz: str, now: dt.datetime, creators: Collection[str]
) -> PageSelection:
    """The selection a page was asked for; a bad one falls back to the default, with why.

    ``creators`` are the keys this person may pick; any other falls back to all.
    """
    tz = args.get("tz") or default_tz
    creator = args.get("creator", "")
    preset = args.get("preset") or ("custom" if args.get("start") else DEFAULT_PRESET)
    problem = None
    try:
        today = now.astimezone(zone(tz)).date()
    except PeriodError as exc:
        problem, tz = str(exc), default_tz
        today = now.astimezone(zone(tz)).date()
    if creator and creator not in creators:
        # Not "unknown": to a team lead the creator may exist, and whether it does is
        # not theirs to learn.
        problem, creator = f"no creator {creator!r} among those you can see", ""
    if preset not in PRESETS:
        problem, preset = f"unknown date preset {preset!r}", DEFAULT_PRESET
    if preset == "custom":
        first = text.iso_day(args.get("start") or "")
        last = text.iso_day(args.get("end") or args.get("start") or "")
        if first is None or last is None:
            problem = "a custom range needs a start and an end date"
            preset = DEFAULT_PRESET
        else:
            start, end = first, last
            try:  # the same rules as the API: order, length, zone history
                period(start, end, tz).previous()
            except PeriodError as exc:
                problem, preset = str(exc), DEFAULT_PRESET
            else:
                return PageSelection(
                    "custom", start, end, tz, creator, problem, start <= today <= end
                )
    start, end = preset_range(preset, today)
    return PageSelection(preset, start, end, tz, creator, problem, start <= today <= end)


# Every IANA zone, the one list of the time zone dropdowns (the stats pages' selection,
# Schedules, Settings): the same control wherever a zone is chosen.
ALL_ZONES = sorted(text.zones())


def creators_of(session: Session, user: User) -> list[tuple[str, str]]:
    """The creators this person may pick: all for managers (a team lead's: theirs),
    their own for a chatter."""
    query = select(Creator.key, Creator.name).order_by(Creator.name)
    if (limit := creator_limit(user)) is not None:
        query = query.where(Creator.id.in_(sorted(limit)))
    if user.role == "chatter":
        query = query.join(chatter_creators, chatter_creators.c.creator_id == Creator.id).where(
            chatter_creators.c.chatter_id == user.chatter_id
        )
    return [(key, name) for key, name in session.execute(query)]
