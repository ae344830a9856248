"""A report's exportable table: titled columns of a kind, the rows, and the title block.

``collector.http.exports`` writes one as CSV or Excel; the kind says how a cell is written
(money exact, durations as times, ratios as percentages).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["text", "integer", "money", "duration", "ratio", "number", "date", "datetime"]


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: Kind


@dataclass(frozen=True)
class Table:
    title: str
    columns: Sequence[Column]
    rows: Sequence[Mapping[str, Any]]
    meta: Sequence[tuple[str, str]]
    currency: str
    exponent: int
    filename: str
    # False for tables without money (attendance): the Excel title block then names no
    # currency.
    money: bool = True
