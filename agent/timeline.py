"""The recent past, second by second, and the slices sealed from it (pure logic).

A second is *running* when the agent was tracking, *paused* when the chatter
paused tracking, and an *input* second when any key or mouse input happened.
Idle is backdated: a stretch between two inputs (or anchors such as the
start of a session) that is longer than the idle threshold is idle from the
earlier input on; every other running, unpaused second is active.  A slice
is final once the idle threshold has passed after its end.

Input timing: the moments (in ms) at which bursts of input began, and whether a
burst had a key press, give each slice its burst counts and the intervals between
burst starts (shared.protocol.Heartbeat.bursts): how regular the input was, with
nothing about which key or where.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import msgspec

from shared.protocol import BURST_GAP_MS, MAX_GAP_MS, TIMING_FIELDS


@dataclass(frozen=True, slots=True)
class SliceTotals:
    start: int
    slice_seconds: int
    duration: int
    active_seconds: int
    input_seconds: int
    paused_seconds: int
    keystrokes: int
    mouse_events: int
    # Input timing (None: a slice sealed before the agent measured it, from an old outbox).
    bursts: int | None = None
    keyed_bursts: int | None = None
    gaps: int | None = None
    gap_ms_sum: int | None = None
    gap_ms_sum_sq: int | None = None


def _add_interval(intervals: list[list[int]], start: int, end: int) -> None:
    """Add [start, end) to sorted, merged intervals (appends are the common case)."""
    if start >= end:
        return
    if intervals and intervals[-1][1] >= start and intervals[-1][0] <= start:
        intervals[-1][1] = max(intervals[-1][1], end)
        return
    i = bisect.bisect_left(intervals, [start, start])
    intervals.insert(i, [start, end])
    # Merge neighbours that now touch or overlap.
    merged: list[list[int]] = []
    for a, b in intervals:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    intervals[:] = merged


def _covered(intervals: list[list[int]], second: int) -> bool:
    i = bisect.bisect_right(intervals, second, key=lambda interval: interval[0]) - 1
    return i >= 0 and intervals[i][0] <= second < intervals[i][1]


class TimelineState(msgspec.Struct):
    """What is checkpointed to disk so a crash loses seconds, not a slice."""

    slice_seconds: int
    running: list[list[int]] = []
    paused: list[list[int]] = []
    inputs: list[int] = []
    anchors: list[int] = []
    keys: dict[int, int] = {}
    mouse: dict[int, int] = {}
    sealed_until: int = 0
    # Burst start (ms) -> had a key press (1) or not (0); the last one before the sealed
    # end is kept as the start of the next interval.  Absent in older checkpoints.
    bursts: dict[int, int] = {}


@dataclass
class Timeline:
    slice_seconds: int
    idle_threshold: int
    state: TimelineState = field(init=False)

    def __post_init__(self) -> None:
        self.state = TimelineState(slice_seconds=self.slice_seconds)

    @classmethod
    def restore(cls, state: TimelineState, idle_threshold: int) -> Timeline:
        timeline = cls(state.slice_seconds, idle_threshold)
        timeline.state = state
        return timeline

    # Recording -----------------------------------------------------------------

    def run(self, start: int, end: int, *, paused: bool = False) -> None:
        """The agent was tracking over [start, end) seconds (paused or not)."""
        start = max(start, self.state.sealed_until)
        _add_interval(self.state.running, start, end)
        if paused:
            _add_interval(self.state.paused, start, end)

    def input(self, second: int, keys: int = 0, mouse: int = 0) -> None:
        if second < self.state.sealed_until:
            return
        if not self.state.inputs or self.state.inputs[-1] < second:
            self.state.inputs.append(second)
        elif second not in self.state.inputs:
            bisect.insort(self.state.inputs, second)
        slot = second - second % self.slice_seconds
        if keys:
            self.state.keys[slot] = self.state.keys.get(slot, 0) + keys
        if mouse:
            self.state.mouse[slot] = self.state.mouse.get(slot, 0) + mouse

    def burst(self, start_ms: int, *, keyed: bool) -> None:
        """Input began a burst at ``start_ms`` (again with ``keyed`` once it had a key)."""
        if start_ms < self.state.sealed_until * 1000:
            return
        self.state.bursts[start_ms] = max(self.state.bursts.get(start_ms, 0), int(keyed))

    def anchor(self, second: int) -> None:
        """A moment known to be active without input (session start, resume)."""
        bisect.insort(self.state.anchors, second)

    def skip_until(self, second: int) -> None:
        """Never record before ``second`` (slices up to there were sealed before a restart).

        A slot that begins before it is skipped whole, so slices never overlap.
        """
        self.state.sealed_until = max(self.state.sealed_until, second)

    def forget_from(self, second: int) -> None:
        """Drop what was recorded at ``second`` or later (it was stamped with a wrong time)."""
        s = self.state
        s.running = [[a, min(b, second)] for a, b in s.running if a < second]
        s.paused = [[a, min(b, second)] for a, b in s.paused if a < second]
        s.inputs = [t for t in s.inputs if t < second]
        s.anchors = [t for t in s.anchors if t < second] + [second]
        slot = second - second % self.slice_seconds
        s.keys = {k: v for k, v in s.keys.items() if k < slot}
        s.mouse = {k: v for k, v in s.mouse.items() if k < slot}
        s.bursts = {k: v for k, v in s.bursts.items() if k < second * 1000}

    # Sealing -------------------------------------------------------------------

    def sealable(self, now: int, *, final: bool = False) -> list[int]:
        """Starts of slices that are complete and final by ``now`` (or all, at exit)."""
        horizon = now - self.idle_threshold
        starts = set()
        for a, b in self.state.running:
            first = max(a, self.state.sealed_until)
            for slot in range(first - first % self.slice_seconds, b, self.slice_seconds):
                if slot >= self.state.sealed_until and (
                    final or slot + self.slice_seconds <= horizon
                ):
                    starts.add(slot)
        return sorted(starts)

    def seal(self, start: int) -> SliceTotals:
        """Totals of one slice; everything before its end is then forgotten."""
        end = start + self.slice_seconds
        points = sorted(set(self.state.inputs) | set(self.state.anchors))
        input_set = set(self.state.inputs)
        duration = active = inputs = paused = 0
        for second in range(start, end):
            if not _covered(self.state.running, second):
                continue
            duration += 1
            if _covered(self.state.paused, second):
                paused += 1
                continue
            if second in input_set:
                inputs += 1
                active += 1
            elif self._between_close_points(points, second):
                active += 1
        totals = SliceTotals(
            start=start,
            slice_seconds=self.slice_seconds,
            duration=duration,
            active_seconds=active,
            input_seconds=inputs,
            paused_seconds=paused,
            keystrokes=self.state.keys.pop(start, 0),
            mouse_events=self.state.mouse.pop(start, 0),
            **self._timing(start, end),
        )
        self._forget_before(end)
        return totals

    def _timing(self, start: int, end: int) -> dict[str, int | None]:
        """Bursts starting in [start, end) and the intervals ending at them (METRICS.md)."""
        starts = sorted(self.state.bursts)
        first = bisect.bisect_left(starts, start * 1000)
        last = bisect.bisect_left(starts, end * 1000)
        if last - first > self.slice_seconds * 1000 // BURST_GAP_MS:
            # Only a clock stepped back a little (less than a jump) crowds bursts so; the
            # slice goes without timing rather than be refused.
            return dict.fromkeys(TIMING_FIELDS)
        longest = min(self.idle_threshold * 1000, MAX_GAP_MS)
        gaps = total = squares = 0
        for i in range(max(first, 1), last):
            gap = starts[i] - starts[i - 1]
            if 0 < gap <= longest:
                gaps += 1
                total += gap
                squares += gap * gap
        return {
            "bursts": last - first,
            "keyed_bursts": sum(self.state.bursts[t] for t in starts[first:last]),
            "gaps": gaps,
            "gap_ms_sum": total,
            "gap_ms_sum_sq": squares,
        }

    def _between_close_points(self, points: list[int], second: int) -> bool:
        i = bisect.bisect_right(points, second)
        if i == 0 or i == len(points):
            return False
        return points[i] - points[i - 1] <= self.idle_threshold

    def _forget_before(self, end: int) -> None:
        s = self.state
        s.sealed_until = max(s.sealed_until, end)
        s.running = [[max(a, end), b] for a, b in s.running if b > end]
        s.paused = [[max(a, end), b] for a, b in s.paused if b > end]
        # Keep the last input or anchor before the cut: it decides whether the
        # next seconds are active.
        for name in ("inputs", "anchors"):
            values: list[int] = getattr(s, name)
            cut = bisect.bisect_left(values, end)
            setattr(s, name, values[max(cut - 1, 0) :])
        s.keys = {k: v for k, v in s.keys.items() if k >= end}
        s.mouse = {k: v for k, v in s.mouse.items() if k >= end}
        before = [t for t in s.bursts if t < end * 1000]
        keep = max(before, default=None)
        s.bursts = {k: v for k, v in s.bursts.items() if k >= end * 1000 or k == keep}
