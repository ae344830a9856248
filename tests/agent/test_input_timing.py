"""Input timing per slice: bursts and the intervals between their starts (pure logic and
the outbox; the real input under Xvfb is in test_regular_input_xvfb.py)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import msgspec

from agent.counting import InputCounter
from agent.outbox import Outbox
from agent.sender import batch_body
from agent.timeline import SliceTotals, Timeline, TimelineState
from shared.protocol import TIMING_FIELDS, HeartbeatBatch, validate_batch

T0 = 1_795_000_020 - 1_795_000_020 % 60  # a minute boundary


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def test_events_closer_than_a_second_are_one_burst_and_a_key_marks_it() -> None:
    clock = Clock(T0 + 0.25)
    counter = InputCounter(clock)
    counter.mouse()  # burst 1 starts
    clock.at += 0.9
    counter.key()  # same burst, now keyed
    clock.at += 0.95
    counter.mouse()  # same burst (0.95 s after the previous event)
    clock.at += 1.0
    counter.mouse()  # a second of quiet: burst 2
    clock.at += 30.0
    counter.move()  # burst 3 (a jiggler's move)
    assert counter.drain_bursts() == [
        (int((T0 + 0.25) * 1000), True),
        (int((T0 + 3.1) * 1000), False),
        (int((T0 + 33.1) * 1000), False),
    ]
    assert counter.drain_bursts() == []
    clock.at += 0.5
    counter.key()  # the open burst again, keyed now
    assert counter.drain_bursts() == [(int((T0 + 33.1) * 1000), True)]


def test_gaps_end_in_their_slice_and_idle_stretches_are_not_gaps() -> None:
    t = Timeline(slice_seconds=60, idle_threshold=180)
    t.anchor(T0)
    t.run(T0, T0 + 600)
    moments = [10_000, 40_000, 70_500, 100_000, 400_000, 430_000]  # ms after T0
    for ms in moments:
        t.burst(T0 * 1000 + ms, keyed=False)
        t.input(T0 + ms // 1000, mouse=1)
    t.burst(T0 * 1000 + 100_000, keyed=True)  # the burst at 100 s got a key later
    first, second, *rest = (t.seal(s) for s in t.sealable(T0 + 600, final=True))
    assert (first.bursts, first.keyed_bursts, first.gaps) == (2, 0, 1)
    assert (first.gap_ms_sum, first.gap_ms_sum_sq) == (30_000, 30_000**2)
    # 40 s -> 70.5 s starts in the first slice and ends in the second: counted there.
    assert (second.bursts, second.keyed_bursts, second.gaps) == (2, 1, 2)
    assert (second.gap_ms_sum, second.gap_ms_sum_sq) == (60_000, 30_500**2 + 29_500**2)
    # 100 s -> 400 s is 300 s, longer than the idle threshold: idle, no interval.
    sixth = rest[4]
    assert (sixth.bursts, sixth.gaps, sixth.gap_ms_sum) == (1, 0, 0)
    seventh = rest[5]
    assert (seventh.bursts, seventh.gaps, seventh.gap_ms_sum) == (1, 1, 30_000)


def test_timing_survives_a_checkpoint() -> None:
    t = Timeline(slice_seconds=60, idle_threshold=180)
    t.run(T0, T0 + 120)
    t.burst(T0 * 1000 + 50_000, keyed=False)
    t.seal(T0)
    t.burst(T0 * 1000 + 80_000, keyed=False)
    saved = msgspec.json.encode(t.state)
    # An older agent's checkpoint has no bursts: it still loads.
    old = msgspec.json.decode(saved.replace(b',"bursts"', b',"ignored"'), type=TimelineState)
    assert old.bursts == {}
    restored = Timeline.restore(msgspec.json.decode(saved, type=TimelineState), 180)
    second = restored.seal(T0 + 60)
    assert (second.bursts, second.gaps, second.gap_ms_sum) == (1, 1, 30_000)


def test_a_crowded_slice_goes_without_timing_rather_than_be_refused() -> None:
    t = Timeline(slice_seconds=2, idle_threshold=3)
    t.run(T0, T0 + 2)
    for ms in (0, 500, 1000):  # a clock stepped back a little crowds burst starts
        t.burst(T0 * 1000 + ms, keyed=False)
    totals = t.seal(T0)
    assert all(getattr(totals, name) is None for name in TIMING_FIELDS)


OLD_SCHEMA = """
CREATE TABLE slices (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, start INTEGER NOT NULL UNIQUE,
    slice_seconds INTEGER NOT NULL, duration INTEGER NOT NULL,
    active_seconds INTEGER NOT NULL, input_seconds INTEGER NOT NULL,
    paused_seconds INTEGER NOT NULL, keystrokes INTEGER NOT NULL,
    mouse_events INTEGER NOT NULL, batch_id TEXT, parked_reason TEXT
);
INSERT INTO slices (start, slice_seconds, duration, active_seconds, input_seconds,
    paused_seconds, keystrokes, mouse_events) VALUES (1795000020, 60, 60, 30, 10, 0, 5, 2);
"""


def test_an_old_outbox_gains_the_columns_and_its_rows_still_send(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    outbox = Outbox(path)
    timed = SliceTotals(T0 + 600, 60, 60, 60, 2, 0, 0, 2, 2, 0, 1, 30_000, 30_000**2)
    outbox.add(timed, "2026-11-24")
    batch = outbox.next_batch()
    assert batch is not None
    old, new = batch.slices
    assert old.bursts is None and new.gap_ms_sum_sq == 30_000**2
    sent = msgspec.json.decode(batch_body(batch, outbox, T0 + 700), type=HeartbeatBatch)
    outbox.close()
    # Rows without timing go without the fields; those with, with all five.
    assert sent.heartbeats[0].timing() is None
    assert sent.heartbeats[1].timing() == (2, 0, 1, 30_000, 30_000**2)
    again = Outbox(path)
    raw = msgspec.json.decode(batch_body(batch, again, T0 + 700))
    again.close()
    assert "bursts" not in raw["heartbeats"][0]
    now = dt.datetime.fromtimestamp(T0 + 700, dt.UTC)
    assert validate_batch(sent, slice_seconds=60, now=now) == []
