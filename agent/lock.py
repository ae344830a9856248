"""One running agent per user: an exclusive lock on a file in the data directory.

filelock does it right on each system: ``flock`` on the whole file on Linux and macOS,
``msvcrt.locking`` of the byte at offset 0 right after opening on Windows.  (This module
used to open the file for appending and lock "one byte from the current position", which
on Windows is the file's end: every agent locked a different byte and all of them ran.)
The lock is the operating system's, so it goes with the process however that ends.
"""

from __future__ import annotations

from pathlib import Path

import filelock
import msgspec

from agent import paths


class AlreadyRunning(RuntimeError):
    pass


class SingleInstance:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Not a singleton: one lock per SingleInstance, held until release().
        self._lock = filelock.FileLock(path, timeout=0, is_singleton=False)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise AlreadyRunning(
                f"another agent is already running for this user{_holder()} (lock {path}); "
                "stop it first, or use 'chatter-agent status' to see it"
            ) from None

    def release(self) -> None:
        self._lock.release()


def _holder() -> str:
    """The running agent's process id, from its status file, when it can be read."""
    try:
        pid = msgspec.json.decode(paths.status_file().read_bytes()).get("pid")
    except (OSError, msgspec.DecodeError, AttributeError):
        return ""
    return f" (pid {pid})" if isinstance(pid, int) else ""
