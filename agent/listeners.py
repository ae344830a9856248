"""Input listeners wired to the counter: one X RECORD thread on Linux (agent/xrecord.py),
pynput's keyboard and mouse listeners on macOS and Windows.

Each callback ignores its arguments (the key, the button, the position):
it only tells the counter that input happened.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from agent.counting import InputCounter

START_TIMEOUT = 10.0


class InputUnavailable(RuntimeError):
    """Input cannot be observed in this session; the reason is for people."""


def check_session() -> None:
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        if os.environ.get("WAYLAND_DISPLAY"):
            raise InputUnavailable(
                "Wayland session without XWayland: input cannot be counted "
                "(log in to an X11 session or enable XWayland)"
            )
        raise InputUnavailable("no graphical session (DISPLAY is not set): input cannot be counted")


class Listeners:
    def __init__(self, counter: InputCounter) -> None:
        check_session()
        self._threads: list[Any]
        if sys.platform.startswith("linux"):
            from agent.xrecord import XRecordListener

            self._threads = [XRecordListener(counter)]
            return
        from pynput import keyboard, mouse

        def on_press(_key: Any) -> None:
            counter.key()

        def on_click(_x: int, _y: int, _button: Any, pressed: bool) -> None:
            if pressed:
                counter.mouse()

        def on_scroll(_x: int, _y: int, _dx: int, _dy: int) -> None:
            counter.mouse()

        def on_move(_x: int, _y: int) -> None:
            counter.move()

        self._threads = [
            keyboard.Listener(on_press=on_press),
            mouse.Listener(on_click=on_click, on_scroll=on_scroll, on_move=on_move),
        ]

    def start(self) -> None:
        for listener in self._threads:
            listener.start()
        for listener in self._threads:
            _wait_ready(listener)
        trusted = getattr(self._threads[0], "IS_TRUSTED", True)
        if sys.platform == "darwin" and not trusted:
            self.stop()
            raise InputUnavailable(
                "macOS has not allowed this program to monitor input: grant it in System "
                "Settings > Privacy & Security > Input Monitoring and Accessibility"
            )

    def threads(self) -> list[Any]:
        return list(self._threads)

    def alive(self) -> bool:
        return all(listener.is_alive() for listener in self._threads)

    def stop(self) -> None:
        for listener in self._threads:
            listener.stop()


def _wait_ready(listener: Any, timeout: float = START_TIMEOUT) -> None:
    """pynput's wait() blocks forever when its thread dies while connecting (X reset)."""
    deadline = time.monotonic() + timeout
    while not getattr(listener, "_ready", True):
        if not listener.is_alive():
            raise InputUnavailable("the input listener stopped while starting (display lost?)")
        if time.monotonic() > deadline:
            raise InputUnavailable(f"the input listener did not start within {timeout:.0f} s")
        time.sleep(0.02)
