"""The command line: ``python -m bench.conversations_data --lane sqlite --scale 0.01``."""

from __future__ import annotations

import sys

from bench import conversations_data
from bench.conversations_data.cache import describe, ensure_dataset
from bench.datasets import cli

if __name__ == "__main__":
    sys.exit(
        cli.main(
            None,
            prog="python -m bench.conversations_data",
            description=conversations_data.__doc__,
            ensure_dataset=ensure_dataset,
            describe=describe,
        )
    )
