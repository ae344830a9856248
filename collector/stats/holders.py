"""Who holds a creator's shift at a moment: the shift rule of sales credit (METRICS.md "Money").

With the setting ``ppv_credit`` or ``tip_credit`` at ``shift``, a sale of that kind made
while exactly one chatter holds a shift occurrence of the sale's creator (start <= t <
end; a cancelled occurrence holds nobody, a swapped one its replacement) is credited to
that chatter.  Two occurrences held by the same chatter at once count as one holder.

``Holders`` loads each creator's shifts and exceptions once (one read per creator per
ingest batch) and places occurrences in Python.  The reference in
collector/stats/metrics.py computes the same from raw rows on its own.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, cast

from sqlalchemy import Connection, Table, select

from collector.db.schedule_models import Shift, ShiftException
from collector.db.settings import CreditRules
from collector.shifts.occurrences import Change, ShiftRule, occurrences

SH = cast(Table, Shift.__table__)
SX = cast(Table, ShiftException.__table__)
_TICK = dt.timedelta(microseconds=1)


class Holders:
    """The shift holder of each sale, for the kinds of sale the rules credit by shift."""

    def __init__(self, connection: Connection, rules: CreditRules) -> None:
        self.connection = connection
        self.rules = rules
        self.types = frozenset(rules.shift_types())
        self._shifts: dict[int, tuple[list[ShiftRule], list[Change]]] = {}

    def load(self, creator_ids: set[int]) -> None:
        """Read the shifts and exceptions of these creators (those not read yet), at once."""
        wanted = sorted(c for c in creator_ids if c not in self._shifts)
        if not wanted or not self.types:
            return
        rules: dict[int, list[ShiftRule]] = defaultdict(list)
        by_id: dict[int, int] = {}
        for row in self.connection.execute(select(SH).where(SH.c.creator_id.in_(wanted))):
            rules[row.creator_id].append(_rule(row))
            by_id[row.id] = row.creator_id
        changes: dict[int, list[Change]] = defaultdict(list)
        if by_id:
            query = select(SX).where(SX.c.shift_id.in_(sorted(by_id)))
            for row in self.connection.execute(query):
                changes[by_id[row.shift_id]].append(
                    Change(row.shift_id, row.day, row.kind, row.replacement_chatter_id)
                )
        for creator_id in wanted:
            self._shifts[creator_id] = (rules[creator_id], changes[creator_id])

    def holder(self, type_: str, creator_id: int, moment: dt.datetime) -> int | None:
        """The one chatter on shift for the creator at ``moment``, for a sale of ``type_``
        credited by shift; None otherwise (nobody, several, or the kind is not by shift)."""
        if type_ not in self.types:
            return None
        if creator_id not in self._shifts:
            self.load({creator_id})
        rules, changes = self._shifts[creator_id]
        if not rules:
            return None
        held = {o.chatter_id for o in occurrences(rules, changes, moment, moment + _TICK)}
        return held.pop() if len(held) == 1 else None


def _rule(row: Any) -> ShiftRule:
    return ShiftRule(
        id=row.id,
        chatter_id=row.chatter_id,
        creator_id=row.creator_id,
        zone=row.zone,
        weekdays=row.weekdays,
        start_minute=row.start_minute,
        end_minute=row.end_minute,
        first_day=row.first_day,
        last_day=row.last_day,
    )
