"""Who is there now: every chatter's live state, against who is scheduled, per creator.

A chatter with several devices (two computers, an agent left running at home) shows the
state of their *most present* device: active beats idle beats paused beats offline; among
devices in the same state, the one heard from last.  Offline is silence for
``state.OFFLINE_AFTER`` (no message needed).  Presence of a device no longer in use,
revoked or uninstalled (its agent said so), does not count: an agent that stopped just
before its uninstall message would otherwise show online for up to that long (and a
message still on its way could land after the uninstall).

Schedules come in as occurrences (``collector.shifts``, loaded by the caller): this
package sits beside ``shifts`` and does not read it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.db.models import Chatter, Creator, chatter_creators
from collector.db.schedule_models import Presence
from collector.presence.state import OFFLINE, OFFLINE_AFTER, in_use, last_batches, live_state

# Higher is more present: the state a chatter with several devices shows.
RANK = {"active": 3, "idle": 2, "paused": 1, OFFLINE: 0}


class Scheduled(Protocol):
    """What the board reads of a shift occurrence (``collector.shifts.occurrences``)."""

    @property
    def shift_id(self) -> int: ...
    @property
    def chatter_id(self) -> int: ...
    @property
    def creator_id(self) -> int: ...
    @property
    def starts_at(self) -> dt.datetime: ...
    @property
    def ends_at(self) -> dt.datetime: ...
    @property
    def swapped(self) -> bool: ...


@dataclass(frozen=True)
class Live:
    """One chatter's presence now."""

    state: str  # active | idle | paused | offline
    # The last message of any of their devices: presence, or a batch of slices (an agent
    # older than presence, or one that has not sent presence since the collector started
    # keeping it, is still "seen").
    last_seen: dt.datetime | None
    idle_seconds: int | None  # of the device shown; None when offline
    devices_online: int = 0

    @property
    def online(self) -> bool:
        return self.state != OFFLINE


NOBODY = Live(OFFLINE, None, None)


def merge(devices: Iterable[tuple[str, int, dt.datetime]], now: dt.datetime) -> Live:
    """The chatter's state from their devices' stored (state, idle_seconds, received_at)."""
    best: tuple[int, dt.datetime, str, int] | None = None
    last_seen: dt.datetime | None = None
    online = 0
    for stored, idle, received_at in devices:
        state = live_state(stored, received_at, now)
        online += state != OFFLINE
        last_seen = received_at if last_seen is None else max(last_seen, received_at)
        candidate = (RANK[state], received_at, state, idle)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        return NOBODY
    _, _, state, idle = best
    return Live(state, last_seen, None if state == OFFLINE else idle, online)


def live_by_chatter(
    session: Session, now: dt.datetime, chatter_ids: Collection[int] | None = None
) -> dict[int, Live]:
    """Every chatter with a presence row (of a device in use: not revoked nor uninstalled),
    merged; others are absent (``NOBODY``).  ``last_seen`` still counts an uninstalled
    device's last batch: it says when the chatter was last heard from."""
    query = in_use(
        select(Presence.chatter_id, Presence.state, Presence.idle_seconds, Presence.received_at)
    )
    if chatter_ids is not None:
        query = query.where(Presence.chatter_id.in_(sorted(chatter_ids)))
    rows: dict[int, list[tuple[str, int, dt.datetime]]] = {}
    for chatter_id, state, idle, received_at in session.execute(query):
        rows.setdefault(chatter_id, []).append((state, idle, received_at))
    found = {chatter_id: merge(devices, now) for chatter_id, devices in rows.items()}
    for chatter_id, seen in last_batches(session, chatter_ids).items():
        live = found.get(chatter_id, NOBODY)
        if live.last_seen is None or seen > live.last_seen:
            found[chatter_id] = replace(live, last_seen=seen)
    return found


def live_of(session: Session, chatter_id: int, now: dt.datetime) -> Live:
    return live_by_chatter(session, now, [chatter_id]).get(chatter_id, NOBODY)


@dataclass(frozen=True)
class Person:
    id: int
    key: str
    name: str
    live: Live
    scheduled_for: tuple[int, ...] = ()  # creator ids whose shift they work now


@dataclass(frozen=True)
class Slot:
    """A shift occurrence running now and how its chatter is doing."""

    person: Person
    shift_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    swapped: bool

    @property
    def missing(self) -> bool:
        """Scheduled now and offline: what a manager must see first."""
        return not self.person.live.online


@dataclass
class CreatorNow:
    id: int
    key: str
    name: str
    scheduled: list[Slot] = field(default_factory=list)
    # Online chatters of this creator who are scheduled for no creator now.
    unscheduled: list[Person] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return sum(slot.missing for slot in self.scheduled)

    @property
    def scheduled_online(self) -> int:
        return len(self.scheduled) - self.missing


@dataclass
class Board:
    now: dt.datetime
    people: list[Person]
    creators: list[CreatorNow]


def build(
    session: Session,
    now: dt.datetime,
    scheduled: Iterable[Scheduled],
    creator_limit: Collection[int] | None = None,
) -> Board:
    """The board for a caller limited to ``creator_limit`` (a team lead) or to nobody.

    People: active chatters (a team lead's: those assigned to their creators) and anyone
    scheduled now for a creator shown.  Creators: active ones and any with a shift now.
    """
    running = [
        o
        for o in scheduled
        if o.starts_at <= now < o.ends_at
        and (creator_limit is None or o.creator_id in creator_limit)
    ]
    assignments: dict[int, set[int]] = {}
    for chatter_id, creator_id in session.execute(
        select(chatter_creators.c.chatter_id, chatter_creators.c.creator_id)
    ):
        assignments.setdefault(chatter_id, set()).add(creator_id)
    busy: dict[int, set[int]] = {}
    for o in running:
        busy.setdefault(o.chatter_id, set()).add(o.creator_id)

    def shown(chatter_id: int, active: bool) -> bool:
        if chatter_id in busy:
            return True
        if not active:
            return False
        return creator_limit is None or bool(
            assignments.get(chatter_id, set()) & set(creator_limit)
        )

    rows = session.execute(select(Chatter.id, Chatter.key, Chatter.name, Chatter.active))
    chosen = [(i, k, n) for i, k, n, active in rows if shown(i, active)]
    live = live_by_chatter(session, now, [i for i, _, _ in chosen])
    people = {
        i: Person(i, k, n, live.get(i, NOBODY), tuple(sorted(busy.get(i, ()))))
        for i, k, n in chosen
    }

    creator_rows = session.execute(
        select(Creator.id, Creator.key, Creator.name, Creator.active).order_by(Creator.name)
    )
    creators = [
        CreatorNow(i, k, n)
        for i, k, n, active in creator_rows
        if (creator_limit is None or i in creator_limit)
        and (active or any(o.creator_id == i for o in running))
    ]
    by_id = {c.id: c for c in creators}
    seen: set[tuple[int, int]] = set()
    for o in sorted(running, key=lambda o: (o.starts_at, o.shift_id)):
        target = by_id.get(o.creator_id)
        if target is None or (o.chatter_id, o.creator_id) in seen:
            continue  # two overlapping shifts of one chatter for one creator: one row
        seen.add((o.chatter_id, o.creator_id))
        target.scheduled.append(
            Slot(people[o.chatter_id], o.shift_id, o.starts_at, o.ends_at, o.swapped)
        )
    for person in people.values():
        if person.scheduled_for or not person.live.online:
            continue
        for creator_id in sorted(assignments.get(person.id, ())):
            if creator_id in by_id:
                by_id[creator_id].unscheduled.append(person)
    ordered = sorted(people.values(), key=lambda p: (p.name.casefold(), p.key))
    for creator in creators:
        # Offline first: the missing chatter is what the page is for.
        creator.scheduled.sort(key=lambda s: (not s.missing, s.person.name.casefold()))
        creator.unscheduled.sort(key=lambda p: (p.name.casefold(), p.key))
    return Board(now, ordered, creators)


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _person(person: Person, keys: dict[int, str]) -> dict[str, Any]:
    live = person.live
    return {
        "chatter": person.key,
        "name": person.name,
        "state": live.state,
        "online": live.online,
        "last_seen": _iso(live.last_seen),
        "idle_seconds": live.idle_seconds,
        "devices_online": live.devices_online,
        "scheduled_for": [keys[c] for c in person.scheduled_for if c in keys],
    }


def as_dict(board: Board) -> dict[str, Any]:
    """The board as ``GET /api/v1/presence`` answers it (and the Now page refreshes from)."""
    keys = {c.id: c.key for c in board.creators}
    return {
        "as_of": _iso(board.now),
        "offline_after_seconds": int(OFFLINE_AFTER.total_seconds()),
        "chatters": [_person(p, keys) for p in board.people],
        "creators": [
            {
                "creator": c.key,
                "name": c.name,
                "scheduled_count": len(c.scheduled),
                "scheduled_online": c.scheduled_online,
                "scheduled_offline": c.missing,
                "scheduled": [
                    {
                        **_person(slot.person, keys),
                        "shift_id": slot.shift_id,
                        "starts_at": _iso(slot.starts_at),
                        "ends_at": _iso(slot.ends_at),
                        "swapped": slot.swapped,
                        "missing": slot.missing,
                    }
                    for slot in c.scheduled
                ],
                "unscheduled_online": [_person(p, keys) for p in c.unscheduled],
            }
            for c in board.creators
        ],
    }
