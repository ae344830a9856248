"""CSV and Excel exports of statistics tables, read back by independent readers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import flask
import pytest
from openpyxl import load_workbook

from collector.errors import ApiError
from collector.http.exports import CSV_TYPE, XLSX_TYPE, export_response, to_csv, to_xlsx
from collector.stats.tables import Column, Table

COLUMNS = [
    Column("name", "Chatter", "text"),
    Column("sales", "Total sales", "money"),
    Column("active", "Active time", "duration"),
    Column("response", "Avg response", "duration"),
    Column("rate", "Purchase rate", "ratio"),
    Column("ppv", "PPVs per message", "number"),
    Column("messages", "Messages", "integer"),
    Column("day", "First day", "date"),
    Column("hour", "Hour", "datetime"),
]
ROWS: list[dict[str, Any]] = [
    {
        "name": '=HYPERLINK("http://evil.example","x")',
        "sales": "1234.50",
        "active": 90000,
        "response": 37.5,
        "rate": 0.25,
        "ppv": 0.125,
        "messages": 1234567,
        "day": "2026-11-01",
        "hour": "2026-03-29T01:00:00+01:00",
    },
    {
        "name": "Zoë Øster 山田",
        "sales": "-3.00",
        "active": 5400,
        "response": None,
        "rate": None,
        "ppv": None,
        "messages": 0,
        "day": "2026-11-02",
        "hour": "2026-03-29T03:00:00+02:00",
    },
    {
        "name": None,
        "sales": "0.00",
        "active": 0,
        "response": 0.1,
        "rate": 1.0,
        "ppv": 2.0,
        "messages": 3,
        "day": "2026-11-30",
        "hour": "2026-10-25T02:00:00+01:00",
    },
]
META = [
    ("Range", "2026-11-01 to 2026-11-30"),
    ("Time zone", "Europe/Paris"),
    ("Creator", "=cmd|' /C calc'!A0"),
]
HEADER_ROW = len(META) + 4  # title, meta, "Currency", empty row
# Durations and rates say their unit, as each file writes them: CSV plain seconds and
# fractions (0.25), Excel time cells ([h]:mm:ss) and percentages (25.0%).
CSV_HEADER = [
    "Chatter",
    "Total sales",
    "Active time (seconds)",
    "Avg response (seconds)",
    "Purchase rate (1 = 100%)",
    "PPVs per message",
    "Messages",
    "First day",
    "Hour",
]
XLSX_HEADER = [
    "Chatter",
    "Total sales",
    "Active time (h:mm:ss)",
    "Avg response (h:mm:ss)",
    "Purchase rate (%)",
    "PPVs per message",
    "Messages",
    "First day",
    "Hour",
]


def make_table(**changes: Any) -> Table:
    fields: dict[str, Any] = {
        "title": "All chatters",
        "columns": COLUMNS,
        "rows": ROWS,
        "meta": META,
        "currency": "USD",
        "exponent": 2,
        "filename": "chatters_2026-11-01_2026-11-30",
    }
    fields.update(changes)
    return Table(**fields)


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# --- CSV ----------------------------------------------------------------------------------


def test_csv_is_utf8_with_bom_header_then_rows_only() -> None:
    data = to_csv(make_table())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = read_csv(data)
    assert rows[0] == CSV_HEADER
    assert len(rows) == 1 + len(ROWS)  # no metadata block
    assert rows[1][1:] == [
        "1234.50",
        "90000",
        "37.5",
        "0.25",
        "0.125",
        "1234567",
        "2026-11-01",
        "2026-03-29T01:00:00+01:00",
    ]


def test_csv_keeps_exact_money_and_blank_for_missing_values() -> None:
    rows = read_csv(to_csv(make_table()))
    assert [row[1] for row in rows[1:]] == ["1234.50", "-3.00", "0.00"]
    assert rows[2][3:6] == ["", "", ""]  # response, rate, ppv are None
    assert rows[3][0] == ""  # None name


def test_csv_neutralises_formula_text_but_not_numbers() -> None:
    names = ["=1+1", "+33 6 12", "-minus", "@SUM(A1)", "\tTab", "plain"]
    rows = [{**ROWS[1], "name": name, "sales": "-3.00"} for name in names]
    out = read_csv(to_csv(make_table(rows=rows)))
    assert [row[0] for row in out[1:]] == [
        "'=1+1",
        "'+33 6 12",
        "'-minus",
        "'@SUM(A1)",
        "'\tTab",
        "plain",
    ]
    assert {row[1] for row in out[1:]} == {"-3.00"}


def test_csv_round_trips_non_ascii_names() -> None:
    rows = read_csv(to_csv(make_table()))
    assert rows[2][0] == "Zoë Øster 山田"


def test_csv_with_zero_rows_has_the_header() -> None:
    assert read_csv(to_csv(make_table(rows=[]))) == [CSV_HEADER]


def test_non_numbers_in_typed_columns_are_refused() -> None:
    # A typed column never passes text through, so it cannot smuggle a formula either.
    with pytest.raises(TypeError):
        to_csv(make_table(rows=[{**ROWS[0], "messages": "=1+1"}]))
    with pytest.raises(ArithmeticError):  # decimal.InvalidOperation
        to_csv(make_table(rows=[{**ROWS[0], "sales": "=1+1"}]))


# --- XLSX via openpyxl --------------------------------------------------------------------


def load(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data))


def test_xlsx_top_block_header_and_layout() -> None:
    wb = load(to_xlsx(make_table()))
    try:
        ws = wb.active
        assert ws.title == "All chatters"
        assert ws["A1"].value == "All chatters" and ws["A1"].font.b
        block = [(ws.cell(r, 1).value, ws.cell(r, 2).value) for r in range(2, HEADER_ROW - 1)]
        assert block == [*META, ("Currency", "USD")]
        assert ws["B4"].data_type == "s"  # a creator named like a formula stays text
        assert all(ws.cell(HEADER_ROW - 1, c).value is None for c in range(1, 4))
        header = [ws.cell(HEADER_ROW, i).value for i in range(1, len(COLUMNS) + 1)]
        assert header == XLSX_HEADER
        assert all(ws.cell(HEADER_ROW, i).font.b for i in range(1, len(COLUMNS) + 1))
        assert ws.freeze_panes == f"B{HEADER_ROW + 1}"  # below header, right of the names
        assert ws.auto_filter.ref == f"A{HEADER_ROW}:I{HEADER_ROW + len(ROWS)}"
        assert ws.column_dimensions["A"].width >= len(ROWS[1]["name"])
    finally:
        wb.close()


def test_xlsx_cells_are_typed() -> None:
    wb = load(to_xlsx(make_table()))
    try:
        ws = wb.active
        first, second, third = (
            {c.key: ws.cell(HEADER_ROW + n, i).value for i, c in enumerate(COLUMNS, start=1)}
            for n in (1, 2, 3)
        )
        fmt = {c.key: ws.cell(HEADER_ROW + 1, i).number_format for i, c in enumerate(COLUMNS, 1)}

        # Money: openpyxl reads numbers back as float/int; compare as exact decimals.
        assert [Decimal(str(r["sales"])) for r in (first, second, third)] == [
            Decimal("1234.50"),
            Decimal("-3.00"),
            Decimal("0.00"),
        ]
        assert fmt["sales"] == '#,##0.00 "USD"'
        # Durations: "[h]:mm:ss" cells come back as timedelta (not time), even past 24 h.
        assert isinstance(first["active"], dt.timedelta)
        assert first["active"].total_seconds() == 90000
        assert first["response"].total_seconds() == 37.5
        assert third["response"].total_seconds() == 0.1
        assert second["active"] == dt.timedelta(seconds=5400)
        assert fmt["active"] == "[h]:mm:ss"
        assert (first["rate"], fmt["rate"]) == (0.25, "0.0%")
        assert (first["ppv"], fmt["ppv"]) == (0.125, "0.00")
        assert (first["messages"], fmt["messages"]) == (1234567, "#,##0")
        assert isinstance(first["messages"], int)
        # Date cells read back as midnight datetimes: there is no date-only cell type.
        assert first["day"] == dt.datetime(2026, 11, 1)
        assert fmt["day"] == "yyyy-mm-dd"
        # Naive local wall-clock time, across the DST change, offset dropped not applied.
        assert [r["hour"] for r in (first, second, third)] == [
            dt.datetime(2026, 3, 29, 1, 0),
            dt.datetime(2026, 3, 29, 3, 0),
            dt.datetime(2026, 10, 25, 2, 0),
        ]
        assert fmt["hour"] == "yyyy-mm-dd hh:mm"
        # None is an empty cell.
        assert second["response"] is None and second["rate"] is None and third["name"] is None
        assert second["name"] == "Zoë Øster 山田"
    finally:
        wb.close()


def test_xlsx_formula_text_is_stored_as_a_string() -> None:
    data = to_xlsx(make_table())
    wb = load(data)
    try:
        cell = wb.active.cell(HEADER_ROW + 1, 1)
        assert cell.value == ROWS[0]["name"]
        assert cell.data_type == "s"
    finally:
        wb.close()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet  # no formula anywhere in the sheet


def test_xlsx_zero_decimal_currency() -> None:
    rows = [{**ROWS[0], "sales": "150000"}, {**ROWS[1], "sales": "-300"}]
    wb = load(to_xlsx(make_table(rows=rows, currency="JPY", exponent=0)))
    try:
        ws = wb.active
        cells = [ws.cell(HEADER_ROW + n, 2) for n in (1, 2)]
        assert [c.value for c in cells] == [150000, -300]
        assert {c.number_format for c in cells} == {'#,##0 "JPY"'}
        assert ws.cell(HEADER_ROW - 2, 2).value == "JPY"
    finally:
        wb.close()


def test_xlsx_with_zero_rows_has_the_header() -> None:
    wb = load(to_xlsx(make_table(rows=[])))
    try:
        ws = wb.active
        assert ws.max_row == HEADER_ROW
        assert ws.cell(HEADER_ROW, 2).value == "Total sales"
        assert ws.freeze_panes == f"B{HEADER_ROW + 1}"
    finally:
        wb.close()


def test_xlsx_sheet_title_is_sanitised() -> None:
    title = "Chatters [Nov] 2026/11: who? *all* \\ creators and more"
    wb = load(to_xlsx(make_table(title=title, columns=COLUMNS[1:])))
    try:
        ws = wb.active
        assert len(ws.title) <= 31
        assert not set(ws.title) & set("[]:*?/\\")
        assert ws.title.startswith("Chatters -Nov- 2026-11- who-")
        assert ws["A1"].value == title  # the full title is still shown
        assert ws.freeze_panes == f"A{HEADER_ROW + 1}"  # first column is not text
    finally:
        wb.close()


# --- XLSX via LibreOffice -----------------------------------------------------------------


def soffice() -> str:
    path = shutil.which("soffice")
    if path is None:
        message = (
            "LibreOffice is not installed: run scripts/setup-system.sh as root, or "
            "apt-get install --no-install-recommends libreoffice-calc-nogui"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def read_lo_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def test_libreoffice_reads_the_xlsx(tmp_path: Path) -> None:
    binary = soffice()
    (tmp_path / "usd.xlsx").write_bytes(to_xlsx(make_table()))
    jpy_rows = [{**ROWS[0], "sales": "150000"}, {**ROWS[1], "sales": "-300"}]
    (tmp_path / "jpy.xlsx").write_bytes(
        to_xlsx(make_table(rows=jpy_rows, currency="JPY", exponent=0))
    )
    # 44,34,76: comma, double quote, UTF-8; the 9th token saves cells as shown (formatted).
    target = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true"
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}  # fixed number separators
    subprocess.run(
        [
            binary,
            f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(tmp_path / "out"),
            str(tmp_path / "usd.xlsx"),
            str(tmp_path / "jpy.xlsx"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
        env=env,
    )
    usd = read_lo_csv(tmp_path / "out" / "usd.csv")
    assert usd[0][0] == "All chatters"
    assert usd[1][:2] == ["Range", "2026-11-01 to 2026-11-30"]
    assert usd[2][:2] == ["Time zone", "Europe/Paris"]
    assert usd[3][:2] == ["Creator", "=cmd|' /C calc'!A0"]  # shown as text, not evaluated
    assert usd[HEADER_ROW - 1] == XLSX_HEADER
    data = usd[HEADER_ROW:]
    assert data[0] == [
        ROWS[0]["name"],  # the literal text: a formula would show "x"
        "1,234.50 USD",
        "25:00:00",
        "0:00:38",  # 37.5 s rounded for display
        "25.0%",
        "0.13",
        "1,234,567",
        "2026-11-01",
        "2026-03-29 01:00",
    ]
    assert data[1][:4] == ["Zoë Øster 山田", "-3.00 USD", "1:30:00", ""]
    assert data[2][:3] == ["", "0.00 USD", "0:00:00"]
    jpy = read_lo_csv(tmp_path / "out" / "jpy.csv")
    assert [row[1] for row in jpy[HEADER_ROW:]] == ["150,000 JPY", "-300 JPY"]


# --- HTTP response ------------------------------------------------------------------------


@pytest.fixture
def request_context() -> Any:
    app = flask.Flask(__name__)
    with app.test_request_context():
        yield


@pytest.mark.usefixtures("request_context")
def test_export_response_csv() -> None:
    response = export_response(make_table(), "csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CSV_TYPE == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=chatters_2026-11-01_2026-11-30.csv"
    )
    assert read_csv(response.get_data())[0][0] == "Chatter"


@pytest.mark.usefixtures("request_context")
def test_export_response_xlsx() -> None:
    response = export_response(make_table(filename="ventes_créatrice"), "xlsx")
    assert response.headers["Content-Type"] == XLSX_TYPE
    assert XLSX_TYPE == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=ventes_creatrice.xlsx")
    assert "filename*=UTF-8''ventes_cr%C3%A9atrice.xlsx" in disposition
    wb = load(response.get_data())
    try:
        assert wb.active["A1"].value == "All chatters"
    finally:
        wb.close()


@pytest.mark.usefixtures("request_context")
def test_export_response_rejects_unknown_format() -> None:
    with pytest.raises(ApiError) as caught:
        export_response(make_table(), "pdf")
    assert (caught.value.status, caught.value.code) == (400, "bad_parameter")
    assert "pdf" in caught.value.message
