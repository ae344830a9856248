"""The values of a shift as people write them: "22:00", "mon-fri", "Europe/Paris", a day.

Pure parsing, shared by the API, the pages, the command line and the roster import, so
each says the same thing about the same mistake.  Every refusal is a ``DomainError``
(422, code ``invalid_field``) naming the field.

Numbers are ASCII digits only: ``str.isdigit``, ``int()`` and the regular expression
``\\d`` all take other scripts' digits too ("０９:００", "1٩:00", "²"), which nobody types
on purpose and which would read as another time or crash ``int()``; ``digits`` is the
one test.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from collector.db import text
from collector.errors import DomainError

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # the same days, for people
_LONG_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EVERY_DAY = 0b1111111
# Days a schedule may name: wide enough for any agency, far from datetime's limits.
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2199, 12, 31)
NOTE_LENGTH = 200
_TIME = re.compile(r"([01]?[0-9]|2[0-4]):([0-5][0-9])")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Line and paragraph separators: text.check_label refuses every other control character
# (and the bidirectional overrides); these two would break a note's one line as well.
_SEPARATORS = re.compile("[\u2028\u2029]")


def digits(value: str) -> bool:
    """Only ASCII digits 0-9, at least one (not "１２", "٣", "²": see the module's note)."""
    return value.isascii() and value.isdigit()


def invalid(field: str, message: str, status: int = 422) -> DomainError:
    return DomainError(
        f"{field}: {message}",
        status,
        code="invalid_field",
        details=[{"field": field, "message": message}],
    )


def _string(value: Any, field: str, limit: int = 100) -> str:
    if not isinstance(value, str):
        raise invalid(field, "must be text")
    if len(value) > limit:
        raise invalid(field, f"is longer than {limit} characters ({len(value)})")
    wrong = text.problem(value)  # NUL, unpaired surrogates: what no database can store
    if wrong is not None:
        raise invalid(field, wrong)
    return value.strip()


def minute_of(value: Any, field: str = "start", *, end: bool = False) -> int:
    """ "HH:MM", 00:00 to 23:59.  An ``end`` may be 24:00 too, midnight at the end of the
    day (read as 00:00: an end at or before the start is the next day's); a start may not
    (it would be stored as 00:00 of the same day, a day early)."""
    raw = _string(value, field, 10)
    found = _TIME.fullmatch(raw)
    if found is None or (found.group(1) in ("24",) and found.group(2) != "00"):
        raise invalid(field, f"{raw!r} is not a time such as 09:00 or 22:30 (HH:MM)")
    if found.group(1) == "24" and not end:
        raise invalid(
            field,
            "24:00 is only an end (midnight at the end of the day): a shift starting at "
            "midnight starts at 00:00",
        )
    return int(found.group(1)) % 24 * 60 + int(found.group(2))


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _day_index(name: str, field: str) -> int:
    short = name[:3]
    if name in WEEKDAY_NAMES or (name in _LONG_NAMES):
        return WEEKDAY_NAMES.index(short)
    raise invalid(
        field, f"{name!r} is not a day of the week (use mon, tue, wed, thu, fri, sat, sun)"
    )


def weekdays_of(value: Any, field: str = "weekdays") -> int:
    """ "mon,wed", "mon-fri", "fri-mon" (wrapping round the week), "daily" -> a bit mask,
    bit 0 Monday.  Empty is refused: a one-off shift has no weekdays (see ``is_weekly``)."""
    raw = _string(value, field).lower()
    if raw in ("daily", "every day", "all"):
        return EVERY_DAY
    mask = 0
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            first, _, last = (p.strip() for p in part.partition("-"))
            a, b = _day_index(first, field), _day_index(last, field)
            for step in range((b - a) % 7 + 1):
                mask |= 1 << ((a + step) % 7)
        else:
            mask |= 1 << _day_index(part, field)
    if not mask:
        raise invalid(field, "name at least one day of the week, such as mon-fri or sat,sun")
    return mask


def _runs(mask: int) -> list[list[int]]:
    """The days of ``mask`` in runs of consecutive days, Monday first."""
    runs: list[list[int]] = []
    for day in (i for i in range(7) if mask >> i & 1):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def weekdays_text(mask: int) -> str:
    """The bit mask as people write it: "mon-fri", "mon,wed,fri", "mon-wed,sat"; "" for none."""
    parts = []
    for run in _runs(mask):
        if len(run) >= 3:
            parts.append(f"{WEEKDAY_NAMES[run[0]]}-{WEEKDAY_NAMES[run[-1]]}")
        else:
            parts.extend(WEEKDAY_NAMES[d] for d in run)
    return ",".join(parts)


def weekdays_label(mask: int) -> str:
    """The bit mask as people read it: "Every day", "Mon–Fri", "Sat, Sun", "Mon–Wed, Sat";
    "" for none.  ``weekdays_text`` is the form the API, the CLI and the roster take."""
    if mask & EVERY_DAY == EVERY_DAY:
        return "Every day"
    return ", ".join(
        f"{DAY_LABELS[run[0]]}–{DAY_LABELS[run[-1]]}"
        if len(run) >= 3
        else ", ".join(DAY_LABELS[d] for d in run)
        for run in _runs(mask)
    )


def times_label(start: int, end: int) -> str:
    """A shift's or coverage rule's local times: "09:00–17:00", and "22:00–06:00 (+1)" when
    it ends on the next day (an end at or before the start)."""
    return f"{hhmm(start)}–{hhmm(end)}{' (+1)' if end <= start else ''}"


def zone_of(value: Any, field: str = "zone") -> str:
    """An IANA zone name such as Europe/Paris (``text.zones``: no file path, no
    "localtime" or "Factory")."""
    raw = _string(value, field, 64)
    wrong = text.zone_problem(raw)
    if wrong is not None:
        raise invalid(field, wrong)
    return raw


def day_of(value: Any, field: str) -> dt.date:
    """A date written YYYY-MM-DD, between 2000 and 2199."""
    if isinstance(value, dt.date):
        day = value
    else:
        raw = _string(value, field, 10)
        try:
            if not _DAY.fullmatch(raw):
                raise ValueError
            day = dt.date.fromisoformat(raw)
        except ValueError:
            raise invalid(field, f"{raw!r} is not a date such as 2026-12-07 (YYYY-MM-DD)") from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise invalid(field, f"{day} is outside {EARLIEST_DAY} to {LATEST_DAY}")
    return day


def note_of(value: Any, field: str = "note") -> str:
    """Free text on one line, at most 200 characters: the label rule of every name shown
    on pages, in exports and in a terminal (``text.check_label``: no control characters,
    no bidirectional overrides), and no line separators."""
    if value is None:
        return ""
    raw = _string(value, field, 10_000)
    if len(raw) > NOTE_LENGTH:
        raise invalid(field, f"is longer than {NOTE_LENGTH} characters ({len(raw)})")
    try:
        text.check_label(raw, field)
    except DomainError as exc:  # said the way every refusal here is: "note: ..."
        raise invalid(field, str(exc.details[0]["message"])) from None
    found = _SEPARATORS.search(raw)
    if found is not None:
        code = f"U+{ord(found.group()):04X}"
        raise invalid(field, f"must be one line of text (it holds a line separator, {code})")
    return raw


def shift_number(value: Any, field: str) -> int:
    """A shift's number as sent: an integer, or text of ASCII digits (forms send text)."""
    if isinstance(value, str) and digits(value.strip()) and len(value.strip()) < 19:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "must be a shift number (digits 0-9)")
    return value


def key_of(value: Any, field: str) -> str:
    """A chatter's or creator's key as sent (looked up later: unknown is 422 there)."""
    raw = _string(value, field, 63)
    if not raw:
        raise invalid(field, "is required")
    return raw


def whole_number(value: Any, field: str, low: int, high: int) -> int:
    """An integer low..high; text of ASCII digits is read too (forms and CSV send text)."""
    if isinstance(value, str) and digits(value.strip()):
        stripped = value.strip()
        value = int(stripped) if len(stripped) <= 12 else high + 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(field, f"must be a whole number from {low} to {high}")
    return value
