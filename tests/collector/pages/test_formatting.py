"""Numbers for people: exact money, h:mm, waits, percentages and changes."""

from __future__ import annotations

from collector.pages.formatting import change, hours_minutes, money, percent, wait


def test_money_keeps_every_digit_and_names_the_currency() -> None:
    assert money("1234567.50", "USD") == "$1,234,567.50"
    assert money("-3.00", "EUR") == "-€3.00"
    assert money("1500", "JPY") == "¥1,500"
    assert money("12.345", "BHD") == "12.345 BHD"
    assert money(None, "USD") == "–"


def test_durations() -> None:
    assert hours_minutes(0) == "0:00"
    assert hours_minutes(3599) == "0:59"
    assert hours_minutes(90000) == "25:00"
    assert wait(44.6) == "45 s"
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


def test_the_online_parts_add_up_in_minutes() -> None:
    from collector.pages.figures import chatter_figures

    # 203:44:30 online, 156:42:50 active: each rounded down alone, 156:42 + 47:01 = 203:43.
    totals = {"online_seconds": 733470, "active_seconds": 564170, "inactive_seconds": 169300}
    online = next(f for f in chatter_figures(totals, None) if f["name"] == "online_seconds")
    parts = {text: hours_minutes(value) for text, value, _ in online["split"]}
    assert hours_minutes(totals["online_seconds"]) == "203:44"
    assert parts == {"active": "156:42", "inactive": "47:02"}
