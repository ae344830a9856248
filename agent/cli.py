"""``chatter-agent``: placeholder until the agent lands (issue 3)."""

from __future__ import annotations

import sys


def main() -> None:
    print(
        "chatter-agent: the tracking agent is not built yet; this release ships the collector "
        "and the wire protocol only.",
        file=sys.stderr,
    )
    sys.exit(2)
