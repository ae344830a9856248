"""A page table's columns: titles from the export's columns, formats of the page.

The page and its export buttons share one vocabulary: a column is titled once, where
the report defines its export (``stats.present``, ``conversations.reports``).
"""

from __future__ import annotations

from collections.abc import Sequence

from collector.stats.tables import Column

# (field, title, format of the ``fmt`` filter)
PageColumn = tuple[str, str, str]


def page_columns(
    exported: Sequence[Column], formats: Sequence[tuple[str, str]]
) -> list[PageColumn]:
    """The columns named in ``formats``, in that order, with the export's titles."""
    titles = {column.key: column.title for column in exported}
    return [(key, titles[key], fmt) for key, fmt in formats]
