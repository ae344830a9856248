"""How people write a shift's values, read and written back."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.errors import DomainError
from collector.shifts.fields import (
    day_of,
    hhmm,
    minute_of,
    note_of,
    weekdays_of,
    weekdays_text,
    whole_number,
    zone_of,
)


@pytest.mark.parametrize(
    ("text", "mask"),
    [
        ("mon", 0b1),
        ("Mon, Wed ,FRI", 0b10101),
        ("mon-fri", 0b11111),
        ("fri-mon", 0b1110001),  # round the weekend
        ("saturday,sunday", 0b1100000),
        ("daily", 0b1111111),
        ("mon-wed;sat", 0b100111),
    ],
)
def test_weekdays(text: str, mask: int) -> None:
    assert weekdays_of(text) == mask


@given(st.integers(min_value=1, max_value=127))
def test_weekdays_round_trip(mask: int) -> None:
    assert weekdays_of(weekdays_text(mask)) == mask


def test_weekdays_text() -> None:
    assert weekdays_text(0b11111) == "mon-fri"
    assert weekdays_text(0b1100000) == "sat,sun"
    assert weekdays_text(0b1000111) == "mon-wed,sun"
    assert weekdays_text(0) == ""


@given(st.integers(min_value=0, max_value=1439))
def test_times_round_trip(minute: int) -> None:
    assert minute_of(hhmm(minute)) == minute


def test_times() -> None:
    assert minute_of("9:05") == 545
    assert minute_of("24:00", "end") == 0  # midnight at the end of the day


BAD = [
    (minute_of, "24:01"),
    (minute_of, "7"),
    (minute_of, "12:60"),
    (minute_of, "１２:００"),  # full-width digits
    (minute_of, 900),
    (weekdays_of, ""),
    (weekdays_of, "mon-funday"),
    (weekdays_of, "x" * 200),
    (zone_of, "Europe/Nowhere"),
    (zone_of, "/etc/localtime"),
    (zone_of, "Europe/Paris\x00"),
    (day_of, "2026-1-5"),
    (day_of, "1999-12-31"),
    (day_of, "2200-01-01"),
    (note_of, "tab\there"),
    (note_of, "x" * 201),
    (note_of, "\ud800"),
]


@pytest.mark.parametrize(("parse", "value"), BAD, ids=range(len(BAD)))
def test_refusals_name_the_field(parse: object, value: object) -> None:
    with pytest.raises(DomainError) as caught:
        parse(value, "the_field")  # type: ignore[operator]
    assert caught.value.status == 422 and caught.value.message.startswith("the_field: ")


def test_numbers_and_days() -> None:
    assert whole_number("7", "required", 0, 1000) == 7
    for bad in (True, -1, 1001, "1e3", "9" * 40, 2.0):
        with pytest.raises(DomainError):
            whole_number(bad, "required", 0, 1000)
    assert day_of(dt.date(2026, 12, 7), "day") == dt.date(2026, 12, 7)
    assert note_of(None) == "" and note_of("  café ") == "café"
