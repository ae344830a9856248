"""Shift rules become the right UTC intervals: weekly, once, overnight, DST, exceptions."""

from __future__ import annotations

import datetime as dt

from collector.shifts.occurrences import CANCELLED, SWAPPED, Change, ShiftRule, occurrences

UTC = dt.UTC
MON_TO_FRI = 0b0011111


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def rule(**kw: object) -> ShiftRule:
    base: dict[str, object] = {
        "id": 1,
        "chatter_id": 10,
        "creator_id": 20,
        "zone": "Europe/Paris",
        "weekdays": MON_TO_FRI,
        "start_minute": 9 * 60,
        "end_minute": 17 * 60,
        "first_day": dt.date(2026, 3, 1),
    }
    base.update(kw)
    return ShiftRule(**base)  # type: ignore[arg-type]


def test_weekly_shift_runs_on_its_weekdays_in_local_time() -> None:
    found = occurrences([rule()], [], at("2026-03-02 00:00"), at("2026-03-09 00:00"))
    assert [o.day.isoformat() for o in found] == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-05",
        "2026-03-06",
    ]
    assert found[0].starts_at == at("2026-03-02 08:00")  # 09:00 CET
    assert found[0].seconds == 8 * 3600


def test_overnight_shift_across_spring_forward_is_an_hour_shorter() -> None:
    # Paris moves to summer time at 02:00 on Sunday 29 March 2026.
    night = rule(weekdays=0b1111111, start_minute=22 * 60, end_minute=6 * 60)
    found = occurrences([night], [], at("2026-03-28 00:00"), at("2026-03-31 00:00"))
    by_day = {o.day.isoformat(): o for o in found}
    assert by_day["2026-03-28"].starts_at == at("2026-03-28 21:00")
    assert by_day["2026-03-28"].ends_at == at("2026-03-29 04:00")  # 06:00 CEST
    assert by_day["2026-03-28"].seconds == 7 * 3600
    assert by_day["2026-03-29"].seconds == 8 * 3600


def test_overnight_shift_across_fall_back_is_an_hour_longer() -> None:
    night = rule(weekdays=0b1111111, start_minute=22 * 60, end_minute=6 * 60)
    found = occurrences([night], [], at("2026-10-24 12:00"), at("2026-10-25 12:00"))
    assert [(o.day.isoformat(), o.seconds) for o in found] == [("2026-10-24", 9 * 3600)]


def test_a_start_in_the_spring_gap_lands_after_it() -> None:
    odd = rule(weekdays=0, first_day=dt.date(2026, 3, 29), start_minute=150, end_minute=5 * 60)
    (only,) = occurrences([odd], [], at("2026-03-28 00:00"), at("2026-03-30 00:00"))
    assert only.starts_at == at("2026-03-29 01:30")  # 02:30 read as CET = 03:30 CEST
    assert only.ends_at == at("2026-03-29 03:00")


def test_one_off_shift_and_bounds() -> None:
    once = rule(weekdays=0, first_day=dt.date(2026, 3, 4))
    assert len(occurrences([once], [], at("2026-03-01 00:00"), at("2026-04-01 00:00"))) == 1
    ended = rule(last_day=dt.date(2026, 3, 3))
    days = occurrences([ended], [], at("2026-03-01 00:00"), at("2026-04-01 00:00"))
    assert [o.day.day for o in days] == [2, 3]


def test_an_occurrence_that_started_before_the_range_is_included() -> None:
    night = rule(weekdays=0b1111111, start_minute=22 * 60, end_minute=6 * 60)
    found = occurrences([night], [], at("2026-03-03 02:00"), at("2026-03-03 03:00"))
    assert [o.day.isoformat() for o in found] == ["2026-03-02"]


def test_cancelled_and_swapped_days() -> None:
    changes = [
        Change(1, dt.date(2026, 3, 3), CANCELLED),
        Change(1, dt.date(2026, 3, 4), SWAPPED, 11),
    ]
    found = occurrences([rule()], changes, at("2026-03-02 00:00"), at("2026-03-05 00:00"))
    assert [(o.day.day, o.chatter_id, o.swapped) for o in found] == [
        (2, 10, False),
        (4, 11, True),
    ]


def test_equal_start_and_end_is_a_full_day() -> None:
    full = rule(weekdays=0, first_day=dt.date(2026, 3, 4), start_minute=0, end_minute=0)
    (only,) = occurrences([full], [], at("2026-03-01 00:00"), at("2026-04-01 00:00"))
    assert only.seconds == 24 * 3600
