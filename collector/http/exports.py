"""Statistics tables as downloadable CSV (for machines) and Excel (for people) files.

The reports build a ``collector.stats.tables.Table``; ``report_response`` sends a
report as JSON, or its table in the asked format.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from collector.cells import defuse
from collector.errors import ApiError
from collector.http.jsonio import json_response
from collector.stats.tables import Column, Kind, Table

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_NUMBER_FORMATS: dict[str, str] = {
    "integer": "#,##0",
    "duration": "[h]:mm:ss",
    "ratio": "0.0%",
    "number": "0.00",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}
_WIDTHS: dict[str, int] = {"duration": 10, "date": 11, "datetime": 17, "money": 14}
# Every duration and rate column says in its header how its numbers are written, which
# differs by file: CSV has plain numbers (seconds; a fraction, 0.25 for 25 %), Excel typed
# cells shown as times and percentages.  The reports title a column once, without a
# unit: the pages show the same columns formatted for people ("3 h 05 min", "25.0 %").
_CSV_UNITS: dict[str, str] = {"duration": "seconds", "ratio": "1 = 100%"}
_XLSX_UNITS: dict[str, str] = {"duration": "h:mm:ss", "ratio": "%"}
_BOLD = Font(bold=True)


def _number(value: Any) -> int | float:
    # bool is an int subclass but never a statistic; a str here would dodge the injection guard.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return value


def _money(value: Any) -> Decimal:
    # str() first: a stray float becomes its shortest repr, not its binary expansion.
    return Decimal(str(value))


def _header(column: Column, units: dict[str, str]) -> str:
    """A column's title in a file, with the unit its cells are written in."""
    unit = units.get(column.kind)
    return f"{column.title} ({unit})" if unit else column.title


def _csv_value(kind: Kind, value: Any) -> str:
    if value is None:
        return ""
    if kind == "text":
        return defuse(str(value))
    if kind == "money":
        # Re-parsing proves it is a number; "f" keeps the given digits ("1234.50", "-3.00").
        return format(_money(value), "f")
    if kind == "date":
        return dt.date.fromisoformat(value).isoformat()
    if kind == "datetime":
        return dt.datetime.fromisoformat(value).isoformat()
    return str(_number(value))


def to_csv(table: Table) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)  # RFC 4180: CRLF line ends, minimal quoting
    writer.writerow([defuse(_header(column, _CSV_UNITS)) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_value(c.kind, row.get(c.key)) for c in table.columns])
    # BOM: without it Excel reads the file in the local ANSI code page and mangles accented
    # names; csv readers opened with encoding="utf-8-sig" (and pandas) drop it transparently.
    return out.getvalue().encode("utf-8-sig")


def _xlsx_value(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind == "text":
        return ILLEGAL_CHARACTERS_RE.sub("", str(value))  # openpyxl refuses control chars
    if kind == "money":
        return _money(value)
    if kind == "duration":
        return dt.timedelta(seconds=_number(value))
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "datetime":
        # Keep the wall-clock time the API gave (already local); Excel cells have no zone.
        return dt.datetime.fromisoformat(value).replace(tzinfo=None)
    return _number(value)


def _sheet_name(title: str) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "-", ILLEGAL_CHARACTERS_RE.sub("", title))
    name = name[:31].strip().strip("'")  # Excel rejects a leading or trailing apostrophe
    # "History" is reserved by Excel for change tracking.
    return "Sheet1" if not name or name.lower() == "history" else name


def _money_format(currency: str, exponent: int) -> str:
    code = re.sub(r"[^A-Za-z]", "", currency)  # a quote would break the format string
    decimals = "." + "0" * exponent if exponent > 0 else ""
    # One section only: Excel then prefixes negatives with "-" itself.
    return f'#,##0{decimals} "{code}"'


def _put_text(ws: Any, row: int, column: int, text: str, *, bold: bool = False) -> None:
    cell = ws.cell(row=row, column=column, value=ILLEGAL_CHARACTERS_RE.sub("", text))
    cell.data_type = "s"  # openpyxl would store "=..." as a formula
    if bold:
        cell.font = _BOLD


def to_xlsx(table: Table) -> bytes:
    # A normal Workbook holds every cell: 20k rows x 12 columns peaked at ~100 MB and ~5 s
    # (mostly XML serialisation, pure Python without lxml). Acceptable for a download.
    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_name(table.title)
    _put_text(ws, 1, 1, table.title, bold=True)
    meta = [*table.meta, *([("Currency", table.currency)] if table.money else [])]
    for offset, (label, value) in enumerate(meta, start=2):
        _put_text(ws, offset, 1, label)
        _put_text(ws, offset, 2, value)
    header = len(meta) + 3  # title, meta rows, one empty row
    formats = {**_NUMBER_FORMATS, "money": _money_format(table.currency, table.exponent)}

    titles = [_header(c, _XLSX_UNITS) for c in table.columns]
    widths = [len(title) for title in titles]
    for index, column in enumerate(table.columns, start=1):
        _put_text(ws, header, index, titles[index - 1], bold=True)
        widths[index - 1] = max(widths[index - 1], _WIDTHS.get(column.kind, 10))
    for number, row in enumerate(table.rows, start=header + 1):
        for index, column in enumerate(table.columns, start=1):
            value = _xlsx_value(column.kind, row.get(column.key))
            if value is None:
                continue  # no cell at all: Excel shows it empty and COUNT() skips it
            cell = ws.cell(row=number, column=index, value=value)
            if column.kind == "text":
                cell.data_type = "s"
                widths[index - 1] = max(widths[index - 1], min(len(value), 50))
            else:
                cell.number_format = formats[column.kind]

    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width + 2
    if table.columns:
        last = get_column_letter(len(table.columns))
        ws.auto_filter.ref = f"A{header}:{last}{header + len(table.rows)}"
        # Keep the header, and the name column when there is one, visible while scrolling.
        first = "B" if table.columns[0].kind == "text" else "A"
        ws.freeze_panes = f"{first}{header + 1}"

    out = io.BytesIO()
    wb.save(out)
    wb.close()
    return out.getvalue()


def export_response(table: Table, fmt: str) -> Response:
    if fmt == "csv":
        body, mimetype = to_csv(table), CSV_TYPE
    elif fmt == "xlsx":
        body, mimetype = to_xlsx(table), XLSX_TYPE
    else:
        raise ApiError(400, "bad_parameter", f"format={fmt!r} is not supported (csv or xlsx)")
    response = Response(body, content_type=mimetype)
    name = f"{table.filename}.{fmt}"
    # Same scheme as werkzeug's send_file: an ASCII fallback plus RFC 5987 filename*.
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    names = {"filename": ascii_name}
    if ascii_name != name:
        names["filename*"] = "UTF-8''" + quote(name, safe="!#$&+-.^_`|~")
    response.headers.set("Content-Disposition", "attachment", **names)
    return response


def report_response(report: dict[str, Any] | Table, fmt: str) -> Response:
    """A report as the API sends it: its body as JSON, or its table as a file."""
    if isinstance(report, Table):
        return export_response(report, fmt)
    return json_response(report)
