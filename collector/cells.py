"""Text cells of the files people open in a spreadsheet app (CSV exports, token lists).

A spreadsheet app runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(tab and carriage return too, per OWASP's CSV injection advice), so a name or label
someone typed, such as ``=cmd|' /C calc'!A0``, could run on the reader's computer.  Every
text cell we write goes through ``defuse``: such a cell gets a leading apostrophe, which
the apps show as text.

A label someone typed is also refused when it holds a character that acts instead of
showing (``hidden_control``): a terminal runs escape sequences (ESC and the other C0
and C1 controls: colours, a moved cursor, a changed title, text hidden), and Unicode's
text direction controls reorder what is shown around them, so a label, or the command
beside it, reads other than it is.
"""

from __future__ import annotations

import unicodedata

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Unicode's explicit text direction controls: embeddings and overrides (U+202A..U+202E),
# isolates (U+2066..U+2069), the left-to-right, right-to-left and Arabic letter marks.
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
# Layout a cell may hold and a reader turns into spaces (a cell wrapped in a spreadsheet).
_LAYOUT = frozenset("\t\n\r")


def defuse(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def hidden_control(text: str) -> str | None:
    """The first control character in ``text`` as words ("ESC (U+001B)", "RIGHT-TO-LEFT
    OVERRIDE (U+202E)"); None when there is none.  Tab and line breaks are layout."""
    for char in text:
        if char in BIDI_CONTROLS or (unicodedata.category(char) == "Cc" and char not in _LAYOUT):
            code = f"U+{ord(char):04X}"
            name = "ESC" if char == "\x1b" else unicodedata.name(char, "")
            return f"{name} ({code})" if name else code
    return None
