"""The command line of a data set package: ``python -m bench.stats_data --lane sqlite
--scale 0.01`` (or ``bench.conversations_data``) builds the caches and prints them."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any, Protocol

from bench.lanes import LANES


class EnsureDataset(Protocol):
    def __call__(self, lane: str, scale: float = 1.0, *, force: bool = False) -> str: ...


def main(
    argv: list[str] | None,
    *,
    prog: str,
    description: str | None,
    ensure_dataset: EnsureDataset,
    describe: Callable[[str, float], dict[str, Any]],
) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--lane", action="append", choices=LANES, help="repeatable; default: both")
    parser.add_argument("--scale", type=float, default=1.0, help="default 1.0 (the full size)")
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    for lane in args.lane or LANES:
        t0 = time.monotonic()
        ensure_dataset(lane, args.scale, force=args.force)
        seconds = round(time.monotonic() - t0, 1)
        print(
            json.dumps(
                {"lane": lane, "seconds_this_run": seconds, **describe(lane, args.scale)}, indent=2
            ),
            flush=True,
        )
    return 0
