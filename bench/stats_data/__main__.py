"""The command line: ``python -m bench.stats_data --lane sqlite --scale 0.01``."""

from __future__ import annotations

import sys
from typing import Any

from bench import stats_data
from bench.datasets import cli
from bench.stats_data.cache import describe, ensure_dataset, sample_queries


def _described(lane: str, scale: float) -> dict[str, Any]:
    return describe(lane, scale) | {"sample_queries": sample_queries(lane, scale)}


if __name__ == "__main__":
    sys.exit(
        cli.main(
            None,
            prog="python -m bench.stats_data",
            description=stats_data.__doc__,
            ensure_dataset=ensure_dataset,
            describe=_described,
        )
    )
