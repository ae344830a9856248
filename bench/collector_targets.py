"""The collector part's targets (issue 17), per lane, and whether a scenario met its own.

SQLite: signed 1-slice heartbeats >= 1,000 req/s with 1 client and >= 1,500 with 4, p99
<= 20 ms; backlog >= 100,000 slices/s in 1,000-slice batches; events >= 20,000/s.
PostgreSQL: the heartbeats within 20 % of SQLite's (>= 80 % of the rate, p99 <= 24 ms),
backlog >= 50,000 slices/s, events as on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.scenarios import ScenarioResult, heartbeat_name

PG_MARGIN = 0.2  # "PostgreSQL within 20 % of the SQLite targets"


@dataclass(frozen=True)
class Target:
    min_throughput: float
    unit: str
    max_p99_ms: float | None = None

    def met(self, s: ScenarioResult) -> bool:
        fast = s.throughput >= self.min_throughput
        return fast and (self.max_p99_ms is None or s.p99_ms <= self.max_p99_ms)

    def text(self) -> str:
        p99 = f", p99 <= {self.max_p99_ms:.0f} ms" if self.max_p99_ms is not None else ""
        return f">= {self.min_throughput:,.0f} {self.unit}{p99}"


def _sqlite() -> dict[str, Target]:
    return {
        heartbeat_name(1): Target(1000, "req/s", 20),
        heartbeat_name(4): Target(1500, "req/s", 20),
        "backlog flush x1": Target(100_000, "slices/s"),
        "backlog flush x2": Target(100_000, "slices/s"),
        "events": Target(20_000, "events/s"),
    }


def _postgresql() -> dict[str, Target]:
    targets = _sqlite()
    for clients in (1, 4):
        sqlite = targets[heartbeat_name(clients)]
        assert sqlite.max_p99_ms is not None
        rate = sqlite.min_throughput * (1 - PG_MARGIN)
        p99 = sqlite.max_p99_ms * (1 + PG_MARGIN)
        targets[heartbeat_name(clients)] = Target(rate, "req/s", p99)
    for name in ("backlog flush x1", "backlog flush x2"):
        targets[name] = Target(50_000, "slices/s")
    return targets


def for_lane(lane: str) -> dict[str, Target]:
    return _postgresql() if lane == "postgresql" else _sqlite()


def verdict(lane: str, s: ScenarioResult) -> str:
    """ "met" or "missed" against the scenario's target on ``lane``; "" when it has none."""
    target = for_lane(lane).get(s.name)
    if target is None:
        return ""
    return "met" if target.met(s) else "missed"
