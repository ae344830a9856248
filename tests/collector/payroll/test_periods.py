"""Pay periods: every day in exactly one period, periods back to back, and their UTC bounds
those of the stats' local days (DST days included)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.payroll.periods import KINDS, PayPeriod, PayPeriodError, PaySchedule
from collector.stats.periods import period

DAYS = st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31))
SCHEDULES = st.builds(PaySchedule, st.sampled_from(KINDS), DAYS)


@given(SCHEDULES, DAYS)
def test_a_day_is_in_its_period_and_periods_are_back_to_back(s: PaySchedule, day: dt.date) -> None:
    p = s.containing(day)
    assert p.first <= day <= p.last
    assert all(s.containing(p.first + dt.timedelta(days=i)) == p for i in range(p.days))
    after = s.following(p)
    assert after.first == p.last + dt.timedelta(days=1)
    assert s.containing(p.first - dt.timedelta(days=1)).last == p.first - dt.timedelta(days=1)
    assert s.parse(p.label()) == p and s.parse(day.isoformat()) == p


@given(SCHEDULES, DAYS, st.integers(0, 120))
def test_between_covers_the_range_without_gaps(s: PaySchedule, first: dt.date, span: int) -> None:
    last = first + dt.timedelta(days=span)
    found = s.between(first, last)
    assert found[0].first <= first and found[-1].last >= last
    assert all(
        b.first == a.last + dt.timedelta(days=1) for a, b in zip(found, found[1:], strict=False)
    )


def test_the_four_kinds_by_example() -> None:
    day = dt.date(2026, 11, 20)  # a Friday
    assert PaySchedule("weekly").containing(day) == PayPeriod(
        dt.date(2026, 11, 16), dt.date(2026, 11, 22)
    )
    biweekly = PaySchedule("biweekly", dt.date(2026, 11, 2))
    assert biweekly.containing(day) == PayPeriod(dt.date(2026, 11, 16), dt.date(2026, 11, 29))
    semi = PaySchedule("semimonthly")
    assert semi.containing(day) == PayPeriod(dt.date(2026, 11, 16), dt.date(2026, 11, 30))
    assert semi.containing(dt.date(2028, 2, 29)) == PayPeriod(
        dt.date(2028, 2, 16), dt.date(2028, 2, 29)
    )
    assert PaySchedule("monthly").containing(day) == PayPeriod(
        dt.date(2026, 11, 1), dt.date(2026, 11, 30)
    )


def test_a_period_across_a_dst_change_has_its_true_length() -> None:
    # October 2026 in Europe/Paris has a 25-hour day (the 25th): 31 days, 745 hours.
    p = PaySchedule("monthly").containing(dt.date(2026, 10, 9))
    bounds = period(p.first, p.last, "Europe/Paris")
    assert (bounds.end - bounds.start) == dt.timedelta(hours=31 * 24 + 1)


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("fortnightly", "2026-11-20", "pay period must be one of"),
        ("weekly", "2026-11-17..2026-11-23", "is not a weekly pay period"),
        ("monthly", "20/11/2026", "first..last is needed"),
        ("monthly", "2026-11-01..x", "first..last is needed"),
    ],
)
def test_bad_periods_are_refused_with_a_message(kind: str, text: str, message: str) -> None:
    with pytest.raises(PayPeriodError, match=message):
        PaySchedule(kind).parse(text)


@pytest.mark.parametrize(
    "text", ["0001-01-01", "9999-12-31", "9000-12-31", "1899-12-25..1900-01-07"]
)
def test_days_outside_every_report_are_refused(text: str) -> None:
    with pytest.raises(PayPeriodError, match="days from 1900-01-01 to 9000-12-31 only"):
        PaySchedule("weekly").parse(text)
