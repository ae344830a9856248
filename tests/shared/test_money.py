"""Exact money: decimal strings to minor units and back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money import AmountError, format_amount, parse_amount


@pytest.mark.parametrize(
    ("text", "exponent", "minor"),
    [
        ("0", 2, 0),
        ("12.5", 2, 1250),
        ("12.50", 2, 1250),
        ("0.10", 2, 10),
        ("500", 0, 500),
        ("1.234", 3, 1234),
        ("19.990", 2, 1999),
    ],
)
def test_parse(text: str, exponent: int, minor: int) -> None:
    assert parse_amount(text, exponent) == minor


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "JSON number"),
        (2, "JSON number"),
        (True, "boolean"),
        ("1.999", "more than 2"),
        ("-1", "not a decimal"),
        ("1e3", "not a decimal"),
        (" 1", "not a decimal"),
        ("01", "not a decimal"),
        ("NaN", "not a decimal"),
        ("10000000000", "too large"),
        ("5.00\n", "not a decimal"),
    ],
)
def test_refuse(value: object, message: str) -> None:
    with pytest.raises(AmountError, match=message):
        parse_amount(value, 2)


@given(minor=st.integers(0, 10**10 - 1), exponent=st.sampled_from([0, 2, 3]))
def test_round_trip(minor: int, exponent: int) -> None:
    text = format_amount(minor, exponent)
    assert parse_amount(text, exponent) == minor
    assert Decimal(text) == Decimal(minor).scaleb(-exponent)


def test_format_negative() -> None:
    assert format_amount(-1999, 2) == "-19.99"
    assert format_amount(-5, 2) == "-0.05"
