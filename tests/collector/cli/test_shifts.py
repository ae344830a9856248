"""``chatter-collector shifts`` and ``coverage``: each change, and a message with exit 1
(or 2 for a usage mistake) on bad input, nothing written."""

from __future__ import annotations

from pathlib import Path

from tests.collector.conftest import Collector


def test_shift_commands(agency: Collector) -> None:
    out = agency.cli(
        "shifts",
        "add",
        "alice",
        "luna",
        "--days",
        "mon-fri",
        "--start",
        "22:00",
        "--end",
        "06:00",
        "--from",
        "2026-12-07",
        "--zone",
        "Europe/Paris",
    ).output
    assert out.startswith("shift 1 added: 1\talice\tluna\tmon-fri\t22:00-06:00\tEurope/Paris")
    agency.cli(
        "shifts", "add", "bob", "luna", "--on", "2026-12-08", "--start", "09:00", "--end", "12:00"
    )
    agency.cli("shifts", "edit", "1", "--until", "2026-12-31", "--note", "nights")
    agency.cli("shifts", "cancel", "1", "2026-12-07")
    out = agency.cli("shifts", "swap", "1", "2026-12-09", "--to", "bob").output
    assert out == "shift 1 on 2026-12-09: worked by bob\n"
    listed = agency.cli("shifts", "list", "--creator", "luna").output.splitlines()
    assert listed[0] == (
        "1\talice\tluna\tmon-fri\t22:00-06:00\tEurope/Paris\t2026-12-07..2026-12-31"
        "\t2026-12-07:cancelled\t2026-12-09:swapped->bob\t'nights'"
    )
    assert listed[1].startswith("2\tbob\tluna\tonce\t09:00-12:00\tUTC\t2026-12-08")
    week = agency.cli("shifts", "week", "--from", "2026-12-07", "--tz", "Europe/Paris").output
    assert "2026-12-07 Mon 22:00-06:00 (+1)\talice\tluna\tshift 1\tcancelled" in week
    assert "2026-12-09 Wed 22:00-06:00 (+1)\tbob\tluna\tshift 1\tswapped" in week
    agency.cli("shifts", "restore", "1", "2026-12-07")
    agency.cli("shifts", "remove", "2")
    assert len(agency.cli("shifts", "list").output.splitlines()) == 1


def test_refusals_exit_non_zero(agency: Collector) -> None:
    base = ["shifts", "add", "alice", "luna", "--start", "09:00", "--end", "17:00"]
    cases = [
        (base + ["--days", "funday"], "is not a day of the week"),
        (base + ["--on", "2026-02-30"], "is not a date"),
        (base + ["--on", "2026-12-07", "--zone", "Mars/Base"], "not an IANA time zone"),
        (
            [
                "shifts",
                "add",
                "alice",
                "nova",
                "--on",
                "2026-12-07",
                "--start",
                "09:00",
                "--end",
                "10:00",
            ],
            "Alice does not work for Nova",
        ),
        (base[:-2] + ["--end", "09:00", "--on", "2026-12-07"], "needs a length"),
        (base + ["--on", "2026-12-07", "--note", "a\x00b"], "NUL"),
        (["shifts", "cancel", "99", "2026-12-07"], "no shift 99"),
    ]
    for args, message in cases:
        result = agency.cli(*args, expect=1)
        assert message in result.output, (args, result.output)
    assert agency.cli(*base, expect=2).exit_code == 2  # neither --days nor --on
    agency.cli(*base, "--on", "2026-12-07")
    clash = agency.cli(
        "shifts",
        "add",
        "alice",
        "luna",
        "--on",
        "2026-12-07",
        "--start",
        "16:00",
        "--end",
        "18:00",
        expect=1,
    )
    assert "would work two shifts at once: the new shift on 2026-12-07" in clash.output
    assert len(agency.cli("shifts", "list").output.splitlines()) == 1


def test_import_and_coverage(agency: Collector, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "Chatter,Creator,Weekday,Start,End\nalice,luna,mon-fri,08:00,16:00\n"
        "bob,luna,sat,nine,17:00\nbob,ghost,sun,09:00,17:00\n"
    )
    result = agency.cli("shifts", "import", str(roster), expect=1)
    assert "line 3: start: 'nine' is not a time" in result.output
    assert "line 4: creator: no creator 'ghost'" in result.output
    assert agency.cli("shifts", "list").output == ""
    roster.write_text("chatter,creator,weekday,start,end\nalice,luna,mon-fri,08:00,16:00\n")
    out = agency.cli("shifts", "import", str(roster), "--from", "2026-12-07", "--dry-run").output
    assert "1 shift would be added" in out and agency.cli("shifts", "list").output == ""
    assert agency.cli("shifts", "import", str(roster), "--from", "2026-12-07").output == (
        "1 shift added\n"
    )
    out = agency.cli(
        "coverage",
        "add",
        "luna",
        "--days",
        "daily",
        "--start",
        "08:00",
        "--end",
        "00:00",
        "--required",
        "2",
    ).output
    assert out == "coverage rule 1 added: 1\tluna\tmon-sun\t08:00-00:00\tUTC\t2 online\n"
    assert "required" in agency.cli("coverage", "edit", "1", "--required", "3").output
    result = agency.cli("coverage", "edit", "1", "--required", "99999999999999999999", expect=1)
    assert "whole number from 0 to 1000" in result.output
    agency.cli("coverage", "remove", "1")
    assert agency.cli("coverage", "list").output == ""
