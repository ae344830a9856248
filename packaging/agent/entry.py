"""What the bundle's executables run: ``chatter-agent`` without a Python installation.

The Windows background executable has no console, so Python starts it with no standard
streams (``sys.stdout`` and ``sys.stderr`` are None); the agent writes to them (its
messages, logging's stream check), so they go to the null device there instead.
"""

from __future__ import annotations

import os
import sys

for _name in ("stdout", "stderr"):
    if getattr(sys, _name) is None:
        setattr(sys, _name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115

from agent.cli import main  # noqa: E402  (after the streams exist)

main()
