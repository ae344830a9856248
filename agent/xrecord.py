"""X11: one RECORD context on one thread counts key presses, button presses and motion.

What pynput's keyboard and mouse listeners do on X11, for less: they open two X
connections each, load every keysym table and turn each key press into a key object that
the agent then ignores; this reads only each event's type byte (never the key's code) from
one context on two connections.  Measured ~2.3 MB less resident memory (issue 17,
bench/agent_footprint.py).  macOS and Windows keep pynput (agent/listeners.py).
"""

from __future__ import annotations

import threading
from typing import Any

from agent.counting import InputCounter

# Core X event types (X.h); RECORD delivers device events as 32-byte core events.
KEY_PRESS, BUTTON_PRESS, MOTION_NOTIFY = 2, 4, 6
EVENT_SIZE = 32
SENT_FLAG = 0x80  # set on synthetic events; they are counted as pynput counted them


class XRecordListener(threading.Thread):
    """A listener thread with pynput's surface that the agent uses: ``_ready`` once
    recording, ``stop()``, and ``join()`` re-raising the error that ended it."""

    def __init__(self, counter: InputCounter) -> None:
        super().__init__(name="input", daemon=True)
        self._counter = counter
        self._ready = False
        self._stopping = threading.Event()
        self._guard = threading.Lock()
        self._control: Any = None
        self._context: Any = None
        self._error: Exception | None = None

    def run(self) -> None:
        try:
            self._record()
        except Exception as exc:  # a lost display: kept for join(), the runner restarts us
            self._error = exc

    def _record(self) -> None:
        import Xlib.threaded  # noqa: F401  (real locks: stop() writes from another thread)
        from Xlib import display
        from Xlib.ext import record

        control, data = display.Display(), display.Display()
        try:
            if not control.has_extension("RECORD"):
                raise RuntimeError("the X server has no RECORD extension")
            spec = {
                "core_requests": (0, 0),
                "core_replies": (0, 0),
                "ext_requests": (0, 0, 0, 0),
                "ext_replies": (0, 0, 0, 0),
                "delivered_events": (0, 0),
                "device_events": (KEY_PRESS, MOTION_NOTIFY),  # a range of event types
                "errors": (0, 0),
                "client_started": False,
                "client_died": False,
            }
            with self._guard:
                self._control = control
                self._context = control.record_create_context(0, [record.AllClients], [spec])
                control.sync()
            self._ready = True
            if not self._stopping.is_set():
                # Blocks, calling back per batch, until stop() disables the context.
                data.record_enable_context(self._context, self._on_events)
        finally:
            with self._guard:
                try:
                    if self._context is not None:
                        control.record_free_context(self._context)
                        control.sync()
                finally:
                    self._control = None
                    control.close()
                    data.close()

    def _on_events(self, reply: Any) -> None:
        from Xlib.ext import record

        if reply.category != record.FromServer:
            return
        events = reply.data
        for at in range(0, len(events) - EVENT_SIZE + 1, EVENT_SIZE):
            kind = events[at] & ~SENT_FLAG
            if kind == KEY_PRESS:
                self._counter.key()
            elif kind == BUTTON_PRESS:  # clicks and wheel steps alike, as pynput's
                self._counter.mouse()
            elif kind == MOTION_NOTIFY:
                self._counter.move()

    def stop(self) -> None:
        self._stopping.set()
        with self._guard:
            if self._control is not None and self._context is not None:
                try:
                    self._control.record_disable_context(self._context)
                    self._control.flush()
                except Exception:  # the display is gone: the thread is ending anyway
                    pass

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self._error is not None and not self.is_alive():
            raise self._error
