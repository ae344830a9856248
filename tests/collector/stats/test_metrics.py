"""Every metric of METRICS.md on small scenarios worked out by hand (pure, no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from collector.stats.metrics import EventRow, SliceRow, compute
from collector.stats.periods import PeriodError, period

UTC = dt.UTC
D1 = dt.date(2026, 11, 20)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def ev(event_id: str, type_: str, when: dt.datetime, **kw: object) -> EventRow:
    return EventRow(event_id, type_, when, kw.pop("creator", "luna"), **kw)  # type: ignore[arg-type]


SALES = [
    ev(
        "m1",
        "message_sent",
        at(20, 10),
        chatter="alice",
        contact="f1",
        kind="direct",
        ref="p1",
        amount=1000,
    ),
    ev("b1", "ppv_purchase", at(20, 10, 30), contact="f1", ref="p1", amount=1000),
    ev(
        "m2",
        "message_sent",
        at(20, 11),
        chatter="bob",
        contact="f2",
        kind="direct",
        ref="p2",
        amount=500,
    ),
    ev("t1", "tip", at(20, 12), contact="f1", chatter="bob", amount=500),
    ev("t2", "tip", at(20, 12, 30), contact="f1", amount=300),  # converter: alice at 10:00
    ev("t3", "tip", at(20, 13), contact="f9", amount=200),  # nobody wrote to f9
    ev("r1", "refund", at(21, 9), ref="b1", amount=1000),
    ev("r2", "refund", at(21, 9, 5), ref="ghost", amount=50),
]


def test_sales_attribution_and_refunds() -> None:
    day1 = compute(SALES, [], period(D1, D1, "UTC"))
    alice, bob, nobody = day1["alice"], day1["bob"], day1[None]
    assert (alice.ppv_sales, alice.tips, alice.total_sales) == (1000, 300, 1300)
    assert (alice.ppv_sent, alice.ppv_bought, alice.ppv_purchase_rate) == (1, 1, 1.0)
    assert (bob.ppv_sales, bob.tips, bob.ppv_sent, bob.ppv_bought) == (0, 500, 1, 0)
    assert bob.ppv_purchase_rate == 0.0
    assert (nobody.tips, nobody.total_sales) == (200, 200)

    # The refund lands on its own date, against the chatter credited with the sale.
    day2 = compute(SALES, [], period(D1 + dt.timedelta(days=1), D1 + dt.timedelta(days=1), "UTC"))
    assert (day2["alice"].ppv_sales, day2["alice"].refunds) == (-1000, 1000)
    assert day2[None].unmatched_refunds == 50 and day2[None].total_sales == 0

    both = compute(SALES, [], period(D1, D1 + dt.timedelta(days=1), "UTC"))
    assert (both["alice"].ppv_sales, both["alice"].total_sales) == (0, 300)


def test_tip_converter_window_is_24_hours() -> None:
    events = [
        ev("m", "message_sent", at(19, 12), chatter="alice", contact="f", kind="direct"),
        ev("mass", "message_sent", at(20, 11), chatter="bob", contact="f", kind="mass"),
        ev("t", "tip", at(20, 12, 1), contact="f", amount=100),  # 24 h 1 min after alice
    ]
    rows = compute(events, [], period(D1, D1, "UTC"))
    assert rows[None].tips == 100  # mass messages convert nobody; alice is too long ago


def test_response_times() -> None:
    events = [
        ev("f1", "fan_message", at(20, 9), contact="f"),
        ev("f2", "fan_message", at(20, 9, 1), contact="f"),  # a burst: the wait began at 9:00
        ev("f3", "fan_message", at(20, 9, 5), contact="f"),
        ev("r1", "message_sent", at(20, 9, 10), chatter="alice", contact="f", kind="direct"),
        ev("f4", "fan_message", at(20, 9, 20), contact="f"),
        ev("mass", "message_sent", at(20, 9, 21), chatter="bob", contact="f", kind="mass"),
        ev("auto", "message_sent", at(20, 9, 22), chatter="bob", contact="f", kind="automated"),
        ev("r2", "message_sent", at(20, 9, 50), chatter="bob", contact="f", kind="direct"),
        ev("r3", "message_sent", at(20, 9, 55), chatter="alice", contact="f", kind="direct"),
        ev("f5", "fan_message", at(20, 10), contact="g", creator="nova"),
        ev(
            "r4",
            "message_sent",
            at(21, 10, 1),
            chatter="alice",
            contact="g",
            kind="direct",
            creator="nova",
        ),  # 24 h 1 min: the conversation restarted, no sample
    ]
    rows = compute(events, [], period(D1, D1 + dt.timedelta(days=1), "UTC"))
    alice, bob = rows["alice"], rows["bob"]
    assert alice.response_samples == [600] and alice.responses == 1
    assert (alice.avg_response_seconds, alice.median_response_seconds) == (600.0, 600.0)
    assert bob.response_samples == [1800]  # from 9:20 to 9:50; mass and automated end nothing
    assert (alice.messages_sent, bob.messages_sent) == (3, 1)
    assert (bob.mass_messages_sent, bob.automated_messages_sent) == (1, 1)
    assert rows["bob"].ppv_per_message == 0.0


def test_median_of_several_samples() -> None:
    events = []
    for i, wait in enumerate((60, 120, 600)):
        events.append(ev(f"f{i}", "fan_message", at(20, 8 + i), contact=f"fan{i}"))
        events.append(
            ev(
                f"r{i}",
                "message_sent",
                at(20, 8 + i) + dt.timedelta(seconds=wait),
                chatter="alice",
                contact=f"fan{i}",
                kind="direct",
            )
        )
    alice = compute(events, [], period(D1, D1, "UTC"))["alice"]
    assert alice.median_response_seconds == 120.0 and alice.avg_response_seconds == 260.0


def test_two_devices_in_one_slice_are_online_once() -> None:
    slices = [
        SliceRow("alice", "A", at(20, 10), 60, 40, keystrokes=10, mouse_events=2),
        SliceRow("alice", "B", at(20, 10), 60, 50, keystrokes=5, mouse_events=1),
        SliceRow("alice", "A", at(20, 10, 1), 30, 20, keystrokes=3),
        SliceRow("alice", "A", at(20, 10, 2), 60, 30, paused_seconds=20),
        SliceRow("alice", "A", at(21, 0), 60, 60),  # the next day
    ]
    alice = compute([], slices, period(D1, D1, "UTC"))["alice"]
    assert (alice.online_seconds, alice.active_seconds, alice.inactive_seconds) == (130, 100, 30)
    assert (alice.keystrokes, alice.mouse_events, alice.paused_seconds) == (18, 3, 20)


def test_activity_by_creator() -> None:
    slices = [
        SliceRow("alice", "A", at(20, 10), 60, 60),
        SliceRow("bob", "B", at(20, 10), 60, 30),
        SliceRow("carol", "C", at(20, 10), 60, 45),
    ]
    assignments = {"alice": {"luna"}, "bob": {"luna", "nova"}, "carol": {"nova"}}
    rows = compute([], slices, period(D1, D1, "UTC"), creator="luna", assignments=assignments)
    assert rows["alice"].active_seconds == 60 and not rows["alice"].activity_shared
    assert rows["bob"].active_seconds == 30 and rows["bob"].activity_shared
    assert "carol" not in rows
    everyone = compute([], slices, period(D1, D1, "UTC"), assignments=assignments)
    assert sum(r.active_seconds for r in everyone.values()) == 135


def test_local_days_across_dst() -> None:
    spring = period(dt.date(2026, 3, 29), dt.date(2026, 3, 29), "Europe/Paris")
    assert spring.end - spring.start == dt.timedelta(hours=23)
    assert spring.start == dt.datetime(2026, 3, 28, 23, tzinfo=UTC)
    autumn = period(dt.date(2026, 10, 25), dt.date(2026, 10, 25), "Europe/Paris")
    assert autumn.end - autumn.start == dt.timedelta(hours=25)
    # 23:30 local on the short day is in it; 00:30 local the next day is not.
    late = [
        ev("x", "tip", dt.datetime(2026, 3, 29, 21, 30, tzinfo=UTC), contact="f", amount=1),
        ev("y", "tip", dt.datetime(2026, 3, 29, 22, 30, tzinfo=UTC), contact="f", amount=2),
    ]
    assert compute(late, [], spring)[None].tips == 1


def test_zones_at_quarter_hours() -> None:
    kathmandu = period(D1, D1, "Asia/Kathmandu")  # +05:45
    assert kathmandu.start == dt.datetime(2026, 11, 19, 18, 15, tzinfo=UTC)
    kolkata = period(D1, D1, "Asia/Kolkata")  # +05:30
    assert kolkata.start == dt.datetime(2026, 11, 19, 18, 30, tzinfo=UTC)
    assert kolkata.previous().last == D1 - dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("first", "last", "tz", "message"),
    [
        (D1, D1 - dt.timedelta(days=1), "UTC", "before start"),
        (D1, D1 + dt.timedelta(days=366), "UTC", "at most 366 days"),
        (D1, D1, "Mars/Olympus", "IANA"),
        # Liberia kept -00:44:30 until 1972: its days cannot be cut into quarter hours.
        (dt.date(1960, 1, 1), dt.date(1960, 1, 1), "Africa/Monrovia", "quarter hour"),
    ],
)
def test_bad_periods(first: dt.date, last: dt.date, tz: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        period(first, last, tz)
