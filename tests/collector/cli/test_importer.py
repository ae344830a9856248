"""``chatter-collector import``: CSV and NDJSON backfill with a summary (both databases)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.collector.conftest import Collector
from tests.collector.ingest.test_events import rows

CSV = """id,type,occurred_at,creator,chatter,fan,kind,ppv_id,ppv_price,amount,refers_to
c1,fan_message,2026-11-20T09:00:00Z,luna,,fan-1,,,,,
c2,message_sent,2026-11-20T09:01:00Z,luna,alice,fan-1,direct,ppv-9,12.50,,
c3,ppv_purchase,2026-11-20T09:30:00+01:00,luna,,fan-1,,ppv-9,,12.50,
c4,tip,2026-11-20T09:40:00Z,ghost,,fan-1,,,,3.00,
c5,tip,2026-11-20T09:41:00Z,luna,,fan-1,,,,3.333,
c6,refund,2026-11-20T10:00:00Z,luna,,,,,,12.50,c3
c7,teleport,2026-11-20T10:00:00Z,luna,,,,,,,
"""


def test_csv_with_good_and_bad_rows(agency: Collector, tmp_path: Path) -> None:
    path = tmp_path / "backfill.csv"
    path.write_text(CSV)
    rejects = tmp_path / "rejects.ndjson"

    result = agency.cli("import", str(path), "--rejects", str(rejects), expect=1)

    assert "stored 4, duplicates 0, rejected 3" in result.output
    assert "line 5: c4: unknown creator 'ghost'" in result.output
    assert 'line 6: c5: amount "3.333" has more than 2 decimal places' in result.output
    assert "line 8: c7: unknown event type 'teleport'" in result.output
    stored = rows(agency)
    assert sorted(stored) == ["c1", "c2", "c3", "c6"]
    assert stored["c2"] == ("message_sent", 1250, "ppv-9", "direct", "fan-1")
    reasons = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [r["id"] for r in reasons] == ["c4", "c5", "c7"]

    again = agency.cli("import", str(path), expect=1)
    assert "stored 0, duplicates 4, rejected 3" in again.output


def test_ndjson_import(agency: Collector, tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    lines = [
        {
            "id": f"n{i}",
            "type": "fan_message",
            "occurred_at": "2026-11-20T09:00:00Z",
            "creator": "luna",
            "fan": f"f{i}",
        }
        for i in range(12_000)
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = agency.cli("import", str(path))
    assert "stored 12000, duplicates 0, rejected 0" in result.output
    assert len(rows(agency)) == 12_000


def test_unreadable_files(agency: Collector, tmp_path: Path) -> None:
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("id,type,colour\nx,tip,red\n")
    result = agency.cli("import", str(bad_header), expect=1)
    assert "unknown CSV column(s) colour" in result.output
    missing = agency.cli("import", str(tmp_path / "nope.csv"), expect=2)
    assert "does not exist" in missing.output
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"id,type\n\xff\xfe\x00bad\n")
    assert agency.cli("import", str(binary), expect=1).exit_code == 1
