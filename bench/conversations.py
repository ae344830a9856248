"""Conversation analytics on the generated 90-day shop: each view's server time.

The issue's benchmark: on a shop with 1 million requests and 5 million widget events over
90 days (bench/conversations_data/, generated once per lane and cached), on SQLite and
PostgreSQL, the summary and the agent leaderboard must answer in 200 ms or less (p95),
trends by day and NPS in 150 ms or less.  Server time is measured in-process (the Flask
app, no network), previous period included, one warm-up call first.  Run::

    .venv/bin/python -m bench.conversations [--lane sqlite|postgresql] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.conversations_data import FIRST_DAY, LAST_DAY, MANAGER_TOKEN, TZ_NAME
from bench.conversations_data.cache import describe, ensure_dataset
from bench.lanes import LANES
from bench.timing import PartLane, Timing, timed
from collector import create_app
from collector.http.database import db

REPEATS = 15
# The summary's and leaderboard's target (bench/main.py reports it as the part's target).
TARGET_MS = 200.0
# Each view's p95 target (issue 17); trends is measured by day.
TARGETS_MS = {"summary": TARGET_MS, "agents": TARGET_MS, "trends": 150.0, "nps": 150.0}
# The views measured over the 30-day and UTC ranges too.
ALL_RANGES = ("summary", "agents")


def target_ms(timing: Timing) -> float | None:
    """The view's target, or None for a timing measured for information."""
    return TARGETS_MS.get(timing.name.split(" ")[0])


def targeted(timing: Timing) -> bool:
    return target_ms(timing) is not None


def passed(timing: Timing) -> bool:
    target = target_ms(timing)
    return target is None or timing.meets(target)


def _timing_dict(timing: Timing) -> dict[str, Any]:
    return {
        "name": timing.name,
        "median_ms": round(timing.median, 1),
        "p95_ms": round(timing.p95, 1),
        "targeted": targeted(timing),
        "target_ms": target_ms(timing),
        "passed": passed(timing) if targeted(timing) else None,
        "samples": len(timing.samples_ms),
    }


@dataclass
class LaneResult(PartLane):
    timings: list[Timing] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | {
            "events": self.dataset.get("events"),
            "timings": [_timing_dict(t) for t in self.timings],
        }


def missed(results: Sequence[LaneResult]) -> bool:
    """Whether a targeted view's p95 is over the target."""
    return any(not passed(t) for r in results for t in r.timings)


def measure(url: str, repeats: int = REPEATS) -> list[Timing]:
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {MANAGER_TOKEN}"}
    ranges = {
        "90 days": {"start": str(FIRST_DAY), "end": str(LAST_DAY), "tz": TZ_NAME},
        "30 days": {
            "start": str(LAST_DAY - dt.timedelta(days=29)),
            "end": str(LAST_DAY),
            "tz": TZ_NAME,
        },
        "90 days UTC": {"start": str(FIRST_DAY), "end": str(LAST_DAY), "tz": "UTC"},
    }
    views = [("summary", ""), ("agents", "/agents"), ("trends", "/trends"), ("nps", "/nps")]
    timings = []
    for label, params in ranges.items():
        for name, path in views:
            if label != "90 days" and name not in ALL_RANGES:
                continue

            def call(path: str = path, params: dict[str, str] = params) -> None:
                reply = client.get(
                    "/api/v1/stats/conversations" + path, query_string=params, headers=headers
                )
                assert reply.status_code == 200, reply.get_data(as_text=True)[:300]

            timings.append(Timing(f"{name} ({label})", timed(call, repeats)))
    with app.app_context():
        db.engine.dispose()
    return timings


def report(results: Sequence[LaneResult]) -> str:
    shown = ", ".join(f"{name} {ms:.0f} ms" for name, ms in TARGETS_MS.items())
    lines = [f"Conversation analytics, p95 targets: {shown}"]
    for result in results:
        if result.status != "ran":
            lines.append(f"[{result.lane}] {result.status}: {result.reason}")
            continue
        lines.append(
            f"[{result.lane}] scale {result.scale}: {result.dataset.get('events', 0):,} events"
        )
        for t in result.timings:
            verdict = ("PASS" if passed(t) else "FAIL") if targeted(t) else "info"
            lines.append(
                f"  {t.name:<28} median {t.median:8.1f} ms  p95 {t.p95:8.1f} ms  {verdict}"
            )
    return "\n".join(lines)


def run(lanes: Sequence[str], scale: float, repeats: int = REPEATS) -> list[LaneResult]:
    results = []
    for lane in lanes:
        url = ensure_dataset(lane, scale)
        result = LaneResult(lane, scale, timings=measure(url, repeats))
        result.dataset = describe(lane, scale)["marker"] or {}
        results.append(result)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lane", choices=LANES, action="append")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--prepare-only", action="store_true", help="build the cache and stop")
    args = parser.parse_args(argv)
    lanes = args.lane or list(LANES)
    if args.prepare_only:
        for lane in lanes:
            ensure_dataset(lane, args.scale)
        return 0
    results = run(lanes, args.scale, args.repeats)
    print(report(results))
    return 1 if missed(results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
