"""Shift rules to concrete occurrences: which chatter works which creator from when to when.

Local wall times are kept across DST changes.  The one rule for a wall time that does not
exist (a spring-forward gap: 02:30 on the night clocks jump from 02:00 to 03:00): it moves
forward by the gap, 02:30 -> 03:30, i.e. the same wall time read with the offset from
before the change (``fold=0``, as Python's zoneinfo reads it).  In a fall-back overlap
(01:30 happens twice) the first of the two is meant (``fold=0`` too).  An occurrence whose
start and end land on the same moment (02:00-03:00 that night) does not exist; a shift
that runs on one day only is checked when it is added and refused instead, naming the
missing time (``gap``; ``collector.shifts.manage``).  An occurrence belongs to the local
date it starts on.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

UTC = dt.UTC
CANCELLED = "cancelled"
SWAPPED = "swapped"


@dataclass(frozen=True, slots=True)
class ShiftRule:
    """The parts of a stored shift (``collector.db.schedule_models.Shift``) that place it."""

    id: int
    chatter_id: int
    creator_id: int
    zone: str
    weekdays: int  # bit 0 Monday .. bit 6 Sunday; 0: once, on first_day
    start_minute: int
    end_minute: int  # at or before start_minute: ends the next local day
    first_day: dt.date
    last_day: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """A stored exception: the occurrence of ``shift_id`` starting on local ``day``."""

    shift_id: int
    day: dt.date
    kind: str  # CANCELLED | SWAPPED
    replacement_chatter_id: int | None = None


@dataclass(frozen=True, slots=True)
class Occurrence:
    shift_id: int
    day: dt.date  # the local date it starts on, in ``zone``
    chatter_id: int  # who works it: the replacement when swapped
    creator_id: int
    zone: str
    starts_at: dt.datetime  # UTC
    ends_at: dt.datetime  # UTC
    swapped: bool = False

    @property
    def seconds(self) -> int:
        """Scheduled time; 7 or 9 hours for a 22:00-06:00 shift across a DST change."""
        return int((self.ends_at - self.starts_at).total_seconds())


@lru_cache(maxsize=256)
def zone_info(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_to_utc(day: dt.date, minute: int, zone: str) -> dt.datetime:
    """The UTC moment of wall time ``minute`` after midnight of ``day`` in ``zone``."""
    wall = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), zone_info(zone))
    # A wall time in a gap does not survive the round trip; normalising through UTC
    # gives the moment after the gap (see the module's docstring).
    return wall.astimezone(UTC)


def gap(day: dt.date, minute: int, zone: str) -> tuple[dt.datetime, dt.datetime] | None:
    """When wall time ``minute`` of ``day`` does not exist in ``zone`` (the clocks jump
    over it): the local times they jump from and to (02:00 and 03:00, naive); else None."""
    tz = zone_info(zone)
    wall = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
    before = wall.replace(tzinfo=tz)  # fold=0: read with the offset before the change
    if before.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall:
        return None
    offset = before.utcoffset()
    # The change lies between the wall time read with the later offset and with the
    # earlier one: find its second (the offset at ``low`` is still the earlier one).
    low = int(wall.replace(tzinfo=tz, fold=1).timestamp())
    high = int(before.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, tz).utcoffset() == offset:
            low = middle
        else:
            high = middle
    after = dt.datetime.fromtimestamp(high, tz)
    jump = after.utcoffset() - offset  # type: ignore[operator]
    return after.replace(tzinfo=None) - jump, after.replace(tzinfo=None)


def runs_on(rule: ShiftRule, day: dt.date) -> bool:
    if day < rule.first_day or (rule.last_day is not None and day > rule.last_day):
        return False
    if rule.weekdays == 0:
        return day == rule.first_day
    return bool(rule.weekdays >> day.weekday() & 1)


def place(rule: ShiftRule, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start and end of ``rule``'s occurrence starting on local ``day``."""
    end_day = day if rule.end_minute > rule.start_minute else day + dt.timedelta(days=1)
    return local_to_utc(day, rule.start_minute, rule.zone), local_to_utc(
        end_day, rule.end_minute, rule.zone
    )


def _local_days(rule: ShiftRule, start: dt.datetime, end: dt.datetime) -> Iterator[dt.date]:
    """Every local date whose occurrence could overlap [start, end): a day either side."""
    zone = zone_info(rule.zone)
    first = start.astimezone(zone).date() - dt.timedelta(days=1)
    last = end.astimezone(zone).date()
    if first < rule.first_day:
        first = rule.first_day
    if rule.last_day is not None and last > rule.last_day:
        last = rule.last_day
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def occurrences(
    rules: Iterable[ShiftRule],
    changes: Iterable[Change],
    start: dt.datetime,
    end: dt.datetime,
) -> list[Occurrence]:
    """Every occurrence overlapping [start, end) (aware datetimes), by start then shift.

    A cancelled occurrence is left out; a swapped one is worked by the replacement.
    """
    by_key = {(c.shift_id, c.day): c for c in changes}
    found: list[Occurrence] = []
    for rule in rules:
        for day in _local_days(rule, start, end):
            if not runs_on(rule, day):
                continue
            starts_at, ends_at = place(rule, day)
            if ends_at <= start or starts_at >= end or ends_at <= starts_at:
                continue
            change = by_key.get((rule.id, day))
            if change is not None and change.kind == CANCELLED:
                continue
            swapped = change is not None and change.kind == SWAPPED
            found.append(
                Occurrence(
                    shift_id=rule.id,
                    day=day,
                    chatter_id=(
                        change.replacement_chatter_id
                        if swapped and change is not None and change.replacement_chatter_id
                        else rule.chatter_id
                    ),
                    creator_id=rule.creator_id,
                    zone=rule.zone,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    swapped=swapped,
                )
            )
    found.sort(key=lambda o: (o.starts_at, o.shift_id))
    return found
