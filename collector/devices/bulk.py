"""Enrollment tokens for many chatters at once: a CSV in, a CSV of tokens out.

For IT preparing many computers.  The CSV in has a first row naming its columns:
``chatter`` (a chatter's key, or their name when it names one chatter), and optionally
``computer`` (a label IT uses to tell the computers apart: it comes back in the output,
nothing stores it) and ``ttl`` (that row's token lifetime, such as 72h or 7d).  Commas,
semicolons (Excel in much of Europe) or tabs separate the cells; Excel's byte order mark
is dropped; the text must be UTF-8.

All or nothing: every row is read and checked before a token is made, and every
problem is reported with its row number (the spreadsheet's: the first row is 1); then
all tokens are made in the caller's one transaction.  The CSV out has one row per token,
with its expiry in UTC and in the agency's zone and the install commands with the token
written in, each on one line; a cell that would run as a formula in a spreadsheet is
defused.  A cell of the CSV in that holds a control character (ESC, a text direction
control) makes its row wrong.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.cells import defuse, hidden_control
from collector.db import settings, text
from collector.db.models import Chatter
from collector.db.text import count_of
from collector.devices import enrollment
from collector.devices.install import install_commands
from collector.errors import DomainError

MAX_BYTES = 1 << 20
MAX_ROWS = 1000
MAX_COMPUTER = 100
MAX_TTL_TEXT = 20
# How many problems one error lists (the rest are counted).
SHOWN_PROBLEMS = 20
COLUMNS = ("chatter", "computer", "ttl")
DELIMITERS = (",", ";", "\t")
_BOM = b"\xef\xbb\xbf"
SAVE_AS = "save it from the spreadsheet as 'CSV UTF-8 (Comma delimited)'"
OUTPUT_COLUMNS = (
    "chatter",
    "name",
    "computer",
    "token",
    "expires_utc",
    "expires_local",
    "time_zone",
    "install_linux_macos",
    "install_windows",
)


@dataclass(frozen=True)
class Wanted:
    """One token to make: for whom, on which computer, for how long; from which row."""

    chatter: Chatter
    computer: str
    ttl: dt.timedelta
    row: int


@dataclass(frozen=True)
class Issued:
    chatter_key: str
    chatter_name: str
    computer: str
    token: str
    expires_at: dt.datetime


class Problems:
    """Row problems, gathered so that one answer names them all."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []

    def add(self, row: int, message: str) -> None:
        self.found.append((row, message))

    def raise_any(self) -> None:
        if not self.found:
            return
        shown = self.found[:SHOWN_PROBLEMS]
        lines = [f"row {row}: {message}" for row, message in shown]
        if len(self.found) > len(shown):
            lines.append(f"and {len(self.found) - len(shown)} more")
        count = len(self.found)
        raise DomainError(
            f"nothing was created: {count_of(count, 'problem')} in the CSV:\n  "
            + "\n  ".join(lines),
            code="bad_csv",
            details=[{"row": row, "message": message} for row, message in self.found],
        )


def _fail(message: str, row: int | None = None) -> DomainError:
    where = f"row {row}: " if row is not None else ""
    return DomainError(
        f"nothing was created: {where}{message}",
        code="bad_csv",
        details=[{"row": row, "message": message}],
    )


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decoded(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise _fail(
            f"the file is larger than {MAX_BYTES >> 20} MiB (at most {MAX_ROWS:,} rows are "
            "taken at once): split it"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(f"the file is UTF-16 text (Excel's 'Unicode Text'): {SAVE_AS}")
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(f"not UTF-8 text: {SAVE_AS}", _line_of(data, exc.start)) from None
    nul = decoded.find("\x00")
    if nul >= 0:
        raise _fail("a NUL character, which is not text", decoded.count("\n", 0, nul) + 1)
    if not decoded.strip():
        raise _fail(
            "the file is empty: its first row names the columns: chatter "
            "(and, if you like, computer and ttl)"
        )
    return decoded


def _header(first_line: str) -> tuple[str, list[str]]:
    """The delimiter and the column names of the first row."""
    for delimiter in DELIMITERS:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        names = [cell.strip().lower() for cell in cells]
        while names and not names[-1]:
            names.pop()  # Excel's trailing empty cells
        if "chatter" in names and set(names) <= set(COLUMNS):
            for name in names:
                if names.count(name) > 1:
                    raise _fail(f"the column {name!r} is named twice", 1)
            return delimiter, names
    shown = first_line.strip()[:80]
    raise _fail(
        "the first row must name the columns: chatter (a key or name), and if you like "
        f"computer and ttl, separated by commas or semicolons; it reads {shown!r}",
        1,
    )


@dataclass(frozen=True)
class Row:
    number: int
    chatter: str
    computer: str
    ttl: str


def _acting_cell(values: dict[str, str]) -> str | None:
    """A cell holding a control character: the labels come back in the output, which the
    command line prints, so an escape sequence would act on IT's terminal and a text
    direction control would show a label (or the command beside it) reversed."""
    for name, value in values.items():
        found = hidden_control(value)
        if found is not None:
            return (
                f"the {name} holds a control character, {found}, which would act on the "
                "screen instead of showing: type the cell again"
            )
    return None


def read_rows(data: bytes) -> list[Row]:
    """The CSV's rows as written (blank rows skipped), or a DomainError naming the row."""
    decoded = _decoded(data)
    delimiter, names = _header(decoded.splitlines()[0])
    reader = csv.reader(io.StringIO(decoded, newline=""), delimiter=delimiter, strict=True)
    rows: list[Row] = []
    problems = Problems()
    try:
        next(reader)
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            extra = cells[len(names) :]
            if any(cell.strip() for cell in extra):
                problems.add(number, f"more cells than the first row names ({len(names)})")
                continue
            values = dict(zip(names, cells, strict=False))
            acting = _acting_cell(values)
            if acting:
                problems.add(number, acting)
                continue
            rows.append(
                Row(
                    number,
                    " ".join(values.get("chatter", "").split()),
                    " ".join(values.get("computer", "").split()),
                    values.get("ttl", "").strip(),
                )
            )
            if len(rows) > MAX_ROWS:
                raise _fail(f"more than {MAX_ROWS:,} rows: split the file", number)
    except csv.Error as exc:
        raise _fail(f"cannot be read as CSV: {exc}", reader.line_num) from None
    problems.raise_any()
    if not rows:
        raise _fail("the file names its columns but has no rows of chatters after the first")
    return rows


def _chatters(session: Session) -> tuple[dict[str, Chatter], dict[str, list[Chatter]]]:
    """Every chatter by key, and by name as people type it (any case, any spacing)."""
    by_key: dict[str, Chatter] = {}
    by_name: dict[str, list[Chatter]] = {}
    for chatter in session.scalars(select(Chatter).order_by(Chatter.key)):
        by_key[chatter.key] = chatter
        by_name.setdefault(" ".join(chatter.name.split()).casefold(), []).append(chatter)
    return by_key, by_name


def _cell_problem(row: Row) -> str | None:
    """What makes the row's chatter or computer cell unusable, if anything."""
    if not row.chatter:
        return "no chatter is named"
    found = text.problem(row.chatter, Chatter.name)
    if found is not None:
        return f"the chatter {found}"
    found = text.problem(row.computer)
    if found is None and len(row.computer) > MAX_COMPUTER:
        found = f"is longer than {MAX_COMPUTER} characters ({len(row.computer)})"
    return f"the computer {found}" if found is not None else None


def wanted(session: Session, rows: list[Row], default_ttl: dt.timedelta) -> list[Wanted]:
    """The tokens the rows ask for, or a DomainError naming every row that is wrong."""
    enrollment.check_lifetime(default_ttl)
    by_key, by_name = _chatters(session)
    problems = Problems()
    out: list[Wanted] = []
    seen: dict[tuple[int, str], int] = {}
    for row in rows:
        who = row.chatter
        wrong = _cell_problem(row)
        if wrong:
            problems.add(row.number, wrong)
            continue
        ttl = default_ttl
        if row.ttl:
            try:
                if len(row.ttl) > MAX_TTL_TEXT:
                    raise DomainError(f"the ttl is longer than {MAX_TTL_TEXT} characters")
                ttl = enrollment.check_lifetime(enrollment.parse_duration(row.ttl))
            except DomainError as exc:
                problems.add(row.number, f"ttl: {exc.message}")
                continue
        chatter = by_key.get(who)
        if chatter is None:
            named = by_name.get(who.casefold(), [])
            if len(named) > 1:
                keys = ", ".join(c.key for c in named)
                problems.add(
                    row.number,
                    f"{who!r} is the name of {len(named)} chatters ({keys}): write the key instead",
                )
                continue
            if not named:
                problems.add(
                    row.number,
                    f"no chatter {who!r} (neither a key nor a name; "
                    "see 'chatter-collector chatters' or the People page)",
                )
                continue
            chatter = named[0]
        if not chatter.active:
            problems.add(
                row.number, f"chatter {chatter.key!r} is deactivated: reactivate them first"
            )
            continue
        place = (chatter.id, row.computer.casefold())
        if place in seen:
            problems.add(
                row.number,
                f"repeats row {seen[place]} (chatter {chatter.key!r}"
                + (f", computer {row.computer!r}" if row.computer else "")
                + "): one token per computer; to give a chatter several, name each "
                "computer in a computer column",
            )
            continue
        seen[place] = row.number
        out.append(Wanted(chatter, row.computer, ttl, row.number))
    problems.raise_any()
    return out


def picked(session: Session, keys: list[str], ttl: dt.timedelta) -> list[Wanted]:
    """One token for each chatter picked on the page (keys), in the order picked."""
    rows = [Row(number, key, "", "") for number, key in enumerate(dict.fromkeys(keys), start=1)]
    if not rows:
        raise DomainError("pick at least one chatter")
    if len(rows) > MAX_ROWS:
        raise DomainError(f"pick at most {MAX_ROWS:,} chatters at once")
    by_key, _ = _chatters(session)
    for row in rows:
        if row.chatter not in by_key:
            raise DomainError(f"no chatter {row.chatter!r}")
    return wanted(session, rows, ttl)


def issue(session: Session, tokens: list[Wanted], now: dt.datetime) -> list[Issued]:
    """Make the tokens in the caller's transaction (all of them, or none if it fails)."""
    out = []
    for want in tokens:
        token = enrollment.issue_token(session, want.chatter, now, want.ttl)
        out.append(
            Issued(want.chatter.key, want.chatter.name, want.computer, token, now + want.ttl)
        )
    return out


def agency_zone(session: Session) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(str(settings.get_value(session, "agency_timezone")))


def to_csv(issued: list[Issued], zone: zoneinfo.ZoneInfo, server: str) -> bytes:
    """The tokens as CSV (with a BOM, for Excel); install commands only if ``server``."""
    columns = [c for c in OUTPUT_COLUMNS if server or not c.startswith("install_")]
    out = io.StringIO(newline="")
    writer = csv.writer(out)  # RFC 4180: CRLF line ends, minimal quoting
    writer.writerow(columns)
    for item in issued:
        expires = item.expires_at.astimezone(dt.UTC).replace(microsecond=0)
        cells = {
            "chatter": item.chatter_key,
            "name": item.chatter_name,
            "computer": item.computer,
            "token": item.token,
            "expires_utc": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "expires_local": expires.astimezone(zone).isoformat(),
            "time_zone": zone.key,
        }
        if server:
            # One line each: Excel copies a cell of several lines in quotes, which breaks
            # the paste; one line pastes as it is (one cell, one paste: no line missed).
            commands = install_commands(server, item.token)
            cells["install_linux_macos"] = commands.unix_line
            cells["install_windows"] = commands.windows_line
        writer.writerow([defuse(cells[c]) for c in columns])
    return out.getvalue().encode("utf-8-sig")


def filename(now: dt.datetime) -> str:
    return f"enrollment-tokens-{now.astimezone(dt.UTC):%Y%m%d-%H%M%S}Z.csv"
