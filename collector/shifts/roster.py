"""Importing a week's roster from CSV: all rows or none.

Columns (a header line first, names in any case and order)::

    chatter,creator,day,start,end,zone,note          one-off shifts on a date
    chatter,creator,weekday,start,end,zone,note      weekly shifts (weekdays or days too)

``chatter``, ``creator``, ``start`` and ``end`` are required, and each row has either a
``day`` (YYYY-MM-DD: a one-off shift) or ``weekday`` ("mon", "mon-fri", "sat,sun": a
weekly shift from ``first_day``, else from the import's start day, until ``last_day``
when given).  ``zone`` empty means the agency's zone; ``note`` is optional.

The file is read strictly: a quoted value must be closed, and nothing may follow its
closing quote but a comma or the line's end.  A file that ends inside an open quote
(the rest of the file swallowed by one value) is refused at the line where that row
starts, like any other problem.

Every row is checked like a shift added by hand (``collector.shifts.manage``); any
problem and nothing is written, and every bad row is reported with its line number
(``details``: ``{"line", "message"}``).  A row repeating an earlier row, or a shift
already stored with the same values, is skipped and listed, so importing the same file
twice adds nothing the second time.  Rows that overlap each other or a chatter's stored
shifts are refused like any overlap, the chatter named ("Alex Moreau works two shifts at
once: ..."), in the same answer as every other bad row.

Imports run one at a time (``locks.ROSTER``, taken before the stored shifts are read):
two uploads of the same file at once give what two in a row give, the second adding
nothing, never an overlap of a row with its own twin from the other upload.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.db import audit, locks
from collector.db.schedule_models import Shift
from collector.db.text import count_of
from collector.errors import DomainError
from collector.shifts import clashes, manage

MAX_BYTES = 1024 * 1024
MAX_ROWS = 5000
_ALIASES = {
    "weekdays": "weekday",
    "days": "weekday",
    "date": "day",
    "timezone": "zone",
    "tz": "zone",
}
COLUMNS = (
    "chatter",
    "creator",
    "day",
    "weekday",
    "start",
    "end",
    "zone",
    "note",
    "first_day",
    "last_day",
)
REQUIRED = ("chatter", "creator", "start", "end")


@dataclass
class Imported:
    added: list[Shift] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)  # {"line", "reason"}


MAX_LISTED = 500


def refused(problems: list[dict[str, Any]]) -> DomainError:
    problems.sort(key=lambda p: p["line"])
    first = problems[0]
    return DomainError(
        f"the roster was not imported: {count_of(len(problems), 'problem')}; line {first['line']}: "
        f"{first['message']}",
        422,
        code="invalid_roster",
        details=problems[:MAX_LISTED],
    )


def problems_of(exc: DomainError) -> list[dict[str, Any]]:
    """A refused import's problems, each ``{"line", "message"}`` (in line order)."""
    return [d for d in exc.details if isinstance(d, dict) and "line" in d]


def summary(exc: DomainError) -> str:
    """One line above the list of problems, for the page and the command line (the list
    says each problem once; the API's message also quotes the first)."""
    listed = len(problems_of(exc))
    count = f"{listed} or more problems (the first {listed} are listed)"
    if listed < MAX_LISTED:
        count = count_of(listed, "problem")
    return (
        f"The roster was not imported, nothing was written: {count}. "
        "Fix the lines below and upload the whole file again."
    )


def _csv_problem(exc: csv.Error, first_line: int) -> dict[str, Any]:
    """What a CSV syntax error means, at the line where its row starts."""
    text = str(exc)
    if "unexpected end of data" in text:
        message = (
            "a quoted value on this line is never closed: the file ends inside it "
            '(add the missing " at the end of the value)'
        )
    elif "expected after" in text:
        message = 'text follows a closing quote (inside a quoted value, write a quote as "")'
    else:
        message = f"not readable as CSV: {text}"
    return {"line": first_line, "message": message}


def _text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    if len(data) > MAX_BYTES:
        raise DomainError(f"the roster is larger than {MAX_BYTES} bytes", 413)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise refused(
            [{"line": line, "message": "is not UTF-8 text (save the file as CSV UTF-8)"}]
        ) from None


def _header(reader: Any) -> list[str]:
    try:
        names = next(reader)
    except StopIteration:
        raise refused(
            [{"line": 1, "message": "the file is empty: a header line comes first"}]
        ) from None
    header = [_ALIASES.get(n.strip().lower(), n.strip().lower()) for n in names]
    problems: list[str] = []
    unknown = [n for n in header if n not in COLUMNS]
    if unknown:
        problems.append(
            f"{count_of(len(unknown), 'unknown column')} "
            f"{', '.join(repr(u[:30]) for u in unknown[:5])}; use {', '.join(COLUMNS)}"
        )
    missing = [n for n in REQUIRED if n not in header]
    if missing:
        problems.append(f"{count_of(len(missing), 'column')} missing: {', '.join(missing)}")
    if "day" not in header and "weekday" not in header:
        problems.append("a column day (a date) or weekday (mon-fri) is needed")
    twice = sorted({n for n in header if header.count(n) > 1})
    if twice:
        problems.append(f"{count_of(len(twice), 'column')} named twice: {', '.join(twice)}")
    if problems:
        raise refused([{"line": 1, "message": p} for p in problems])
    return header


def _row_data(header: list[str], values: list[str], start_day: dt.date) -> dict[str, Any]:
    if len(values) > len(header):
        raise DomainError(f"has {len(values)} values for {len(header)} columns")
    row = {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(header)}
    data: dict[str, Any] = {
        k: row.get(k, "") for k in ("chatter", "creator", "start", "end", "note")
    }
    for name in ("chatter", "creator", "start", "end"):
        if not data[name]:
            raise DomainError(f"{name} is empty")
    data["zone"] = row.get("zone") or None
    day, weekday = row.get("day", ""), row.get("weekday", "")
    if day and weekday:
        raise DomainError("give a day (one-off) or a weekday (weekly), not both")
    if not day and not weekday:
        raise DomainError("give a day (YYYY-MM-DD, one-off) or a weekday (mon-fri, weekly)")
    if day:
        if row.get("first_day") or row.get("last_day"):
            raise DomainError("a one-off shift (day) has no first_day or last_day")
        data.update(weekdays="", first_day=day)
    else:
        data.update(weekdays=weekday, first_day=row.get("first_day") or start_day.isoformat())
        if row.get("last_day"):
            data["last_day"] = row["last_day"]
    return data


def _same(fields: manage.ShiftFields) -> tuple[Any, ...]:
    return (
        fields.chatter.id,
        fields.creator.id,
        fields.zone,
        fields.weekdays,
        fields.start_minute,
        fields.end_minute,
        fields.first_day,
        fields.last_day,
    )


def import_roster(
    session: Session,
    data: bytes | str,
    *,
    default_zone: str,
    start_day: dt.date,
    actor: str,
    now: dt.datetime,
    scope: manage.Scope = None,
) -> Imported:
    """Check every row, then add them all (or raise ``invalid_roster`` and add none)."""
    content = _text(data)
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    try:
        header = _header(reader)
    except csv.Error as exc:
        raise refused([_csv_problem(exc, 1)]) from None
    problems: list[dict[str, Any]] = []
    result = Imported()
    rows: list[tuple[int, manage.ShiftFields]] = []
    seen: dict[tuple[Any, ...], int] = {}
    # Wait for any other import to commit, then read what it stored (PostgreSQL reads
    # each statement's snapshot: the rows committed while this one waited are seen).
    locks.serialise(session.connection(), locks.ROSTER)
    stored = {
        (
            s.chatter_id,
            s.creator_id,
            s.zone,
            s.weekdays,
            s.start_minute,
            s.end_minute,
            s.first_day,
            s.last_day,
        ): s.id
        for s in session.scalars(select(Shift))
    }
    while True:
        # A row may span lines (a quoted value with a line break): name the line it starts on.
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(_csv_problem(exc, line))
            break
        if not any(v.strip() for v in values):
            continue  # blank lines, as spreadsheets leave them
        if len(rows) + len(problems) >= MAX_ROWS:
            problems.append({"line": line, "message": f"more than {MAX_ROWS} rows: split the file"})
            break
        try:
            fields = manage.shift_fields(
                session,
                _row_data(header, values, start_day),
                default_zone=default_zone,
                scope=scope,
            )
        except DomainError as exc:
            problems.append({"line": line, "message": exc.message})
            continue
        key = _same(fields)
        if key in seen:
            result.skipped.append({"line": line, "reason": f"repeats line {seen[key]}"})
            continue
        seen[key] = line
        if key in stored:
            result.skipped.append(
                {"line": line, "reason": f"already scheduled as shift {stored[key]}"}
            )
            continue
        rows.append((line, fields))
    if not rows and not problems and not result.skipped:
        problems.append({"line": 1, "message": "the file has a header but no rows"})
    # Overlaps are checked among the good rows even when other rows are bad: one upload
    # lists every problem of the file, never one kind after the other.
    if rows:
        new_rules = [f.rule(-n) for n, f in rows]
        names = {f.chatter.id: f.chatter.name for _, f in rows}
        found = clashes.find_all(session, names, new_rules)
        for clash in found:
            new, other = clashes.describe(clash.new, scope), clashes.describe(clash.other, scope)
            problems.append(
                {
                    "line": -clash.new.shift_id,
                    "message": f"{names[clash.chatter_id]} works two shifts at once: "
                    f"{new} overlaps {other}",
                }
            )
    if problems:
        raise refused(_one_per_line(problems))
    for _, fields in rows:
        shift = Shift(**manage.shift_values(fields), created_at=now, updated_at=now)
        session.add(shift)
        result.added.append(shift)
    session.flush()
    for (n, fields), shift in zip(rows, result.added, strict=True):
        audit.record(
            session,
            actor,
            "add_shift",
            f"shift {shift.id}",
            now,
            imported_line=n,
            **manage.shown_values(fields),
        )
    return result


def _one_per_line(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first problem of each line (an overlapping pair may be found from both sides)."""
    first: dict[int, dict[str, Any]] = {}
    for p in problems:
        first.setdefault(p["line"], p)
    return list(first.values())
