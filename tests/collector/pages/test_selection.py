"""Date presets, custom ranges and bad selections, as pure functions."""

from __future__ import annotations

import datetime as dt

import pytest

from collector.pages.selection import DEFAULT_PRESET, from_args, preset_range

TODAY = dt.date(2026, 3, 31)


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("today", "2026-03-31", "2026-03-31"),
        ("yesterday", "2026-03-30", "2026-03-30"),
        ("last_7_days", "2026-03-25", "2026-03-31"),
        ("last_30_days", "2026-03-02", "2026-03-31"),
        ("this_month", "2026-03-01", "2026-03-31"),
        ("last_month", "2026-02-01", "2026-02-28"),
    ],
)
def test_presets_are_local_days_counted_from_today(preset: str, start: str, end: str) -> None:
    assert preset_range(preset, TODAY) == (dt.date.fromisoformat(start), dt.date.fromisoformat(end))


def test_last_month_in_january_is_december() -> None:
    first, last = preset_range("last_month", dt.date(2027, 1, 15))
    assert (first, last) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))


def test_today_is_the_local_day_of_the_chosen_zone() -> None:
    # 23:30 UTC on 31 March is already 1 April in Berlin and still 31 March in New York.
    now = dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC)
    berlin = from_args({"preset": "today", "tz": "Europe/Berlin"}, "UTC", now, ())
    new_york = from_args({"preset": "today", "tz": "America/New_York"}, "UTC", now, ())
    assert berlin.start == dt.date(2026, 4, 1) and new_york.start == dt.date(2026, 3, 31)
    assert berlin.query() == {"start": "2026-04-01", "end": "2026-04-01", "tz": "Europe/Berlin"}


def test_custom_range_and_what_the_page_keeps() -> None:
    now = dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)
    args = {"start": "2026-03-01", "end": "2026-03-10", "creator": "luna"}
    sel = from_args(args, "UTC", now, {"luna"})
    assert sel.preset == "custom" and sel.error is None
    expected = {"start": "2026-03-01", "end": "2026-03-10", "tz": "UTC", "creator": "luna"}
    assert sel.query() == expected
    assert sel.state()["preset"] == "custom" and sel.state()["start"] == "2026-03-01"
    # A preset keeps its name, not its dates: tomorrow's link still means "last 7 days".
    assert "start" not in from_args({"preset": "last_7_days"}, "UTC", now, ()).state()


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"tz": "Mars/Olympus"}, "not an IANA time zone"),
        ({"preset": "fortnight"}, "unknown date preset"),
        ({"preset": "custom", "start": "soon"}, "needs a start and an end"),
        ({"preset": "custom", "start": "2026-03-10", "end": "2026-03-01"}, "is before start"),
        ({"preset": "custom", "start": "2024-01-01", "end": "2026-03-01"}, "at most 366 days"),
        ({"preset": "custom", "start": "0001-01-01", "end": "0001-01-02"}, "outside the dates"),
        ({"creator": "nova"}, "no creator 'nova' among those you can see"),
    ],
)
def test_a_bad_selection_falls_back_to_the_default_and_says_why(
    args: dict[str, str], problem: str
) -> None:
    sel = from_args(args, "Europe/Berlin", dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC), {"luna"})
    assert sel.error is not None and problem in sel.error
    assert sel.preset == DEFAULT_PRESET and sel.creator == ""
    assert sel.tz in ("Europe/Berlin", args.get("tz"))
    assert (sel.end - sel.start).days == 6
