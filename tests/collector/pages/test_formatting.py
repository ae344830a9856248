"""Numbers for people: exact money, durations with units, waits, percentages and changes."""

from __future__ import annotations

from collector.pages.figures import Figure, figures
from collector.pages.formatting import (
    cells,
    change,
    duration,
    duration_parts,
    money,
    online_parts,
    percent,
    step_of,
    wait,
)


def test_money_keeps_every_digit_and_names_the_currency() -> None:
    assert money("1234567.50", "USD") == "$1,234,567.50"
    assert money("-3.00", "EUR") == "-€3.00"
    assert money("1500", "JPY") == "¥1,500"
    assert money("12.345", "BHD") == "12.345 BHD"
    assert money(None, "USD") == "–"


def test_durations() -> None:
    # A unit on every duration; under a minute in seconds, never "0:00"; nothing is
    # "0 min", as the minutes around it in a table (not "0 s" next to "50 min").
    assert duration(0) == "0 min"
    assert duration(44) == "44 s"
    assert duration(59.9) == "59 s"
    assert duration(60) == "1 min"
    assert duration(3599) == "59 min"
    assert duration(3600) == "1 h 00 min"
    assert duration(34 * 3600 + 59) == "34 h 00 min"
    assert duration(90000) == "25 h 00 min"
    assert duration(None) == "–"
    # At a given step: a part of a total shown in minutes is shown in minutes too.
    assert duration(44, 60) == "0 min"
    assert (step_of(59), step_of(60)) == (1, 60)
    # The parts of a total add up as shown: 10 min 40 s + 20 min 40 s = 31 min.
    assert duration_parts(31 * 60 + 20, 10 * 60 + 40) == ("10 min", "21 min")
    assert duration_parts(3600, 3600) == ("1 h 00 min", "0 min")
    assert wait(44.6) == "45 s"
    # Halves up, as Excel shows the export's 516.5 s (Python's round() would give 516).
    assert (wait(516.5), wait(466.5), wait(0.5)) == ("8 min 37 s", "7 min 47 s", "1 s")
    assert wait(125) == "2 min 05 s"
    assert wait(3720) == "1 h 02 min"
    assert wait(None) == "–"


def test_percent_and_change() -> None:
    assert percent(0.4412) == "44.1 %"
    assert change("110.00", "100.00") == {"text": "+10.0 % vs previous", "direction": "up"}
    assert change(90, 100)["direction"] == "down"
    # A faster reply is better: the change is shown as good.
    assert change(50.0, 100.0, lower_is_better=True)["direction"] == "up"
    assert change(5, 0) == {"text": "new (none before)", "direction": "up"}
    assert change(None, 3)["text"] == "no comparison"
    assert change("0.00", "0.00")["text"] == "no change"


def test_the_online_parts_add_up_as_shown() -> None:
    # 203:44:30 online, 156:42:50 active: each rounded down alone, 156 h 42 + 47 h 01 = 203 h 43.
    totals = {"online_seconds": 733470, "active_seconds": 564170, "inactive_seconds": 169300}
    assert online_parts(totals) == {
        "online_seconds": "203 h 44 min",
        "active_seconds": "156 h 42 min",
        "inactive_seconds": "47 h 02 min",
    }
    # Under a minute online: every part in seconds.
    assert online_parts({"online_seconds": 44, "active_seconds": 30}) == {
        "online_seconds": "44 s",
        "active_seconds": "30 s",
        "inactive_seconds": "14 s",
    }
    # Active under a minute of a longer online time: shown at the online time's step.
    assert online_parts({"online_seconds": 150, "active_seconds": 40}) == {
        "online_seconds": "2 min",
        "active_seconds": "0 min",
        "inactive_seconds": "2 min",
    }
    assert online_parts({"online_seconds": None, "active_seconds": 4}) == {}


def test_figures_and_rows_use_the_online_rule() -> None:
    from collector.pages.figures import chatter_figures

    totals = {"online_seconds": 733470, "active_seconds": 564170, "inactive_seconds": 169300}
    online = next(f for f in chatter_figures(totals, None) if f["name"] == "online_seconds")
    assert online["split"] == [
        ("active", "156 h 42 min", "text"),
        ("inactive", "47 h 02 min", "text"),
    ]
    row = {**totals, "tips": "5.00", "paused_seconds": 45}
    columns = [
        ("online_seconds", "duration"),
        ("active_seconds", "duration"),
        ("inactive_seconds", "duration"),
        ("paused_seconds", "duration"),
        ("tips", "money"),
    ]
    assert cells(row, columns, "USD") == [
        (733470, "203 h 44 min"),
        (564170, "156 h 42 min"),
        (169300, "47 h 02 min"),  # the value stays the API's; the text adds up
        (45, "45 s"),
        ("5.00", "$5.00"),
    ]


def test_a_change_that_rounds_to_zero_is_neutral_and_unsigned() -> None:
    assert change("100.04", "100") == {"text": "0.0 % vs previous", "direction": "flat"}
    assert change("99.96", "100") == {"text": "0.0 % vs previous", "direction": "flat"}
    assert change(0.5, 0.50001, points=True) == {"text": "0.0 pp vs previous", "direction": "flat"}
    assert change(4.001, 4.0, absolute=True) == {"text": "0.00 vs previous", "direction": "flat"}
    assert change("99.9", "100")["text"] == "-0.1 % vs previous"
    assert change(0.3, 0.2, points=True) == {"text": "+10.0 pp vs previous", "direction": "up"}


def test_no_previous_value_is_shown_beside_new_none_before() -> None:
    spec = Figure("sales", "Sales", "money")
    (new,) = figures([spec], {"sales": "5.00"}, {"sales": "0.00"})
    (more,) = figures([spec], {"sales": "5.00"}, {"sales": "4.00"})
    (alone,) = figures([spec], {"sales": "5.00"}, None)
    assert (new["change"]["text"], new["was"]) == ("new (none before)", False)
    assert (more["change"]["text"], more["was"]) == ("+25.0 % vs previous", True)
    assert (alone["change"], alone["was"]) == (None, False)
