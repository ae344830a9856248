"""ChatterTrack agent: counts input (never which key), seals time slices, delivers them once."""

import sys

__version__ = "0.1.0"

# httpx's __init__ tries ``from ._main import main`` (its command line), which imports
# click, rich and pygments whenever they are installed (a developer's venv has them):
# 4.7 MB of the agent's memory for a command it never runs.  A None entry in sys.modules
# makes that import raise ImportError, which httpx already handles (it then defines a
# ``main`` that only explains how to install the command line).  setdefault: a process
# that imported httpx._main before us keeps it.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
