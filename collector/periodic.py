"""A round of work every ``interval`` seconds on a daemon thread: the retention purge's and
the alerts' schedules (collector/retention/schedule.py, collector/alerts/schedule.py).

The first round comes ``first_round`` seconds after the start (or one interval, if
shorter), so start-up is not slowed by it.  A failed round is logged and the next one
comes at the next interval: a database outage must not end the schedule.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    def __init__(
        self, name: str, interval: float, first_round: float, work: Callable[[], bool]
    ) -> None:
        """``work`` returns False when it found another process doing it (a skip)."""
        self.interval = interval
        self.first_round = first_round
        self.work = work
        self.rounds = 0  # rounds that did the work (or found nothing to do)
        self.skipped = 0  # rounds that found another process at it
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"chattertrack-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def run_once(self) -> None:
        if self.work():
            self.rounds += 1
        else:
            self.skipped += 1

    def _loop(self) -> None:
        wait = min(self.first_round, self.interval)
        while not self._stop.wait(wait):
            wait = self.interval
            try:
                self.run_once()
            except Exception:
                log.exception("%s round failed; retrying in %s s", self._thread.name, self.interval)
