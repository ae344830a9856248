"""The command line: ``python -m bench.stats_data --lane sqlite --scale 0.01``."""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench import stats_data
from bench.stats_data.cache import describe, ensure_dataset, sample_queries
from bench.stats_data.parameters import LANES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.stats_data", description=stats_data.__doc__
    )
    parser.add_argument("--lane", action="append", choices=LANES, help="repeatable; default: both")
    parser.add_argument("--scale", type=float, default=1.0, help="default 1.0 (~10M events)")
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    for lane in args.lane or LANES:
        t0 = time.monotonic()
        url = ensure_dataset(lane, args.scale, force=args.force)
        info = describe(lane, args.scale)
        marker = info["marker"] or {}
        print(
            json.dumps(
                {
                    "lane": lane,
                    "url": url,
                    "seconds_this_run": round(time.monotonic() - t0, 1),
                    "size_mib": round(info["size_bytes"] / 2**20, 1),
                    "built": {k: marker.get(k) for k in ("built_at", "seconds", "rollups_rebuilt")},
                    "summary": marker.get("summary"),
                    "sample_queries": sample_queries(url),
                },
                indent=2,
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
