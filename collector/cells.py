"""Text cells of the files people open in a spreadsheet app (CSV exports, token lists).

A spreadsheet app runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(tab and carriage return too, per OWASP's CSV injection advice), so a name or label
someone typed, such as ``=cmd|' /C calc'!A0``, could run on the reader's computer.  Every
text cell we write goes through ``defuse``: such a cell gets a leading apostrophe, which
the apps show as text.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defuse(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text
