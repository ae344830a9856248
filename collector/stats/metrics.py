"""Every per-chatter number of METRICS.md, computed straight from raw rows.

This is the reference: plain Python over events and slices, no SQL.  Faster
paths (precomputed rollups) must give exactly these numbers.
"""

from __future__ import annotations

import bisect
import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from collector.shifts.occurrences import local_to_utc, zone_info
from collector.stats.periods import Period

# A reply after this long answers a conversation that had restarted: no sample.
MAX_WAIT = dt.timedelta(hours=24)
# A tip without a named chatter goes to whoever last messaged the fan this recently.
CONVERTER_WINDOW = dt.timedelta(hours=24)
# Regular (machine-like) input, METRICS.md: mouse-only slices of one device in a row,
# at least this long, whose pooled intervals between input bursts number at least
# REGULAR_MIN_GAPS and vary by less than REGULAR_MAX_CV (coefficient of variation).
REGULAR_MIN_SPAN = 300
REGULAR_MIN_GAPS = 5
REGULAR_MAX_CV = Fraction(1, 10)


@dataclass(frozen=True)
class EventRow:
    event_id: str
    type: str
    occurred_at: dt.datetime
    creator: str
    chatter: str | None = None
    contact: str | None = None  # the fan
    kind: str | None = None  # direct, mass, automated
    ref: str | None = None  # PPV id, or the refunded event's id
    amount: int = 0  # minor units
    assigned: str | None = None  # a manager's reassignment of this sale


@dataclass(frozen=True)
class SliceRow:
    chatter: str
    device: str
    start: dt.datetime
    duration: int
    active_seconds: int
    paused_seconds: int = 0
    keystrokes: int = 0
    mouse_events: int = 0
    slice_seconds: int = 60
    # Input timing (shared.protocol.Heartbeat): bursts, keyed bursts, gaps, their sum and
    # sum of squares in ms; None when the agent sent none.
    timing: tuple[int, int, int, int, int] | None = None

    @property
    def mouse_only(self) -> bool:
        """Active, with timing, and not a key pressed: what a run of regular input is made of."""
        t = self.timing
        return t is not None and t[1] == 0 and self.keystrokes == 0 and self.active_seconds > 0


def steady(gaps: int, total: int, squares: int) -> bool:
    """Enough intervals, and their coefficient of variation below REGULAR_MAX_CV.

    CV² = variance / mean² = (gaps x squares - total²) / total², compared exactly.
    """
    if gaps < REGULAR_MIN_GAPS or total <= 0:
        return False
    cv = REGULAR_MAX_CV
    spread = gaps * squares - total * total
    return spread * cv.denominator**2 < cv.numerator**2 * total * total


def regular_slices(slices: Iterable[SliceRow]) -> set[tuple[str, dt.datetime]]:
    """(device, start) of every regular slice (METRICS.md "Regular (machine-like) input").

    From each mouse-only slice, take it and the device's next slices while each starts
    where the previous ended and is mouse-only, until they span REGULAR_MIN_SPAN seconds;
    when they do and their pooled intervals are steady, every slice taken is regular.
    """
    by_device: dict[str, list[SliceRow]] = defaultdict(list)
    for s in slices:
        by_device[s.device].append(s)
    regular: set[tuple[str, dt.datetime]] = set()
    for device, rows in by_device.items():
        rows.sort(key=lambda r: r.start)
        for i, first in enumerate(rows):
            taken: list[SliceRow] = []
            end = first.start
            for row in rows[i:]:
                if row.start != end or not row.mouse_only:
                    break
                taken.append(row)
                end = row.start + dt.timedelta(seconds=row.slice_seconds)
                if end - first.start >= dt.timedelta(seconds=REGULAR_MIN_SPAN):
                    break
            if not taken or end - first.start < dt.timedelta(seconds=REGULAR_MIN_SPAN):
                continue
            gaps = sum(r.timing[2] for r in taken if r.timing)
            total = sum(r.timing[3] for r in taken if r.timing)
            squares = sum(r.timing[4] for r in taken if r.timing)
            if steady(gaps, total, squares):
                regular.update((device, r.start) for r in taken)
    return regular


@dataclass
class ChatterMetrics:
    ppv_sales: int = 0
    tips: int = 0
    refunds: int = 0
    unmatched_refunds: int = 0
    ppv_sent: int = 0
    ppv_bought: int = 0
    messages_sent: int = 0
    mass_messages_sent: int = 0
    automated_messages_sent: int = 0
    keystrokes: int = 0
    mouse_events: int = 0
    online_seconds: int = 0
    active_seconds: int = 0
    paused_seconds: int = 0
    # Active seconds that regular input made (METRICS.md); part of active_seconds unless
    # the admin excludes them (exclude_regular_input), then taken out of it.
    regular_seconds: int = 0
    regular_excluded: bool = False
    activity_shared: bool = False
    responses: int = 0
    response_total: int = 0
    # Every sample when the median is wanted; views that show no median leave it empty.
    response_samples: list[int] = field(default_factory=list)
    # Set instead of the samples when the median was computed elsewhere (rollups).
    response_median: float | None = None

    def add_response(self, seconds: int) -> None:
        self.responses += 1
        self.response_total += seconds
        self.response_samples.append(seconds)

    def exclude_regular(self) -> None:
        """The one place active time loses regular input (setting exclude_regular_input):
        every view reads active_seconds, so each then shows active time without it (and
        that time as inactive, since the chatter was online)."""
        if not self.regular_excluded:
            self.active_seconds -= self.regular_seconds
            self.regular_excluded = True

    @property
    def total_sales(self) -> int:
        return self.ppv_sales + self.tips

    @property
    def inactive_seconds(self) -> int:
        return self.online_seconds - self.active_seconds

    @property
    def ppv_purchase_rate(self) -> float | None:
        return None if self.ppv_sent == 0 else self.ppv_bought / self.ppv_sent

    @property
    def avg_response_seconds(self) -> float | None:
        return None if self.responses == 0 else self.response_total / self.responses

    @property
    def median_response_seconds(self) -> float | None:
        if self.response_median is not None:
            return self.response_median
        return (
            None if not self.response_samples else float(statistics.median(self.response_samples))
        )

    @property
    def ppv_per_message(self) -> float | None:
        return None if self.messages_sent == 0 else self.ppv_sent / self.messages_sent


def combined(parts: Iterable[ChatterMetrics]) -> ChatterMetrics:
    """The sum of several chatters' additive figures (the key figures of a selection).

    The median is not additive: the result has none.
    """
    total = ChatterMetrics()
    for m in parts:
        total.regular_excluded = total.regular_excluded or m.regular_excluded
        for name in _ADDITIVE:
            setattr(total, name, getattr(total, name) + getattr(m, name))
    return total


_ADDITIVE = (
    "ppv_sales tips refunds unmatched_refunds ppv_sent ppv_bought messages_sent "
    "mass_messages_sent automated_messages_sent keystrokes mouse_events online_seconds "
    "active_seconds paused_seconds regular_seconds responses response_total"
).split()


UNATTRIBUTED = None  # the row key for sales no chatter is credited with


def compute(
    events: Iterable[EventRow],
    slices: Iterable[SliceRow],
    window: Period,
    *,
    creator: str | Collection[str] | None = None,
    assignments: Mapping[str, set[str]] | None = None,
    shift_credit: ShiftCredit | None = None,
    exclude_regular: bool = False,
) -> dict[str | None, ChatterMetrics]:
    """Metrics per chatter key (None: unattributed) for one window and creator (or all).

    ``creator`` may be several creators (a manager limited to them): their union.
    ``exclude_regular``: the setting exclude_regular_input.  ``shift_credit``: the
    settings ppv_credit and tip_credit with the shifts (None: both at their defaults).
    """
    chosen = _chosen(creator)
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    rows: dict[str | None, ChatterMetrics] = defaultdict(ChatterMetrics)
    credit = _credits(ordered, shift_credit)
    bought = {(e.creator, e.ref, e.contact) for e in ordered if e.type == "ppv_purchase"}

    for e in ordered:
        if chosen is not None and e.creator not in chosen:
            continue
        if not window.contains(e.occurred_at):
            continue
        if e.type == "message_sent" and e.chatter is not None:
            row = rows[e.chatter]
            if e.kind == "direct":
                row.messages_sent += 1
            elif e.kind == "mass":
                row.mass_messages_sent += 1
            else:
                row.automated_messages_sent += 1
            if e.ref is not None:
                row.ppv_sent += 1
                if (e.creator, e.ref, e.contact) in bought:
                    row.ppv_bought += 1
        elif e.type in ("ppv_purchase", "tip"):
            chatter, _ = credit[e.event_id]
            if e.type == "ppv_purchase":
                rows[chatter].ppv_sales += e.amount
            else:
                rows[chatter].tips += e.amount
        elif e.type == "refund":
            refunded = credit.get(e.ref or "")
            if refunded is None:
                rows[UNATTRIBUTED].unmatched_refunds += e.amount
                continue
            chatter, kind = refunded
            row = rows[chatter]
            row.refunds += e.amount
            if kind == "ppv_purchase":
                row.ppv_sales -= e.amount
            else:
                row.tips -= e.amount

    for chatter, _, sample in _response_samples(ordered, window, chosen):
        rows[chatter].add_response(sample)
    _activity(rows, slices, window, chosen, assignments or {})
    if exclude_regular:
        for row in rows.values():
            row.exclude_regular()
    return dict(rows)


def _chosen(creator: str | Collection[str] | None) -> frozenset[str] | None:
    if creator is None:
        return None
    return frozenset([creator] if isinstance(creator, str) else creator)


def _credits(
    ordered: list[EventRow], shift_credit: ShiftCredit | None = None
) -> dict[str, tuple[str | None, str]]:
    """Who each purchase and tip is credited to: event id -> (chatter, type).

    In order: a manager's reassignment; the one chatter on shift, for a kind of sale
    credited by shift; the sender (PPVs) or the named chatter, else the converter (tips).
    """
    on_shift = shift_credit.holder if shift_credit is not None else _nobody
    ppv_sender: dict[tuple[str, str | None, str | None], str] = {}
    ppv_first_sender: dict[tuple[str, str | None], str] = {}
    # Per conversation, the direct messages in time order: (times, chatters).
    directs: dict[tuple[str, str | None], tuple[list[dt.datetime], list[str]]] = defaultdict(
        lambda: ([], [])
    )
    credit: dict[str, tuple[str | None, str]] = {}
    for e in ordered:
        if e.type == "message_sent" and e.chatter is not None:
            if e.ref is not None:
                ppv_sender.setdefault((e.creator, e.ref, e.contact), e.chatter)
                ppv_first_sender.setdefault((e.creator, e.ref), e.chatter)
            if e.kind == "direct":
                times, chatters = directs[(e.creator, e.contact)]
                times.append(e.occurred_at)
                chatters.append(e.chatter)
    # Second pass: a PPV may be sent after its purchase is recorded (late arrival).
    for e in ordered:
        if e.type == "ppv_purchase":
            chatter = ppv_sender.get((e.creator, e.ref, e.contact)) or ppv_first_sender.get(
                (e.creator, e.ref)
            )
            credit[e.event_id] = (e.assigned or on_shift(e) or chatter, e.type)
        elif e.type == "tip":
            credit[e.event_id] = (
                e.assigned or on_shift(e) or e.chatter or _converter(directs, e),
                e.type,
            )
    return credit


def _nobody(sale: EventRow) -> str | None:
    return None


@dataclass(frozen=True)
class ShiftRow:
    """A stored shift (collector/db/schedule_models.py), by keys."""

    id: int
    creator: str
    chatter: str
    zone: str
    weekdays: int  # bit 0 Monday .. bit 6 Sunday; 0: once, on first_day
    start_minute: int
    end_minute: int  # at or before start_minute: ends the next local day
    first_day: dt.date
    last_day: dt.date | None = None


@dataclass(frozen=True)
class ShiftExceptionRow:
    shift_id: int
    day: dt.date
    kind: str  # cancelled | swapped
    replacement: str | None = None


@dataclass(frozen=True)
class ShiftCredit:
    """The settings ppv_credit and tip_credit (True: ``shift``) and the stored shifts."""

    ppv: bool = False
    tip: bool = False
    shifts: tuple[ShiftRow, ...] = ()
    exceptions: tuple[ShiftExceptionRow, ...] = ()

    def holder(self, sale: EventRow) -> str | None:
        """The one chatter holding a shift occurrence of the sale's creator at its moment
        (start <= t < end), when its kind is credited by shift; else None."""
        if not (self.ppv if sale.type == "ppv_purchase" else self.tip):
            return None
        changed = {(x.shift_id, x.day): x for x in self.exceptions}
        held: set[str] = set()
        for shift in self.shifts:
            if shift.creator != sale.creator:
                continue
            local = sale.occurred_at.astimezone(zone_info(shift.zone)).date()
            # An occurrence lasts at most 25 hours: it started that local day or the one before.
            for day in (local - dt.timedelta(days=1), local):
                if not _runs(shift, day):
                    continue
                end_day = day + dt.timedelta(days=int(shift.end_minute <= shift.start_minute))
                start = local_to_utc(day, shift.start_minute, shift.zone)
                end = local_to_utc(end_day, shift.end_minute, shift.zone)
                if not start <= sale.occurred_at < end:
                    continue
                change = changed.get((shift.id, day))
                if change is None:
                    held.add(shift.chatter)
                elif change.kind == "swapped" and change.replacement is not None:
                    held.add(change.replacement)
        return held.pop() if len(held) == 1 else None


def _runs(shift: ShiftRow, day: dt.date) -> bool:
    if day < shift.first_day or (shift.last_day is not None and day > shift.last_day):
        return False
    if shift.weekdays == 0:
        return day == shift.first_day
    return bool(shift.weekdays >> day.weekday() & 1)


def _converter(
    directs: Mapping[tuple[str, str | None], tuple[list[dt.datetime], list[str]]],
    tip: EventRow,
) -> str | None:
    """The chatter who last sent a direct message to the tipping fan within 24 h before."""
    times, chatters = directs.get((tip.creator, tip.contact), ([], []))
    i = bisect.bisect_right(times, tip.occurred_at) - 1
    if i < 0 or tip.occurred_at - times[i] > CONVERTER_WINDOW:
        return None
    return chatters[i]


def _response_samples(
    ordered: list[EventRow], window: Period, chosen: frozenset[str] | None
) -> Iterable[tuple[str, tuple[str, str | None], int]]:
    """(chatter, conversation, wait) of every sample in the window."""
    waiting: dict[tuple[str, str | None], dt.datetime] = {}
    for e in ordered:
        if chosen is not None and e.creator not in chosen:
            continue
        key = (e.creator, e.contact)
        if e.type == "fan_message":
            waiting.setdefault(key, e.occurred_at)
        elif e.type == "message_sent" and e.kind == "direct" and e.chatter is not None:
            started = waiting.pop(key, None)
            if started is None:
                continue
            wait = e.occurred_at - started
            if wait <= MAX_WAIT and window.contains(e.occurred_at):
                yield e.chatter, key, int(wait.total_seconds())


@dataclass
class FanInteractions:
    """What one fan (a conversation: creator, fan) did with one chatter in a window."""

    messages_sent: int = 0
    fan_messages: int = 0
    ppv_sent: int = 0
    ppv_bought: int = 0
    ppv_revenue: int = 0  # before refunds
    tip_revenue: int = 0
    refunds: int = 0
    last_contact: dt.datetime | None = None
    response_samples: list[int] = field(default_factory=list)

    @property
    def net_revenue(self) -> int:
        return self.ppv_revenue + self.tip_revenue - self.refunds

    @property
    def median_wait_seconds(self) -> float | None:
        samples = self.response_samples
        return float(statistics.median(samples)) if samples else None

    def touched(self, moment: dt.datetime) -> None:
        if self.last_contact is None or moment > self.last_contact:
            self.last_contact = moment


def fan_interactions(
    events: Iterable[EventRow],
    window: Period,
    chatter: str,
    *,
    creator: str | Collection[str] | None = None,
    shift_credit: ShiftCredit | None = None,
) -> dict[tuple[str, str | None], FanInteractions]:
    """Per conversation (creator, fan) the chatter took part in (METRICS.md "Fan interactions").

    A fan is in when, in the window, the chatter sent them a direct message or a sale or
    refund of theirs is credited to the chatter; the fan's messages then count whoever
    answered.  Mass and automated messages go to many fans at once: they count nowhere here.
    """
    chosen = _chosen(creator)
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    credit = _credits(ordered, shift_credit)
    bought = {(e.creator, e.ref, e.contact) for e in ordered if e.type == "ppv_purchase"}
    sales = {e.event_id: e for e in ordered if e.type in ("ppv_purchase", "tip")}
    fans: dict[tuple[str, str | None], FanInteractions] = defaultdict(FanInteractions)
    for e in ordered:
        if (chosen is not None and e.creator not in chosen) or not window.contains(e.occurred_at):
            continue
        if e.type == "message_sent" and e.chatter == chatter and e.kind == "direct":
            row = fans[(e.creator, e.contact)]
            row.messages_sent += 1
            if e.ref is not None:
                row.ppv_sent += 1
                row.ppv_bought += (e.creator, e.ref, e.contact) in bought
        elif e.type in ("ppv_purchase", "tip") and credit[e.event_id][0] == chatter:
            row = fans[(e.creator, e.contact)]
            if e.type == "ppv_purchase":
                row.ppv_revenue += e.amount
            else:
                row.tip_revenue += e.amount
        elif e.type == "refund" and e.ref in sales and credit[e.ref][0] == chatter:
            row = fans[(e.creator, sales[e.ref].contact)]
            row.refunds += e.amount
        else:
            continue
        row.touched(e.occurred_at)
    for e in ordered:
        key = (e.creator, e.contact)
        if e.type == "fan_message" and key in fans and window.contains(e.occurred_at):
            fans[key].fan_messages += 1
    for who, key, sample in _response_samples(ordered, window, chosen):
        if who == chatter:
            fans[key].response_samples.append(sample)
    return dict(fans)


def _activity(
    rows: dict[str | None, ChatterMetrics],
    slices: Iterable[SliceRow],
    window: Period,
    chosen: frozenset[str] | None,
    assignments: Mapping[str, set[str]],
) -> None:
    """Per aligned slice a chatter is online once: max across devices; counts add up.

    A chatter's slices overlap only in the same slot (same start and length), so the
    maximum per start counts each second once."""
    online: dict[tuple[str, dt.datetime], int] = defaultdict(int)
    active: dict[tuple[str, dt.datetime], int] = defaultdict(int)
    paused: dict[tuple[str, dt.datetime], int] = defaultdict(int)
    # The most active seconds of a start's slices that are not regular input: what
    # remains of the start's active time without regular input.
    human: dict[tuple[str, dt.datetime], int] = defaultdict(int)
    slices = list(slices)
    regular = regular_slices(slices)  # over every slice: runs cross the window's edges
    for s in slices:
        if not window.contains(s.start):
            continue
        if chosen is not None and chosen.isdisjoint(assignments.get(s.chatter, set())):
            continue
        key = (s.chatter, s.start)
        online[key] = max(online[key], s.duration - s.paused_seconds)
        active[key] = max(active[key], s.active_seconds)
        paused[key] = max(paused[key], s.paused_seconds)
        if (s.device, s.start) not in regular:
            human[key] = max(human[key], s.active_seconds)
        row = rows[s.chatter]
        row.keystrokes += s.keystrokes
        row.mouse_events += s.mouse_events
    for (chatter, _start), seconds in online.items():
        rows[chatter].online_seconds += seconds
    for (chatter, start), seconds in active.items():
        rows[chatter].active_seconds += seconds
        rows[chatter].regular_seconds += seconds - human[(chatter, start)]
    for (chatter, _start), seconds in paused.items():
        rows[chatter].paused_seconds += seconds
    if chosen is not None:
        # Also counted for a creator not chosen (the rule of queries.Selection.shared).
        for name, row in rows.items():
            assigned = assignments.get(name, set()) if name is not None else set()
            if len(assigned) > 1 and not assigned <= chosen:
                row.activity_shared = True
