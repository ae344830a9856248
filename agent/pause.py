"""Pausing: a small file the CLI writes and the running agent reads each second."""

from __future__ import annotations

import os
import time

from agent import paths

INDEFINITE = "indefinite"


def pause(minutes: float | None) -> float | None:
    """Pause tracking for ``minutes`` (None: until resumed); returns the end time."""
    until = None if minutes is None else time.time() + minutes * 60
    path = paths.pause_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(INDEFINITE if until is None else f"{until:.0f}")
    os.replace(tmp, path)
    return until


def resume() -> bool:
    try:
        paths.pause_file().unlink()
    except FileNotFoundError:
        return False
    return True


def paused_until() -> float | None | bool:
    """False when not paused, None when paused until resumed, else the end time."""
    try:
        text = paths.pause_file().read_text().strip()
    except (FileNotFoundError, OSError):
        return False
    if text == INDEFINITE:
        return None
    try:
        until = float(text)
    except ValueError:
        return None
    return until if until > time.time() else False


class PauseWatcher:
    """Re-reads the pause file only when it changes, so a tick costs one stat()."""

    def __init__(self) -> None:
        self._stamp: tuple[float, int] | None = None
        self._until: float | None | bool = False

    def paused(self, now: float) -> bool:
        try:
            stat = paths.pause_file().stat()
            stamp: tuple[float, int] | None = (stat.st_mtime, stat.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            self._until = paused_until() if stamp is not None else False
        if self._until is False:
            return False
        return self._until is None or float(self._until) > now
