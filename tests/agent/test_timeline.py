"""Backdated idle, pauses and gaps, worked out by hand (pure logic, no X server)."""

from __future__ import annotations

import msgspec

from agent.timeline import Timeline, TimelineState

T0 = 1_795_000_020 - 1_795_000_020 % 60  # a minute boundary


def make(threshold: int = 180) -> Timeline:
    timeline = Timeline(slice_seconds=60, idle_threshold=threshold)
    timeline.anchor(T0)
    return timeline


def test_backdated_idle_by_hand() -> None:
    t = make()
    t.run(T0, T0 + 600)
    for offset, keys in ((10, 3), (100, 1), (400, 2), (590, 1)):
        t.input(T0 + offset, keys=keys)
    t.input(T0 + 30, mouse=4)

    # Final once the threshold (180 s) has passed after the slice's end.
    assert t.sealable(T0 + 600) == [T0 + 60 * i for i in range(7)]
    first = t.seal(T0)
    # 0..9 anchor->input gap 10 s, 10 input, 11..59 between inputs 10 and 100 (gap 90).
    assert (first.duration, first.active_seconds, first.input_seconds) == (60, 60, 2)
    assert (first.keystrokes, first.mouse_events) == (3, 4)
    second = t.seal(T0 + 60)
    # 60..99 active, 100 input, 101..119 idle: the gap 100 -> 400 is 300 s.
    assert (second.active_seconds, second.input_seconds, second.keystrokes) == (41, 1, 1)
    for start in (T0 + 120, T0 + 180, T0 + 240, T0 + 300):
        assert t.seal(start).active_seconds == 0
    # 400 is an input; 401..419 idle because the next input (590) is 190 s later.
    seventh = t.seal(T0 + 360)
    assert (seventh.active_seconds, seventh.input_seconds, seventh.keystrokes) == (1, 1, 2)
    assert t.sealable(T0 + 600) == []
    assert t.sealable(T0 + 780) == [T0 + 420, T0 + 480, T0 + 540]


def test_gap_within_threshold_stays_active() -> None:
    t = make(threshold=120)
    t.run(T0, T0 + 240)
    t.input(T0 + 5)
    t.input(T0 + 125)  # gap 120: still active (not longer than the threshold)
    t.input(T0 + 239)
    totals = [t.seal(s) for s in t.sealable(T0 + 240, final=True)]
    assert [x.active_seconds for x in totals] == [60, 60, 60, 60]


def test_offline_seconds_are_not_online() -> None:
    t = make()
    t.run(T0, T0 + 20)
    t.run(T0 + 50, T0 + 60)  # 20..50 suspended
    t.input(T0 + 1)
    t.input(T0 + 55)
    totals = t.seal(T0)
    assert totals.duration == 30
    # 0..19 and 50..55 are active (the 54 s gap is under the threshold), but only
    # running seconds count; 56..59 follow the last input with nothing after: idle.
    assert totals.active_seconds == 26


def test_pause_is_reported_as_paused() -> None:
    t = make()
    t.run(T0, T0 + 30)
    t.anchor(T0 + 30)  # pausing is itself an action at the keyboard
    t.run(T0 + 30, T0 + 60, paused=True)
    t.input(T0 + 10)
    totals = t.seal(T0)
    assert (totals.duration, totals.paused_seconds, totals.active_seconds) == (60, 30, 30)


def test_final_seal_at_exit_and_skip_after_restart() -> None:
    t = make()
    t.run(T0, T0 + 75)
    t.input(T0 + 70)
    t.anchor(T0 + 75)  # the exit itself
    starts = t.sealable(T0 + 75, final=True)
    assert starts == [T0, T0 + 60]
    last = [t.seal(s) for s in starts][-1]
    assert (last.duration, last.active_seconds) == (15, 15)

    restarted = make()
    restarted.skip_until(last.start + last.slice_seconds)  # sealed at exit, up to T0+120
    restarted.run(T0 + 80, T0 + 200)
    assert restarted.sealable(T0 + 200, final=True) == [T0 + 120, T0 + 180]


def test_a_slot_begun_before_the_skip_is_skipped_whole() -> None:
    """After 20 s slices up to T0+20, 60 s slices start at T0+60, never over them."""
    restarted = make()
    restarted.skip_until(T0 + 20)
    restarted.run(T0 + 25, T0 + 150)
    assert restarted.sealable(T0 + 150, final=True) == [T0 + 60, T0 + 120]


def test_checkpoint_round_trip() -> None:
    t = make()
    t.run(T0, T0 + 90)
    t.input(T0 + 61, keys=5)
    t.seal(T0)
    raw = msgspec.json.encode(t.state)
    back = Timeline.restore(msgspec.json.decode(raw, type=TimelineState), idle_threshold=180)
    assert back.state == t.state
    assert back.seal(T0 + 60).keystrokes == 5
