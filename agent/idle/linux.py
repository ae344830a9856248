"""X11: the MIT-SCREEN-SAVER extension's idle counter (python-xlib, a pynput dependency)."""

from __future__ import annotations

import os
import threading
from typing import Any

_lock = threading.Lock()
_display: Any = None
_unavailable = False


def seconds_since_input() -> float | None:
    global _display, _unavailable
    if _unavailable or not os.environ.get("DISPLAY"):
        return None
    with _lock:
        try:
            if _display is None:
                from Xlib import display

                _display = display.Display()
                if not _display.has_extension("MIT-SCREEN-SAVER"):
                    _unavailable = True
                    return None
            info = _display.screen().root.screensaver_query_info()
            return float(info.idle) / 1000.0
        except Exception:  # a lost X connection: try once more next time
            _display = None
            return None
