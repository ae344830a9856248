"""What each kind of rule finds at a moment: the subjects whose condition holds now.

Every kind reads one snapshot of the schedule and presence (``Snapshot``), taken once per
evaluation, so the rules of one round agree with each other.

- **no_presence**: a chatter scheduled now (a shift occurrence covering now) last heard
  from (presence or a batch of slices, as on the Now page:
  ``collector.presence.state.last_batches``), or the shift's start if later, at least N
  minutes ago.
- **idle**: a chatter scheduled now, online (``collector.presence.state.live_state``), on
  no device active, and idle on every idle device for at least N minutes: the
  ``idle_seconds`` the agent reported plus the time since the message arrived (the agent
  counts seconds since the last input, so that is "continuously idle").  Paused devices
  count as neither: a pause is deliberate, not idling.
- **no_show**: an occurrence that started at least N minutes ago (and has not ended) whose
  chatter has sent no presence and no slice since its start.
- **coverage**: a creator whose coverage rules (``CoverageRule``; overlapping rules: the
  highest) require more chatters now than are online for it, by at least N.  *Online for
  a creator*: a chatter whose presence is live and active or idle (paused is not), and
  who is scheduled for that creator now, or who is scheduled for no creator now and is
  linked to it (``chatter_creators``).  A chatter working another creator's shift does
  not count for this one.
- **response_time**: a chatter whose average response time (METRICS.md "Response time",
  ``avg_response_seconds`` from ``collector.stats``, never recomputed here) over the
  current local day of the agency's zone, so far, is above N seconds.

The subject of an alert is its dedupe key: the rule plus the chatter and occurrence
(shift id and local day), the creator, or the chatter and day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.db.alert_models import Alert, AlertRule
from collector.db.models import Chatter, Creator, Slice, chatter_creators
from collector.db.schedule_models import CoverageRule, Presence
from collector.db.settings import get_value
from collector.db.text import count_of, wait
from collector.presence.state import OFFLINE, in_use, last_batches, live_state
from collector.shifts.occurrences import Occurrence, ShiftRule, occurrences, zone_info
from collector.shifts.queries import load_occurrences
from collector.stats import queries
from collector.stats.periods import PeriodError, period

# Coverage rules have no first day; any date before every shift will do.
_ALWAYS = dt.date(2000, 1, 1)
# The longest slice (shared.protocol.ALLOWED_SLICE_SECONDS): a slice that started this
# long before a shift may still reach into it.
_LONGEST_SLICE = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Finding:
    key: str
    message: str
    chatter_id: int | None = None
    creator_id: int | None = None
    shift_id: int | None = None
    occurrence_start: dt.datetime | None = None
    occurrence_end: dt.datetime | None = None
    day: dt.date | None = None


@dataclass(frozen=True)
class Device:
    state: str  # live: active, idle, paused or offline
    idle_seconds: int
    received_at: dt.datetime


@dataclass
class Snapshot:
    """The schedule and presence at ``now``, read once per evaluation."""

    now: dt.datetime
    current: list[Occurrence]  # occurrences covering now
    devices: dict[int, list[Device]]  # per chatter
    chatters: dict[int, str]  # id -> name
    creators: dict[int, str]
    links: dict[int, set[int]]  # creator -> linked chatters
    required: dict[int, int] = field(default_factory=dict)  # creator -> chatters needed now
    batches: dict[int, dt.datetime] = field(default_factory=dict)  # chatter -> last batch

    def last_seen(self, chatter_id: int) -> dt.datetime | None:
        """Last heard from: presence or a batch of slices, as the Now page reads it."""
        found = [d.received_at for d in self.devices.get(chatter_id, [])]
        if chatter_id in self.batches:
            found.append(self.batches[chatter_id])
        return max(found) if found else None

    def online(self, chatter_id: int) -> bool:
        return any(d.state in ("active", "idle") for d in self.devices.get(chatter_id, []))

    def scheduled_now(self) -> dict[int, set[int]]:
        """Chatter -> the creators they are scheduled for now."""
        found: dict[int, set[int]] = defaultdict(set)
        for o in self.current:
            found[o.chatter_id].add(o.creator_id)
        return found


def snapshot(session: Session, now: dt.datetime) -> Snapshot:
    found = load_occurrences(session, now, now + dt.timedelta(seconds=1))
    current = [o for o in found if o.starts_at <= now < o.ends_at]
    devices: dict[int, list[Device]] = defaultdict(list)
    for row in session.scalars(in_use(select(Presence))):
        state = live_state(row.state, row.received_at, now)
        devices[row.chatter_id].append(Device(state, row.idle_seconds, row.received_at))
    links: dict[int, set[int]] = defaultdict(set)
    for chatter_id, creator_id in session.execute(
        select(chatter_creators.c.chatter_id, chatter_creators.c.creator_id)
    ):
        links[creator_id].add(chatter_id)
    return Snapshot(
        now=now,
        current=current,
        devices=dict(devices),
        chatters={i: n for i, n in session.execute(select(Chatter.id, Chatter.name))},
        creators={i: n for i, n in session.execute(select(Creator.id, Creator.name))},
        links=dict(links),
        required=required_now(session, now),
        batches=last_batches(session, {o.chatter_id for o in current}),
    )


def _minutes(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _shift_words(snap: Snapshot, o: Occurrence) -> str:
    zone = zone_info(o.zone)
    start = o.starts_at.astimezone(zone)
    end = o.ends_at.astimezone(zone)
    return (
        f"{snap.creators.get(o.creator_id, '?')} shift {start:%Y-%m-%d %H:%M}–{end:%H:%M} "
        f"({o.zone})"
    )


def _occurrence_key(rule: AlertRule, o: Occurrence) -> str:
    return f"{rule.id}:{rule.kind}:chatter={o.chatter_id}:shift={o.shift_id}:day={o.day}"


def _in_scope(rule: AlertRule, creator_id: int) -> bool:
    return rule.creator_id is None or rule.creator_id == creator_id


def _of_occurrence(o: Occurrence, key: str, message: str) -> Finding:
    return Finding(
        key=key,
        message=message[:500],
        chatter_id=o.chatter_id,
        creator_id=o.creator_id,
        shift_id=o.shift_id,
        occurrence_start=o.starts_at,
        occurrence_end=o.ends_at,
    )


def no_presence(session: Session, snap: Snapshot, rule: AlertRule) -> list[Finding]:
    limit = dt.timedelta(minutes=rule.threshold)
    found = []
    for o in snap.current:
        if not _in_scope(rule, o.creator_id):
            continue
        seen = snap.last_seen(o.chatter_id)
        silent_since = o.starts_at if seen is None or seen < o.starts_at else seen
        if snap.now - silent_since < limit:
            continue
        name = snap.chatters.get(o.chatter_id, "?")
        message = (
            f"{name}: no presence for {_minutes(snap.now - silent_since)} min during the "
            f"{_shift_words(snap, o)}"
        )
        found.append(_of_occurrence(o, _occurrence_key(rule, o), message))
    return found


def idle(session: Session, snap: Snapshot, rule: AlertRule) -> list[Finding]:
    limit = rule.threshold * 60
    found = []
    for o in snap.current:
        if not _in_scope(rule, o.creator_id):
            continue
        live = [d for d in snap.devices.get(o.chatter_id, []) if d.state != OFFLINE]
        idle_devices = [d for d in live if d.state == "idle"]
        if not idle_devices or any(d.state == "active" for d in live):
            continue
        idle_for = min(
            d.idle_seconds + int((snap.now - d.received_at).total_seconds()) for d in idle_devices
        )
        if idle_for < limit:
            continue
        name = snap.chatters.get(o.chatter_id, "?")
        message = f"{name}: idle for {idle_for // 60} min during the {_shift_words(snap, o)}"
        found.append(_of_occurrence(o, _occurrence_key(rule, o), message))
    return found


def showed_up(session: Session, chatter_id: int, start: dt.datetime, end: dt.datetime) -> bool:
    """Any presence or slice of the chatter in [start, end)?  The presence table keeps
    each device's latest message only, so for a period in the past the slices (kept)
    are what tells."""
    latest = session.scalars(
        in_use(select(Presence.received_at)).where(
            Presence.chatter_id == chatter_id,
            Presence.received_at >= start,
            Presence.received_at < end,
        )
    ).first()
    if latest is not None:
        return True
    for slice_start, seconds in session.execute(
        select(Slice.start, Slice.slice_seconds).where(
            Slice.chatter_id == chatter_id,
            Slice.start > start - _LONGEST_SLICE,
            Slice.start < end,
        )
    ):
        if slice_start + dt.timedelta(seconds=seconds) > start:
            return True
    return False


def no_show(session: Session, snap: Snapshot, rule: AlertRule) -> list[Finding]:
    limit = dt.timedelta(minutes=rule.threshold)
    found = []
    for o in snap.current:
        if not _in_scope(rule, o.creator_id) or snap.now - o.starts_at < limit:
            continue
        if showed_up(session, o.chatter_id, o.starts_at, snap.now):
            continue
        name = snap.chatters.get(o.chatter_id, "?")
        message = (
            f"{name}: no-show, nothing received {_minutes(snap.now - o.starts_at)} min after "
            f"the start of the {_shift_words(snap, o)}"
        )
        found.append(_of_occurrence(o, _occurrence_key(rule, o), message))
    return found


def required_now(session: Session, now: dt.datetime) -> dict[int, int]:
    """Creator -> chatters required now (the highest of the rules covering now)."""
    by_id = {r.id: r for r in session.scalars(select(CoverageRule))}
    # A coverage rule has a weekly shift's shape: placed by the one occurrence rule.
    rules = [
        ShiftRule(
            id=r.id,
            chatter_id=0,
            creator_id=r.creator_id,
            zone=r.zone,
            weekdays=r.weekdays,
            start_minute=r.start_minute,
            end_minute=r.end_minute,
            first_day=_ALWAYS,
        )
        for r in by_id.values()
    ]
    required: dict[int, int] = {}
    for o in occurrences(rules, [], now, now + dt.timedelta(seconds=1)):
        if o.starts_at <= now < o.ends_at:
            need = by_id[o.shift_id].required
            required[o.creator_id] = max(required.get(o.creator_id, 0), need)
    return required


def online_for(snap: Snapshot) -> dict[int, set[int]]:
    """Creator -> the chatters online for it now (see the module's docstring)."""
    scheduled = snap.scheduled_now()
    found: dict[int, set[int]] = defaultdict(set)
    for chatter_id in snap.devices:
        if not snap.online(chatter_id):
            continue
        if chatter_id in scheduled:
            for creator_id in scheduled[chatter_id]:
                found[creator_id].add(chatter_id)
            continue
        for creator_id, linked in snap.links.items():
            if chatter_id in linked:
                found[creator_id].add(chatter_id)
    return found


def coverage(session: Session, snap: Snapshot, rule: AlertRule) -> list[Finding]:
    online = online_for(snap)
    found = []
    for creator_id, need in sorted(snap.required.items()):
        if not _in_scope(rule, creator_id):
            continue
        have = len(online.get(creator_id, ()))
        if need - have < rule.threshold:
            continue
        message = (
            f"{snap.creators.get(creator_id, '?')}: {count_of(have, 'chatter')} "
            f"online, {need} required at {snap.now:%H:%M} UTC"
        )
        found.append(
            Finding(
                key=f"{rule.id}:coverage:creator={creator_id}",
                message=message,
                creator_id=creator_id,
            )
        )
    return found


def agency_today(session: Session, now: dt.datetime) -> tuple[dt.date, str]:
    zone = str(get_value(session, "agency_timezone"))
    return now.astimezone(zone_info(zone)).date(), zone


def response_time(session: Session, snap: Snapshot, rule: AlertRule) -> list[Finding]:
    day, zone = agency_today(session, snap.now)
    try:
        window = period(day, day, zone)
    except PeriodError:  # a zone whose midnight is off the quarter hours: no stats
        return []
    creators = None if rule.creator_id is None else frozenset([rule.creator_id])
    totals = queries.totals(
        session.connection(), queries.Selection(window, creators), {}, medians=False
    )
    found = []
    for chatter_id, metrics in sorted(totals.items(), key=lambda kv: kv[0] or 0):
        average = metrics.avg_response_seconds
        if chatter_id is None or average is None or average <= rule.threshold:
            continue
        name = snap.chatters.get(chatter_id, "?")
        where = "" if rule.creator_id is None else f" for {snap.creators.get(rule.creator_id)}"
        message = (
            f"{name}: average response time {wait(average)} on {day}{where} "
            f"({count_of(metrics.responses, 'response')}), above {wait(rule.threshold)}"
        )
        found.append(
            Finding(
                key=f"{rule.id}:response_time:chatter={chatter_id}:day={day}",
                message=message,
                chatter_id=chatter_id,
                creator_id=rule.creator_id,
                day=day,
            )
        )
    return found


KINDS: dict[str, Callable[[Session, Snapshot, AlertRule], list[Finding]]] = {
    "no_presence": no_presence,
    "idle": idle,
    "no_show": no_show,
    "coverage": coverage,
    "response_time": response_time,
}


def cleared(session: Session, alert: Alert, now: dt.datetime) -> bool:
    """An open alert whose subject no longer fires: has its condition cleared?

    Mostly yes.  Two kinds describe something that stays true once its period is over:
    a no-show whose shift ended with the chatter never there (it clears only if they
    did show up within the shift), and a past day's response time.
    """
    if alert.kind == "no_show" and alert.occurrence_end is not None:
        if alert.occurrence_end > now:
            return True
        assert alert.chatter_id is not None and alert.occurrence_start is not None
        return showed_up(session, alert.chatter_id, alert.occurrence_start, alert.occurrence_end)
    if alert.kind == "response_time" and alert.day is not None:
        return alert.day >= agency_today(session, now)[0]
    return True
