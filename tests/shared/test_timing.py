"""The input timing rules (shared.protocol._check_timing) against what the agent really
counts: every set of intervals the agent can report passes, impossible sums are refused
naming the field, and what a real burst pattern gives (a key in a burst begun in the
previous slice, two burst starts closer than a second) is never refused."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.counting import InputCounter
from agent.timeline import Timeline
from shared.protocol import (
    BURST_GAP_MS,
    MAX_GAP_MS,
    TIMING_FIELDS,
    Heartbeat,
    HeartbeatBatch,
    Problem,
    validate_batch,
)

T0 = 1_795_000_020 - 1_795_000_020 % 60  # a minute boundary
NOW = dt.datetime.fromtimestamp(T0 + 600, dt.UTC)


def slice_of(start: int = T0, keystrokes: int = 5, **timing: int | None) -> Heartbeat:
    return Heartbeat(
        seq=1,
        start=dt.datetime.fromtimestamp(start, dt.UTC),
        duration=60,
        active_seconds=60,
        input_seconds=30,
        keystrokes=keystrokes,
        mouse_events=10,
        **timing,  # type: ignore[arg-type]
    )


def problems(beat: Heartbeat) -> list[Problem]:
    batch = HeartbeatBatch(batch_id="b", sent_at=NOW, heartbeats=[beat])
    return validate_batch(batch, slice_seconds=60, now=NOW)


def timing(gaps: list[int], bursts: int | None = None, keyed: int = 0) -> dict[str, int]:
    return {
        "bursts": len(gaps) if bursts is None else bursts,
        "keyed_bursts": keyed,
        "gaps": len(gaps),
        "gap_ms_sum": sum(gaps),
        "gap_ms_sum_sq": sum(g * g for g in gaps),
    }


@given(st.lists(st.integers(1, MAX_GAP_MS), max_size=60), st.data())
def test_every_set_of_intervals_the_agent_can_report_passes(
    gaps: list[int], data: st.DataObject
) -> None:
    # The first interval may begin in the previous slice; the others lie inside this one.
    if sum(gaps[1:]) > 60_000:
        gaps = gaps[:1] + [max(1, 60_000 // max(len(gaps) - 1, 1))] * (len(gaps) - 1)
    bursts = data.draw(st.integers(len(gaps), 60))
    keyed = data.draw(st.integers(0, bursts))
    assert problems(slice_of(**timing(gaps, bursts, keyed))) == []


IMPOSSIBLE: list[tuple[str, dict[str, int], str, str]] = [
    # Three intervals of at least 1 ms each cannot sum to 0 or 2 ms.
    (
        "gaps summing to nothing",
        {**timing([1, 1, 1]), "gap_ms_sum": 0, "gap_ms_sum_sq": 0},
        "gap_ms_sum",
        "shorter than 3 gap(s) of at least 1 ms each",
    ),
    (
        "gaps summing to less than one ms each",
        {**timing([1, 1, 1]), "gap_ms_sum": 2, "gap_ms_sum_sq": 2},
        "gap_ms_sum",
        "shorter than 3 gap(s)",
    ),
    # Cauchy-Schwarz: two intervals summing to 60 s have squares of at least 2 x 30 s².
    (
        "squares below sum²/count",
        {**timing([30_000, 30_000]), "gap_ms_sum_sq": 2 * 30_000**2 - 1},
        "gap_ms_sum_sq",
        "no sum of squares of 2 gap(s) summing to 60000 ms",
    ),
    # Two intervals summing to 60 s have squares of at most 59 999² + 1 (one of 1 ms).
    (
        "squares of one interval given for two",
        {**timing([30_000, 30_000]), "gap_ms_sum_sq": 60_000**2},
        "gap_ms_sum_sq",
        "no sum of squares",
    ),
    (
        "keyed bursts over bursts",
        timing([30_000], bursts=1, keyed=2),
        "keyed_bursts",
        "2 is more than bursts 1",
    ),
    ("gaps over bursts", timing([20_000, 20_000], bursts=1), "gaps", "more than bursts 1"),
    ("no gaps, a sum", {**timing([]), "gap_ms_sum": 5}, "gap_ms_sum", "must be 0"),
]


@pytest.mark.parametrize(
    ("case", "fields", "field", "message"), IMPOSSIBLE, ids=[c[0] for c in IMPOSSIBLE]
)
def test_impossible_timing_is_refused_naming_the_field(
    case: str, fields: dict[str, int], field: str, message: str
) -> None:
    found = problems(slice_of(**fields))
    assert [p.field for p in found] == [f"heartbeats[0].{field}"], (case, found)
    assert message in found[0].message, (case, found)


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def sealed(counter: InputCounter, timeline: Timeline, until: int) -> list[Heartbeat]:
    """What the runner does each tick, then every slice sealed as the agent sends it."""
    for second, (keys, mouse) in counter.drain().items():
        timeline.input(second, keys=keys, mouse=mouse)
    for start_ms, keyed in counter.drain_bursts():
        timeline.burst(start_ms, keyed=keyed)
    beats = []
    for seq, start in enumerate(timeline.sealable(until, final=True), 1):
        totals = timeline.seal(start)
        fields = {name: getattr(totals, name) for name in TIMING_FIELDS}
        beats.append(
            Heartbeat(
                seq=seq,
                start=dt.datetime.fromtimestamp(start, dt.UTC),
                duration=totals.duration,
                active_seconds=totals.active_seconds,
                input_seconds=totals.input_seconds,
                paused_seconds=totals.paused_seconds,
                keystrokes=totals.keystrokes,
                mouse_events=totals.mouse_events,
                **fields,
            )
        )
    return beats


def test_a_key_in_a_burst_begun_in_the_previous_slice_is_not_refused() -> None:
    """Typing without a second's pause across a slice's end: the burst, and its key, count
    in the slice it began in; the next slice has keystrokes and no keyed burst (so
    "keystrokes > 0 with keyed_bursts = 0" is no contradiction, nor the reverse)."""
    clock = Clock(T0 + 59.8)
    counter = InputCounter(clock)
    timeline = Timeline(slice_seconds=60, idle_threshold=180)
    timeline.anchor(T0)
    timeline.run(T0, T0 + 120)
    counter.mouse()  # the burst begins in the first slice, mouse only
    for _ in range(10):
        clock.at += 0.3
        counter.key()  # the same burst (0.3 s apart), in the second slice
    first, second = sealed(counter, timeline, T0 + 120)
    assert (first.keystrokes, first.bursts, first.keyed_bursts) == (0, 1, 1)
    assert (second.keystrokes, second.bursts, second.keyed_bursts) == (10, 0, 0)
    batch = HeartbeatBatch(batch_id="b", sent_at=NOW, heartbeats=[first, second])
    assert validate_batch(batch, slice_seconds=60, now=NOW) == []


def test_burst_starts_closer_than_a_second_are_not_refused() -> None:
    """A clock corrected back a little (the collector's offset) brings two burst starts
    closer than BURST_GAP_MS: the agent counts that interval (any interval above 0 ms), so
    the bound on the sum is 1 ms an interval, not BURST_GAP_MS."""
    clock = Clock(T0 + 10.0)
    counter = InputCounter(clock)
    timeline = Timeline(slice_seconds=60, idle_threshold=180)
    timeline.anchor(T0)
    timeline.run(T0, T0 + 60)
    counter.key()  # burst at 10.0 s
    clock.at = T0 + 8.4  # the offset corrected back by 1.6 s
    counter.key()  # still the same burst (no second of quiet on this clock)
    clock.at = T0 + 9.5
    counter.key()  # a second of quiet: a burst at 9.5 s, 500 ms before the other start
    (beat,) = sealed(counter, timeline, T0 + 60)
    assert (beat.bursts, beat.gaps, beat.gap_ms_sum) == (2, 1, 500)
    assert beat.gaps is not None and beat.gap_ms_sum < beat.gaps * BURST_GAP_MS
    assert problems(beat) == []
