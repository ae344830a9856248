"""Exact money on the wire: decimal strings, never floats.

Amounts travel as strings such as ``"12.50"`` and are held as integer minor
units (cents) of the agency's currency.
"""

from __future__ import annotations

import re
from decimal import Decimal

# ISO 4217 minor-unit exponents for the currencies agencies use; any other code
# must be added here before it can be chosen.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AUD": 2,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 2,
    "IDR": 2,
    "ILS": 2,
    "INR": 2,
    "JPY": 0,
    "KRW": 0,
    "MXN": 2,
    "NOK": 2,
    "NZD": 2,
    "PHP": 2,
    "PLN": 2,
    "RON": 2,
    "SEK": 2,
    "SGD": 2,
    "THB": 2,
    "TRY": 2,
    "UAH": 2,
    "USD": 2,
    "ZAR": 2,
    "KWD": 3,
    "BHD": 3,
}

# Ten billion in major units is far beyond any real sale and keeps every sum
# of amounts inside a signed 64-bit integer.
MAX_MAJOR_UNITS = 10**10

_AMOUNT = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]+)?$")


class AmountError(ValueError):
    """An amount string that is not an exact, positive-or-zero decimal."""


def parse_amount(value: object, exponent: int) -> int:
    """Decimal string -> integer minor units, refusing anything inexact."""
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, bool):
            kind = "a JSON boolean"
        elif isinstance(value, int | float):
            kind = "a JSON number (floats are inexact)"
        else:
            kind = type(value).__name__
        raise AmountError(f'must be a decimal string such as "12.50", not {kind}')
    if not _AMOUNT.fullmatch(value):  # match() would let '5.00\n' through ($)
        raise AmountError(f'"{value}" is not a decimal amount such as "12.50"')
    amount = Decimal(value)
    if amount >= MAX_MAJOR_UNITS:
        raise AmountError(f'"{value}" is too large; amounts stay below {MAX_MAJOR_UNITS}')
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise AmountError(f'"{value}" has more than {exponent} decimal places')
    return int(minor)


def format_amount(minor: int, exponent: int) -> str:
    """Integer minor units -> decimal string with exactly ``exponent`` places."""
    if exponent == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exponent)
    return f"{sign}{whole}.{frac:0{exponent}d}"
