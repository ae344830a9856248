"""CPU time and peak memory of the server's processes, read from /proc (Linux only).

Used to tell where a scenario's time went: client processes, gunicorn workers,
or PostgreSQL backends.  Everything here returns empty results without /proc.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        # The command name may hold spaces; the fields start after its ')'.
        return (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _pids() -> list[int]:
    try:
        return [int(p.name) for p in _PROC.iterdir() if p.name.isdigit()]
    except OSError:
        return []


def children(parent: int) -> list[int]:
    return [pid for pid in _pids() if (f := _stat_fields(pid)) and int(f[1]) == parent]


def postgres_backends(database: str) -> list[int]:
    """Backends serving ``database``: their process title names it."""
    found = []
    for pid in _pids():
        try:
            title = (_PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {database} " in title:
            found.append(pid)
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each live pid."""
    out = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            out[pid] = (int(fields[11]) + int(fields[12])) / _TICKS
    return out


class CpuMeter:
    """CPU seconds used by a changing set of processes between start() and stop()."""

    def __init__(self, find: Callable[[], list[int]]) -> None:
        self._find = find
        self._before: dict[int, float] = {}

    def start(self) -> None:
        self._before = cpu_seconds(self._find())

    def stop(self) -> float:
        after = cpu_seconds(self._find())
        return round(sum(t - self._before.get(pid, 0.0) for pid, t in after.items()), 2)


def peak_rss_mib(pids: list[int]) -> list[float]:
    """Peak resident memory (VmHWM) of each pid, in MiB."""
    peaks = []
    for pid in pids:
        try:
            status = (_PROC / str(pid) / "status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if match:
            peaks.append(round(int(match.group(1)) / 1024, 1))
    return sorted(peaks)
