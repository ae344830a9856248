"""The overlap rule: a chatter never has two occurrences at the same moment.

Whatever the creators, one person cannot work two shifts at once, so a change that would
give a chatter overlapping occurrences (a new or edited shift, a swap that hands them a
day, an imported roster) is refused with both occurrences named.  Touching is fine: a
shift ending at 14:00 and the next starting at 14:00 do not clash.  Cancelled
occurrences clash with nothing; a swapped one belongs to whoever works it.

Only clashes involving the change are reported: older data is not re-judged.  A weekly
shift is checked over the first year (53 weeks) it runs beside the chatter's other
shifts, which covers every weekday and both DST changes; later years repeat it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from collector.db.models import Chatter
from collector.db.schedule_models import Shift, ShiftException
from collector.errors import DomainError
from collector.shifts.fields import hhmm
from collector.shifts.occurrences import Change, Occurrence, ShiftRule, occurrences, zone_info
from collector.shifts.queries import rule_of

# How far past the latest start of the shifts compared the check looks (see above).
HORIZON = dt.timedelta(weeks=53)


@dataclass(frozen=True)
class Clash:
    chatter_id: int
    new: Occurrence  # the occurrence the change makes or moves
    other: Occurrence  # the one it overlaps


def describe(occurrence: Occurrence, scope: Collection[int] | None = None) -> str:
    """ "shift 12 on 2026-12-07 (22:00–06:00 Europe/Paris)", with an en dash as the pages
    write a span.  A shift of a creator outside ``scope`` (a team lead's creators) is only
    "a shift for another creator": the lead learns the chatter is busy then, never another
    creator's ids or hours."""
    if scope is not None and occurrence.shift_id > 0 and occurrence.creator_id not in scope:
        return "a shift for another creator at that time"
    zone = zone_info(occurrence.zone)
    start = occurrence.starts_at.astimezone(zone)
    end = occurrence.ends_at.astimezone(zone)
    if occurrence.shift_id > 0:
        name = f"shift {occurrence.shift_id}"
    else:  # not stored yet: 0 is the one being added, -N the roster's line N
        name = (
            f"the shift on line {-occurrence.shift_id}" if occurrence.shift_id else "the new shift"
        )
    return f"{name} on {occurrence.day} ({hhmm(start.hour * 60 + start.minute)}–" + (
        f"{hhmm(end.hour * 60 + end.minute)} {occurrence.zone})"
    )


def window(rules: Iterable[ShiftRule], days: Iterable[dt.date]) -> tuple[dt.datetime, dt.datetime]:
    """The UTC range to compare: the changed days, or the changed rules' runs (a year at
    most past the latest first day), with two days' margin for zones and overnight ends."""
    firsts: list[dt.date] = list(days)
    lasts: list[dt.date] = list(firsts)
    rules = list(rules)
    latest_first = max([r.first_day for r in rules] + firsts, default=dt.date(2000, 1, 1))
    for rule in rules:
        firsts.append(rule.first_day)
        cap = latest_first + HORIZON
        lasts.append(cap if rule.last_day is None else min(rule.last_day, cap))
    start = dt.datetime.combine(min(firsts), dt.time(), dt.UTC) - dt.timedelta(days=2)
    end = dt.datetime.combine(max(lasts), dt.time(), dt.UTC) + dt.timedelta(days=3)
    return start, end


def find(
    chatter_id: int,
    rules: Iterable[ShiftRule],
    changes: Iterable[Change],
    changed: Collection[tuple[int, dt.date | None]],
    start: dt.datetime,
    end: dt.datetime,
) -> list[Clash]:
    """Overlaps among ``chatter_id``'s occurrences in [start, end) where one side is
    ``changed``: (shift id, None) for every occurrence of a shift, (shift id, day) for one."""
    mine = [o for o in occurrences(rules, changes, start, end) if o.chatter_id == chatter_id]
    whole = {shift for shift, day in changed if day is None}
    days = {(shift, day) for shift, day in changed if day is not None}

    def is_new(o: Occurrence) -> bool:
        return o.shift_id in whole or (o.shift_id, o.day) in days

    found: list[Clash] = []
    # Sorted by start: each occurrence can only overlap those starting before its end.
    for i, first in enumerate(mine):
        for second in mine[i + 1 :]:
            if second.starts_at >= first.ends_at:
                break
            if is_new(second):
                found.append(Clash(chatter_id, second, first))
            elif is_new(first):
                found.append(Clash(chatter_id, first, second))
    return found


def check(
    session: Session,
    chatter_ids: Iterable[int],
    new_rules: Iterable[ShiftRule] = (),
    new_changes: Iterable[Change] = (),
    *,
    removed_changes: Iterable[tuple[int, dt.date]] = (),
    scope: Collection[int] | None = None,
) -> None:
    """Refuse (409, code ``overlapping_shifts``) when the change gives a chatter overlapping
    occurrences.  ``new_rules`` replace stored rules with the same id (an edit) or add to
    them (a new shift: id 0, or -N for line N of a roster); ``new_changes`` replace or add
    exceptions by (shift, day); ``removed_changes`` are exceptions being deleted.
    ``scope``: the creators the person changing may see (None: all), for the wording."""
    clashes = find_all(
        session, chatter_ids, new_rules, new_changes, removed_changes=removed_changes
    )
    if clashes:
        raise overlap_error(session, clashes, scope)


def find_all(
    session: Session,
    chatter_ids: Iterable[int],
    new_rules: Iterable[ShiftRule] = (),
    new_changes: Iterable[Change] = (),
    *,
    removed_changes: Iterable[tuple[int, dt.date]] = (),
) -> list[Clash]:
    new_rules = list(new_rules)
    new_changes = list(new_changes)
    removed = set(removed_changes)
    changed: set[tuple[int, dt.date | None]] = {(r.id, None) for r in new_rules}
    changed |= {(c.shift_id, c.day) for c in new_changes}
    changed |= {(shift, day) for shift, day in removed}
    if not changed:
        return []
    people = list(dict.fromkeys(chatter_ids))
    _lock(session, people)
    start, end = window(new_rules, [c.day for c in new_changes] + [d for _, d in removed])
    found: list[Clash] = []
    for chatter_id in people:
        rules, changes = _load(session, chatter_id, new_rules, new_changes, removed)
        found.extend(find(chatter_id, rules, changes, changed, start, end))
    return found


def _lock(session: Session, chatter_ids: list[int]) -> None:
    """Hold the chatters' rows until the transaction ends: two changes for one chatter at
    once (two managers, two API calls) are checked one after the other, each seeing the
    other's shifts.  PostgreSQL's row locks; SQLite's one writer already serialises them."""
    session.execute(
        select(Chatter.id).where(Chatter.id.in_(chatter_ids)).order_by(Chatter.id).with_for_update()
    ).all()


def _load(
    session: Session,
    chatter_id: int,
    new_rules: list[ShiftRule],
    new_changes: list[Change],
    removed: set[tuple[int, dt.date]],
) -> tuple[list[ShiftRule], list[Change]]:
    """The rules that can give ``chatter_id`` an occurrence (their own, and those with a
    day swapped to them), with the pending change applied, and those rules' exceptions."""
    swapped_in = select(ShiftException.shift_id).where(
        ShiftException.replacement_chatter_id == chatter_id
    )
    pending_shift_ids = [c.shift_id for c in new_changes if c.replacement_chatter_id == chatter_id]
    stored = session.scalars(
        select(Shift).where(
            or_(
                Shift.chatter_id == chatter_id,
                Shift.id.in_(swapped_in),
                Shift.id.in_(pending_shift_ids),
            )
        )
    ).all()
    by_id = {s.id: rule_of(s) for s in stored}
    for rule in new_rules:
        # Another chatter's new rule matters only if it replaces one this chatter works.
        if rule.chatter_id == chatter_id or rule.id in by_id:
            by_id[rule.id] = rule
    # Other shifts of the pending rules' ids (an edit moving a shift to another chatter).
    missing = [c.shift_id for c in new_changes if c.shift_id not in by_id]
    for shift in session.scalars(select(Shift).where(Shift.id.in_(missing))):
        by_id[shift.id] = rule_of(shift)
    changes = {
        (e.shift_id, e.day): Change(e.shift_id, e.day, e.kind, e.replacement_chatter_id)
        for e in session.scalars(
            select(ShiftException).where(ShiftException.shift_id.in_(list(by_id)))
        )
    }
    for key in removed:
        changes.pop(key, None)
    for change in new_changes:
        changes[(change.shift_id, change.day)] = change
    return list(by_id.values()), list(changes.values())


def overlap_error(
    session: Session, clashes: list[Clash], scope: Collection[int] | None = None
) -> DomainError:
    found = session.execute(
        select(Chatter.id, Chatter.key, Chatter.name).where(
            Chatter.id.in_({c.chatter_id for c in clashes})
        )
    ).all()
    keys = {i: k for i, k, _ in found}
    names = {i: n for i, _, n in found}  # the message names the chatter as the pages do
    details = [
        {
            "chatter": keys.get(c.chatter_id, str(c.chatter_id)),
            "new": describe(c.new, scope),
            "clashes_with": describe(c.other, scope),
        }
        for c in clashes[:20]
    ]
    first = clashes[0]
    more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
    return DomainError(
        f"{names.get(first.chatter_id, first.chatter_id)} would work two shifts "
        f"at once: {describe(first.new, scope)} overlaps {describe(first.other, scope)}{more}",
        409,
        code="overlapping_shifts",
        details=details,
    )
