"""The one rule for strings that reach the database: characters and the column's length."""

from __future__ import annotations

import re

import pytest

from collector.db import text
from collector.db.models import ApiToken, Event, User
from collector.errors import ApiError, DomainError


def test_lengths_come_from_the_models() -> None:
    assert text.length(User.email) == 254
    assert text.length(ApiToken.name) == 100
    assert text.length(Event.amount_minor) is None


@pytest.mark.parametrize(
    ("value", "column", "message"),
    [
        ("a\x00b", None, "must not contain NUL characters"),
        ("Z\udcff", None, "not valid text"),
        ("x" * 255, User.email, "is longer than 254 characters (255)"),
    ],
)
def test_refused(value: str, column: text.Columnish | None, message: str) -> None:
    with pytest.raises(DomainError) as caught:
        text.check(value, "the field", column)
    assert caught.value.status == 422
    assert message in caught.value.message and caught.value.message.startswith("the field ")
    assert caught.value.details == [{"field": "the field", "message": text.problem(value, column)}]


def test_accepted_and_fitted() -> None:
    assert text.check("x" * 254, "email", User.email) == "x" * 254
    assert text.check("x" * 1000, "a lookup") == "x" * 1000  # no column: no length
    assert text.fit("api:" + "n" * 100, Event.source) == "api:" + "n" * 95 + "…"
    assert len(text.fit("api:" + "n" * 100, Event.source)) == 100


def test_row_problems_name_each_column() -> None:
    table = Event.__table__
    row = {"event_id": "e\x00", "url": "u" * 3000, "rating": 5, "source": "ok"}
    assert text.row_problems(table, row) == [  # type: ignore[arg-type]
        ("event_id", "must not contain NUL characters"),
        ("url", "is longer than 2048 characters (3000)"),
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [("Bob\x1b[2J", "U+001B"), ("Ann\u202eexe.live", "U+202E"), ("x\u2066y", "U+2066")],
)
def test_labels_refuse_control_and_bidi_override_characters(value: str, shown: str) -> None:
    with pytest.raises(DomainError, match=re.escape(shown)):
        text.check_label(value, "the name")
    # Accents, emoji and right-to-left scripts themselves are names like any other.
    assert text.check_label("Zoë 🌙 שרה", "the name") == "Zoë 🌙 שרה"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        ("0007", 7),
        ("100", 100),
        ("101", None),  # above the highest
        ("0", None),  # below the lowest
        ("", None),
        ("-1", None),
        (" 5", None),
        ("5\n", None),
        ("²", None),  # str.isdigit() says yes; int() refuses it
        ("①", None),
        ("١٢", None),  # Arabic-Indic digits: int() would read 12
        ("１２", None),  # full-width
        ("9" * 5000, None),  # int() refuses more than 4300 digits (a ValueError)
    ],
)
def test_whole_number_takes_a_few_ascii_digits_in_range(raw: str, expected: int | None) -> None:
    assert text.whole_number(raw, 1, 100) == expected


def test_whole_parameter_refuses_with_a_short_message() -> None:
    assert text.whole_parameter({}, "page", 3, 10) == 3
    assert text.whole_parameter({"page": ""}, "page", 3, 10) == 3
    with pytest.raises(ApiError) as refused:
        text.whole_parameter({"page": "9" * 5000}, "page", 1, 10)
    assert refused.value.status == 400 and len(str(refused.value)) < 100


def test_count_of_is_the_one_plural_rule() -> None:
    assert text.count_of(1, "shift") == "1 shift"
    assert text.count_of(0, "shift") == "0 shifts"
    assert text.count_of(1204, "slice") == "1,204 slices"
    assert text.count_of(2, "reply", "replies") == "2 replies"
