"""The OS idle clock, one backend per OS behind one function.

It cross-checks the listeners: input the OS saw but pynput did not means the
listeners are blind (Wayland, missing permission), and is said so.
"""

from __future__ import annotations

import sys


def seconds_since_input() -> float | None:
    """Seconds since the last keyboard or mouse input, or None if the OS won't say."""
    if sys.platform.startswith("linux"):
        from agent.idle import linux

        return linux.seconds_since_input()
    if sys.platform == "win32":
        from agent.idle import windows

        return windows.seconds_since_input()
    if sys.platform == "darwin":
        from agent.idle import macos

        return macos.seconds_since_input()
    return None
