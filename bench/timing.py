"""Timing, for every part: repeated wall times of a call, their median and p95, percentiles.

The in-process parts (stats views, dashboard pages, conversation analytics, page load)
time a call a few times after one warm-up and report the median and p95 of the samples;
the load clients of the collector part report nearest-rank percentiles of thousands of
latencies.  Both kinds of lane result of the in-process parts share ``PartLane``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar


@dataclass
class Timing:
    """The wall times of one repeated call, in milliseconds."""

    name: str
    samples_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        # The sample at index round(0.95 (n - 1)): the 14th of 15.  Every published result
        # was computed this way; nearest rank (percentile below) would report the 15th.
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    def meets(self, target_ms: float) -> bool:
        return self.p95 <= target_ms

    def verdict(self, target_ms: float) -> str:
        return ("meets" if self.meets(target_ms) else "misses") + " target"


def timed(call: Callable[[], Any], repeats: int) -> list[float]:
    """One warm-up call, then ``repeats`` timed calls: their wall times in ms."""
    call()  # warm caches the way a dashboard's second view finds them
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted values; 0.0 when empty."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), -(-len(sorted_values) * q // 100)))
    return sorted_values[int(rank) - 1]


@dataclass
class PartLane:
    """One lane's results of an in-process part; a lane that did not run says why."""

    lane: str
    scale: float
    status: str = "ran"  # ran | not run | failed
    reason: str = ""
    dataset: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lane": self.lane,
            "scale": self.scale,
            "status": self.status,
            "reason": self.reason,
        }


Lane = TypeVar("Lane", bound=PartLane)


def lane_lines(lanes: Sequence[Lane], rows: Callable[[Lane], list[str]]) -> list[str]:
    """A table's body: each lane's ``rows`` (or why it did not run), then the data sets used."""
    lines = []
    for lane in lanes:
        if lane.status != "ran":
            lines.append(f"{lane.lane:<11} ({lane.status}: {lane.reason})")
        else:
            lines += rows(lane)
    lines += [f"data set {lane.lane}: {lane.dataset}" for lane in lanes if lane.dataset]
    return lines
