"""Input counters fed by the listener callbacks: counts and times only, never which key."""

from __future__ import annotations

import threading
from collections.abc import Callable

from shared.protocol import BURST_GAP_MS

# A moving mouse reports up to hundreds of events a second; counting at most
# ten keeps a mouse storm (or a jiggler) cheap and from dominating the count.
MOVE_INTERVAL = 0.1


class InputCounter:
    """Per-second key and mouse counts, drained by the agent once a second.

    The callbacks run on the listener threads and only bump integers under a
    lock: nothing about the key or button itself is looked at or kept.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._by_second: dict[int, list[int]] = {}
        self._last_move = 0.0
        self.last_input = 0.0
        # Bursts (shared.protocol.Heartbeat.bursts): the open burst's start in ms and
        # whether it had a key press; bursts started or keyed since the last drain.
        self._burst_start = -1
        self._burst_keyed = False
        self._bursts: dict[int, bool] = {}

    def _bump(self, slot: int) -> None:
        now = self._clock()
        with self._lock:
            counts = self._by_second.get(int(now))
            if counts is None:
                counts = self._by_second[int(now)] = [0, 0]
            counts[slot] += 1
            if (now - self.last_input) * 1000 >= BURST_GAP_MS or self._burst_start < 0:
                self._burst_start, self._burst_keyed = int(now * 1000), False
            self._burst_keyed = self._burst_keyed or slot == 0
            self._bursts[self._burst_start] = self._burst_keyed
            self.last_input = now

    def key(self) -> None:
        self._bump(0)

    def mouse(self) -> None:
        self._bump(1)

    def move(self) -> None:
        now = self._clock()
        if now - self._last_move >= MOVE_INTERVAL:
            self._last_move = now
            self._bump(1)

    def drain(self) -> dict[int, tuple[int, int]]:
        """{second: (keys, mouse events)} since the last drain."""
        with self._lock:
            taken, self._by_second = self._by_second, {}
        return {second: (c[0], c[1]) for second, c in taken.items()}

    def drain_bursts(self) -> list[tuple[int, bool]]:
        """(start in ms, had a key press so far) of bursts started or keyed since the last
        drain; the open burst may come again, keyed, later."""
        with self._lock:
            taken, self._bursts = self._bursts, {}
        return sorted(taken.items())
