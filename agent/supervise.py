"""Supervision: an unexpected exception in one of the agent's loops is logged, shown in
``status``, and the loop started again after a growing pause, instead of silently ending
a thread while the rest of the agent carries on (counting but never sending)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# A loop that has run this long since its last failure starts again from the first pause.
HEALTHY_AFTER = 120.0


@dataclass
class Fault:
    """The failures of one loop, as ``status`` shows them."""

    count: int = 0
    last_error: str = ""
    at: float = 0.0
    restart_at: float | None = None  # None: running again

    def as_dict(self) -> dict[str, object]:
        return {
            "failures": self.count,
            "last_error": self.last_error,
            "at": self.at,
            "restart_at": self.restart_at,
        }


@dataclass
class Faults:
    """Every supervised loop's failures, shared between threads."""

    base: float = 1.0
    cap: float = 60.0
    _by_name: dict[str, Fault] = field(default_factory=dict)
    _streak: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def failed(self, name: str, exc: BaseException, now: float | None = None) -> float:
        """Note a failure of loop ``name``; the pause before it starts again."""
        now = time.time() if now is None else now
        with self._lock:
            fault = self._by_name.setdefault(name, Fault())
            if fault.restart_at is None and fault.at and now - fault.at > HEALTHY_AFTER:
                self._streak[name] = 0
            streak = self._streak.get(name, 0)
            self._streak[name] = streak + 1
            wait = min(self.cap, self.base * float(2 ** min(streak, 20)))
            fault.count += 1
            fault.last_error = f"{exc.__class__.__name__}: {exc}"[:500]
            fault.at = now
            fault.restart_at = now + wait
        log.error(
            "%s failed (%s); starting it again in %.1f s",
            name,
            fault.last_error,
            wait,
            exc_info=exc,
        )
        return wait

    def restarted(self, name: str) -> None:
        with self._lock:
            fault = self._by_name.get(name)
            if fault is not None and fault.restart_at is not None:
                fault.restart_at = None
                log.info("%s running again", name)

    def snapshot(self) -> dict[str, dict[str, object]]:
        with self._lock:
            return {name: fault.as_dict() for name, fault in self._by_name.items()}


class Supervised(threading.Thread):
    """Runs ``body`` until ``stop`` is set; when it raises, runs it again after a pause."""

    def __init__(
        self, name: str, body: Callable[[], None], stop: threading.Event, faults: Faults
    ) -> None:
        super().__init__(name=f"chatter-{name}", daemon=True)
        self._label = name
        self._body = body
        self._halt = stop
        self._faults = faults

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self._body()
            except Exception as exc:  # the point: nothing may end this thread
                self._halt.wait(self._faults.failed(self._label, exc))
                if not self._halt.is_set():
                    self._faults.restarted(self._label)
            else:
                return
