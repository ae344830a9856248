"""Bulk enrollment from the command line, on both databases: a CSV of chatters in, a CSV
of tokens out that Python's csv module reads back and whose tokens enroll; any bad row
names itself and writes nothing at all."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from collector.agency import people
from collector.devices import bulk
from collector.devices.install import install_commands
from collector.http.database import db
from shared.protocol import utc_now
from tests.collector.conftest import Collector

SERVER = "https://track.example-agency.com"
BODY = {"hostname": "pc", "platform": "Linux", "agent_version": "0.1.0"}


def rows_of(data: bytes) -> list[dict[str, str]]:
    """The output as a spreadsheet or script reads it (Excel's BOM dropped)."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def stored(agency: Collector) -> dict[str, Any]:
    """What bulk enrollment may write: tokens and audit entries."""
    engine = create_engine(agency.database_url)
    with engine.connect() as conn:
        tokens = conn.execute(text("SELECT count(*) FROM enrollment_tokens")).scalar_one()
        audits = conn.execute(
            text("SELECT action, subject, detail FROM audit_log ORDER BY id")
        ).all()
    engine.dispose()
    return {"tokens": tokens, "audits": [tuple(a) for a in audits]}


def run(agency: Collector, tmp_path: Path, content: bytes, *args: str, expect: int = 0) -> Any:
    source = tmp_path / "chatters.csv"
    source.write_bytes(content)
    return agency.cli("enroll-tokens", "--csv", str(source), *args, expect=expect)


def refused(agency: Collector, tmp_path: Path, content: bytes, *messages: str) -> str:
    """The CSV is refused (exit 1) with every message, and nothing is written."""
    before = stored(agency)
    result = run(agency, tmp_path, content, "--server", SERVER, expect=1)
    assert result.stdout_bytes == b""  # no token printed
    for message in messages:
        assert message in result.output, result.output
    assert "nothing was created" in result.output
    assert stored(agency) == before
    return str(result.output)


def test_a_csv_of_chatters_becomes_a_csv_of_tokens_that_enroll(
    agency: Collector, tmp_path: Path
) -> None:
    agency.cli("settings", "set", "agency_timezone", "Europe/Paris")
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    content = (
        b"chatter,computer,ttl\r\n"
        b"alice,Office PC 1,\r\n"
        b'Bob,=HYPERLINK("http://x"),7d\r\n'  # bob by name; a formula as a label
        b"alice,Alice's laptop,1h\r\n"
        b",,\r\n"  # an empty row, as spreadsheets leave them
    )

    result = run(agency, tmp_path, content, "--server", SERVER)

    rows = rows_of(result.stdout_bytes)
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    assert list(rows[0]) == list(bulk.OUTPUT_COLUMNS)
    assert [(r["chatter"], r["name"], r["computer"]) for r in rows] == [
        ("alice", "Alice", "Office PC 1"),
        ("bob", "Bob", '\'=HYPERLINK("http://x")'),  # defused: shown as text
        ("alice", "Alice", "Alice's laptop"),
    ]
    tokens = [r["token"] for r in rows]
    assert len(set(tokens)) == 3 and all(t.startswith("cte_") for t in tokens)
    for row, ttl in zip(
        rows, (dt.timedelta(hours=72), dt.timedelta(days=7), dt.timedelta(hours=1)), strict=True
    ):
        expires = dt.datetime.fromisoformat(row["expires_utc"].replace("Z", "+00:00"))
        assert before + ttl <= expires <= before + ttl + dt.timedelta(seconds=5)
        local = dt.datetime.fromisoformat(row["expires_local"])
        assert local == expires and local.utcoffset() in (
            dt.timedelta(hours=1),
            dt.timedelta(hours=2),
        )
        assert row["time_zone"] == "Europe/Paris"
        # One line per cell: Excel copies a cell of several lines in quotes.
        assert row["install_linux_macos"] == (
            f"(umask 077 && printf '%s\\n' '{row['token']}' > ~/chattertrack-token.txt) && "
            f"curl -fsSL {SERVER}/agent/install.sh | bash -s -- --server {SERVER} "
            "--token-file ~/chattertrack-token.txt"
        )
        windows = row["install_windows"].split("; ")
        assert windows[0] == (
            f"Set-Content -Path \"$env:TEMP\\chattertrack-token.txt\" -Value '{row['token']}'"
        )
        assert windows[-1].endswith(
            f'-Server {SERVER} -TokenFile "$env:TEMP\\chattertrack-token.txt"'
        )
        commands = install_commands(SERVER, row["token"])
        assert row["install_windows"] == commands.windows_line
        assert row["install_windows"].split("; ") == commands.windows.splitlines()
        assert "\n" not in row["install_linux_macos"] + row["install_windows"]
    # Each cell is one CSV field on one line (no quoting needed for a line break).
    assert result.stdout_bytes.count(b"\r\n") == len(rows) + 1
    # One audit entry for the batch, with the count; no token anywhere in it.
    after = stored(agency)
    assert after["tokens"] == 3
    action, subject, detail = after["audits"][-1]
    assert (action, subject) == ("enroll_tokens", "3 tokens")
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail == {"count": 3, "ttl": "72h"}
    assert not any(t in repr(after) for t in tokens)

    for row in rows:
        reply = agency.http.post("/api/v1/agents/enroll", json={"token": row["token"], **BODY})
        assert reply.status_code == 201, reply.text
    devices = agency.cli("devices", "--json").output
    assert devices.count('"chatter": "alice"') == 2 and devices.count('"chatter": "bob"') == 1


def test_excel_files_from_europe_and_stdin_are_read(agency: Collector, tmp_path: Path) -> None:
    # Excel's "CSV UTF-8" with a BOM and semicolons (its separator where "," is a decimal).
    excel = "\ufeffChatter;Computer\r\nalice;Büro 2\r\nbob;\r\n".encode()
    result = run(agency, tmp_path, excel)
    rows = rows_of(result.stdout_bytes)
    assert [(r["chatter"], r["computer"]) for r in rows] == [("alice", "Büro 2"), ("bob", "")]
    assert "install_windows" not in rows[0]  # no --server, no CHATTER_PUBLIC_URL
    assert "no install commands" in result.stderr

    piped = agency.cli(
        "enroll-tokens", "--csv", "-", "--ttl", "30m", input="chatter\tcomputer\nbob\tx\n"
    )
    (row,) = rows_of(piped.stdout_bytes)
    assert row["chatter"] == "bob" and row["computer"] == "x"


def test_the_output_file_is_private_and_never_overwritten_unasked(
    agency: Collector, tmp_path: Path
) -> None:
    out = tmp_path / "tokens.csv"
    result = run(agency, tmp_path, b"chatter\nalice\n", "--out", str(out))
    assert result.stdout_bytes == b"" and "1 tokens written" in result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert rows_of(out.read_bytes())[0]["chatter"] == "alice"
    first = out.read_bytes()

    again = run(agency, tmp_path, b"chatter\nbob\n", "--out", str(out), expect=2)
    assert "--force" in again.output and out.read_bytes() == first
    assert stored(agency)["tokens"] == 1

    run(agency, tmp_path, b"chatter\nbob\n", "--out", str(out), "--force")
    assert rows_of(out.read_bytes())[0]["chatter"] == "bob"

    missing = run(
        agency, tmp_path, b"chatter\nbob\n", "--out", str(tmp_path / "no" / "t.csv"), expect=2
    )
    assert "not a directory" in missing.output
    assert stored(agency)["tokens"] == 2


def test_control_characters_in_a_cell_are_refused_by_row(agency: Collector, tmp_path: Path) -> None:
    """Finding: ESC and text direction controls in the computer column came back in the
    output the command line prints (an escape sequence acts on IT's terminal; a U+202E
    shows a label reversed)."""
    content = (
        "chatter,computer\r\n"
        "alice,Office PC 1\r\n"
        "bob,\x1b]0;owned\x07PC\r\n"  # sets the terminal's title
        "alice,\u202egpj.exe\r\n"
        "alice,Desk \u2066 2\r\n"
        "alice,Desk\x9b2J\r\n"  # C1 CSI: clears the screen on some terminals
        "bob,Front\u200fdesk\r\n"
        "alice\x1b[8m,x\r\n"
        'alice,"Wrapped\r\nlabel"\r\n'  # a line break in a cell is layout: a space
    ).encode()
    output = refused(
        agency,
        tmp_path,
        content,
        "6 problems",
        "row 3: the computer holds a control character, ESC (U+001B)",
        "row 4: the computer holds a control character, RIGHT-TO-LEFT OVERRIDE (U+202E)",
        "row 5: the computer holds a control character, LEFT-TO-RIGHT ISOLATE (U+2066)",
        "row 6: the computer holds a control character, U+009B",
        "row 7: the computer holds a control character, RIGHT-TO-LEFT MARK (U+200F)",
        "row 8: the chatter holds a control character, ESC (U+001B)",
        "type the cell again",
    )
    assert not any(c in output for c in "\x1b\x07\x9b\u202e\u2066\u200f")
    for char in "\x01\x7f\x85\u202a\u202b\u202c\u202d\u2067\u2068\u2069\u200e\u061c":
        refused(agency, tmp_path, f"chatter,computer\nalice,a{char}b\n".encode(), "row 2: ")
    result = run(agency, tmp_path, b'chatter,computer\nalice,"Wrapped\r\nlabel"\n')
    assert rows_of(result.stdout_bytes)[0]["computer"] == "Wrapped label"


@pytest.mark.parametrize(
    ("content", "messages"),
    [
        (
            b"chatter\nalice\nzed\nbob\nnobody\n",
            ["row 3: no chatter 'zed'", "row 5: no chatter 'nobody'", "2 problems"],
        ),
        (
            b"chatter\nalice\nbob\nalice\n",
            ["row 4: repeats row 2 (chatter 'alice')", "computer column"],
        ),
        (
            b"chatter,computer\nalice,PC 1\nAlice,pc 1\n",
            ["row 3: repeats row 2", "computer 'pc 1'"],
        ),
        (b"chatter\nalice\nbo\x00b\n", ["row 3: a NUL character, which is not text"]),
        (
            b"chatter\nalice\n" + "caf\u00e9\n".encode("latin-1"),
            ["row 3: not UTF-8 text", "CSV UTF-8"],
        ),
        ("chatter\nalice\n".encode("utf-16"), ["UTF-16"]),
        (
            b"chatter,computer\nalice," + b"x" * 101 + b"\n",
            ["row 2: the computer is longer than 100 characters (101)"],
        ),
        (
            b"chatter\n" + b"a" * 201 + b"\n",
            ["row 2: the chatter is longer than 200 characters (201)"],
        ),
        (
            b"chatter,ttl\nalice,90d\nbob,soon\n",
            ["row 2: ttl: token lifetime must be between", "row 3: ttl: 'soon'"],
        ),
        (
            b"chatter,computer\nalice,pc,extra\n",
            ["row 2: more cells than the first row names (2)"],
        ),
        (b"chatter,email\nalice,a@x.test\n", ["row 1: the first row must name the columns"]),
        (b"alice\nbob\n", ["row 1: the first row must name the columns", "'alice'"]),
        (b"chatter,chatter\nalice,bob\n", ["row 1: the column 'chatter' is named twice"]),
        (b"", ["the file is empty"]),
        (b"chatter\r\n\r\n", ["no rows of chatters"]),
        (b'chatter\n"alice\n', ["cannot be read as CSV"]),
        (
            b'chatter\n,\n""\n' + b"\n" * 3 + b"=cmd|' /C calc'!A0\n",
            ["row 7: no chatter \"=cmd|' /C calc'!A0\""],
        ),
    ],
)
def test_bad_csvs_name_the_row_and_write_nothing(
    agency: Collector, tmp_path: Path, content: bytes, messages: list[str]
) -> None:
    refused(agency, tmp_path, content, *messages)


def test_a_huge_file_is_refused_before_it_is_read(agency: Collector, tmp_path: Path) -> None:
    big = b"chatter\n" + b"alice\n" * (bulk.MAX_BYTES // 6 + 10)
    refused(agency, tmp_path, big, "larger than 1 MiB", "split it")
    many = b"chatter,computer\n" + b"".join(b"alice,pc %d\n" % i for i in range(bulk.MAX_ROWS + 1))
    refused(agency, tmp_path, many, "more than 1,000 rows")


def test_deactivated_and_ambiguous_chatters_are_named(agency: Collector, tmp_path: Path) -> None:
    agency.cli("add-chatter", "alice2", "--name", "Alice", "--creator", "luna")
    refused(
        agency,
        tmp_path,
        b"chatter\nalice\nALICE\n",
        "row 3: 'ALICE' is the name of 2 chatters (alice, alice2): write the key",
    )
    with agency.app.app_context():
        people.deactivate_chatter(db.session, people.find_chatter(db.session, "bob"), utc_now())
        db.session.commit()
    refused(agency, tmp_path, b"chatter\nbob\n", "row 2: chatter 'bob' is deactivated")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ttl", "soon"], "90m, 72h or 7d"),
        (["--ttl", "31d"], "between 1 minute and 30 days"),
        (["--server", "ftp://x"], "is not an address"),
        (["--server", "https://x.test/a b"], "is not an address"),
    ],
)
def test_bad_options_are_refused(
    agency: Collector, tmp_path: Path, args: list[str], message: str
) -> None:
    before = stored(agency)
    result = run(agency, tmp_path, b"chatter\nalice\n", *args, expect=2)
    assert message in result.output
    assert stored(agency) == before


def test_a_missing_csv_file_is_named(agency: Collector, tmp_path: Path) -> None:
    result = agency.cli("enroll-tokens", "--csv", str(tmp_path / "nope.csv"), expect=2)
    assert "nope.csv" in result.output and "No such file" in result.output
