"""How people write a shift's values, read and written back."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.errors import DomainError
from collector.shifts import fields
from collector.shifts.fields import (
    day_of,
    hhmm,
    minute_of,
    note_of,
    shift_number,
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
    assert minute_of("24:00", "end", end=True) == 0  # midnight at the end of the day
    # Found by review: a start of 24:00 was stored as 00:00 of the same day, a day early.
    with pytest.raises(DomainError) as caught:
        minute_of("24:00", "start")
    assert caught.value.message == (
        "start: 24:00 is only an end (midnight at the end of the day): a shift starting at "
        "midnight starts at 00:00"
    )


BAD = [
    (minute_of, "24:01"),
    (minute_of, "7"),
    (minute_of, "12:60"),
    (minute_of, "１２:００"),  # full-width digits
    # Found by review: one ASCII digit next to another script's passed ``\d`` and int().
    (minute_of, "0９:00"),
    (minute_of, "1٩:00"),  # Arabic-Indic nine: 19:00
    (minute_of, "09:3٠"),
    (day_of, "2026-12-0７"),
    (day_of, "２０２６-12-07"),
    (shift_number, "１"),
    (shift_number, "²"),  # isdigit() says yes, int() raises
    (shift_number, "1.0"),
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
    # Found by review: the label rule (text.check_label) for notes too.
    (note_of, "invoice\u202egpj.exe"),  # right-to-left override
    (note_of, "a\u2066b\u2069"),  # isolates
    (note_of, "bell\x07"),
    (note_of, "\x1b[31mred"),
    (note_of, "next\x85line"),
    (note_of, "one\u2028two"),
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
    for bad in (True, -1, 1001, "1e3", "9" * 40, 2.0, "５", "٣"):
        with pytest.raises(DomainError):
            whole_number(bad, "required", 0, 1000)
    assert day_of(dt.date(2026, 12, 7), "day") == dt.date(2026, 12, 7)
    assert note_of(None) == "" and note_of("  café ") == "café"


# Every script's digits that are not ASCII (Nd minus 0-9): a few, then any.
OTHER_DIGITS = ("０", "٣", "۷", "७", "๕", "𝟠")


@pytest.mark.parametrize("digit", OTHER_DIGITS)
def test_other_digits_never_make_a_time_or_a_number(digit: str) -> None:
    for text in (f"{digit}9:00", f"1{digit}:00", f"09:{digit}0", f"09:0{digit}"):
        with pytest.raises(DomainError, match="is not a time"):
            minute_of(text, "start")
    with pytest.raises(DomainError, match="whole number"):
        whole_number(f"1{digit}", "required", 0, 1000)
    with pytest.raises(DomainError, match="shift number"):
        shift_number(f"1{digit}", "with_shift")


@given(
    st.integers(min_value=0, max_value=1439),
    st.characters(categories=["Nd"]).filter(lambda c: not "0" <= c <= "9"),
    st.data(),
)
def test_a_time_with_any_other_digit_is_refused(
    minute: int, digit: str, data: st.DataObject
) -> None:
    written = hhmm(minute)
    at = data.draw(st.sampled_from([i for i, c in enumerate(written) if c.isdigit()]))
    with pytest.raises(DomainError):
        minute_of(written[:at] + digit + written[at + 1 :], "start")


def test_notes_people_write_are_kept() -> None:
    for note in ("covers for Eli", "café ☕ 🎉", "עברית", "مرحبا", "日本語のメモ", "a\u200db"):
        assert note_of(note) == note
    assert shift_number("12", "with_shift") == 12 and shift_number(12, "with_shift") == 12


@pytest.mark.parametrize(
    ("days", "label"),
    [
        ("mon-sun", "Every day"),
        ("mon-fri", "Mon–Fri"),
        ("sat,sun", "Sat, Sun"),
        ("mon,wed,fri", "Mon, Wed, Fri"),
        ("mon-wed,sat", "Mon–Wed, Sat"),
    ],
)
def test_weekdays_label_writes_day_sets_for_people(days: str, label: str) -> None:
    assert fields.weekdays_label(fields.weekdays_of(days)) == label


def test_times_label_marks_the_next_day() -> None:
    assert fields.times_label(9 * 60, 17 * 60) == "09:00–17:00"
    assert fields.times_label(22 * 60, 6 * 60) == "22:00–06:00 (+1)"
