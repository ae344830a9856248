"""The one rule for every string that reaches the database.

PostgreSQL refuses a NUL character in text and a string longer than its VARCHAR column;
neither database can encode an unpaired surrogate (a command-line argument that is not
UTF-8 reaches Python as one).  SQLite would store the first two, so the rule is checked
here, at each boundary (API, pages, command line), never left to the database.  Lengths
are read from the models: the column is the one place a limit is written.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zoneinfo
from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import Column, String, Table
from sqlalchemy.orm import QueryableAttribute

from collector.errors import ApiError, DomainError

# NUL and unpaired surrogates: what no text column of either database can hold.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# In a name people read: control characters (an escape sequence in a terminal listing)
# and bidirectional overrides and isolates, which make "evil.exe" read as "exe.live".
_UNREADABLE = re.compile("[\x01-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# A whole number people type: ASCII digits only (str.isdigit() takes "²" and "١", which
# int() then refuses or reads as a digit), and few enough that int() never meets its
# 4300-digit limit (a ValueError, a 500) nor PostgreSQL's BIGINT.
_WHOLE = re.compile("[0-9]{1,18}")
_DAY = re.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}")

Columnish = QueryableAttribute[Any] | Column[Any]

# Names the zone database holds that are no place's zone: the server's own setting
# ("localtime": whatever the machine says, another zone on another machine), tzdata's
# placeholder "Factory" (local time unknown, abbreviated "-00") and the POSIX rules
# template.  zoneinfo.ZoneInfo opens every file under the zone directory, and
# available_timezones() lists the first two.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


def length(column: Columnish) -> int | None:
    """The VARCHAR length of a model's column (None: unbounded or not a string)."""
    type_ = column.type
    return type_.length if isinstance(type_, String) else None


def problem(value: str, column: Columnish | None = None) -> str | None:
    """What is wrong with storing (or looking up) ``value`` in ``column``; None: nothing.

    Without a column only the characters are checked (a lookup of a longer value simply
    finds nothing).
    """
    found = _UNSTORABLE.search(value)
    if found is not None:
        if found.group() == "\x00":
            return "must not contain NUL characters"
        return "is not valid text (it holds unpaired surrogates: not UTF-8)"
    limit = None if column is None else length(column)
    if limit is not None and len(value) > limit:
        return f"is longer than {limit} characters ({len(value)})"
    return None


def check(value: str, field: str, column: Columnish | None = None, *, status: int = 422) -> str:
    """``value`` unchanged, or a DomainError naming ``field``: the API answers it as JSON,
    a page shows it beside the form, the command line prints it and exits non-zero."""
    found = problem(value, column)
    if found is not None:
        raise DomainError(
            f"{field} {found}",
            status,
            code="invalid_field",
            details=[{"field": field, "message": found}],
        )
    return value


def check_label(value: str, field: str, column: Columnish | None = None) -> str:
    """``check``, and no control or bidirectional-override characters: for names and notes
    shown on pages, in exports and in the terminal."""
    found = _UNREADABLE.search(value)
    if found is not None:
        message = f"must not contain control characters (U+{ord(found.group()):04X})"
        raise DomainError(
            f"{field} {message}",
            422,
            code="invalid_field",
            details=[{"field": field, "message": message}],
        )
    return check(value, field, column)


def row_problems(table: Table, row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(column, problem) for every string of a row to insert that its column cannot hold."""
    limits = _limits(table)
    found = []
    for name, value in row.items():
        # The fast path first: a batch checks tens of thousands of strings.
        if isinstance(value, str) and (
            _UNSTORABLE.search(value) is not None or len(value) > limits.get(name, len(value))
        ):
            wrong = problem(value, table.c[name])
            if wrong is not None:
                found.append((name, wrong))
    return found


@cache
def _limits(table: Table) -> dict[str, int]:
    """The VARCHAR lengths of a table's bounded string columns, by column name."""
    return {c.name: n for c in table.c if (n := length(c)) is not None}


def fit(value: str, column: Columnish) -> str:
    """``value`` cut to its column: only for labels the server composes (an event's source,
    an audit subject), never for what a caller sent."""
    limit = length(column)
    return value if limit is None or len(value) <= limit else value[: limit - 1] + "…"


def count_of(n: int, word: str, words: str | None = None) -> str:
    """ "1 shift", "2 shifts", "1,204 slices": ``words`` when the plural is not ``word`` + "s".

    The one way a count is written for people: pages, alert messages and the command line.
    """
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


@cache
def zones() -> frozenset[str]:
    """Every time zone a person may choose: the one rule for shifts, rosters, coverage
    rules, a view's ``tz``, the agency_timezone setting and the zone dropdowns."""
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


def zone_problem(name: object) -> str | None:
    """What is wrong with ``name`` as a time zone; None: it is one (see ``zones``)."""
    if isinstance(name, str) and name in zones():
        return None
    shown = repr(name[:64]) if isinstance(name, str) else repr(name)
    return f"{shown} is not an IANA time zone such as Europe/Paris"


def iso_day(raw: str) -> dt.date | None:
    """``raw`` as a day written YYYY-MM-DD in ASCII digits; None when it is anything else.
    (Python's ``date.fromisoformat`` also takes ``20261116`` and ``2026-W47-1``: a typo
    there must not name a day.)"""
    if not _DAY.fullmatch(raw):
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:  # 2026-02-30
        return None


def whole_number(raw: str, lowest: int, highest: int) -> int | None:
    """``raw`` as a number from ``lowest`` to ``highest``; None when it is anything else."""
    if not _WHOLE.fullmatch(raw):
        return None
    value = int(raw)
    return value if lowest <= value <= highest else None


def whole_parameter(args: Mapping[str, str], name: str, default: int, highest: int) -> int:
    """The query parameter ``name``, a number from 1 to ``highest`` (``default`` when
    absent or empty); anything else is refused, 400 ``bad_parameter``, quoting at most
    the first 20 characters of what was sent."""
    raw = args.get(name) or str(default)
    value = whole_number(raw, 1, highest)
    if value is None:
        raise ApiError(
            400, "bad_parameter", f"{name}={raw[:20]!r}: a whole number from 1 to {highest}"
        )
    return value


def wait(seconds: float) -> str:
    """A response time: 45 s, 2 min 05 s, 1 h 02 min (pages, alert messages).

    Halves round up, as a spreadsheet rounds the export's seconds (a median of two
    samples is often one: 516.5 s is 8 min 37 s on the page and in Excel alike)."""
    whole = math.floor(seconds + 0.5)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
