"""Process statistics read from /proc (Linux only): CPU seconds and resident memory.

The collector part uses them to tell where a scenario's time went (client processes,
gunicorn workers, PostgreSQL backends) and how large the workers grew; the agent part
to measure the agent's own CPU and memory.  Readers of many processes skip the ones
that are gone (or a missing /proc); readers of one process return None for it.
"""

from __future__ import annotations

import os
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


def cpu_seconds_of(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far; None if it is gone."""
    fields = _stat_fields(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / _TICKS


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each live pid."""
    return {pid: s for pid in pids if (s := cpu_seconds_of(pid)) is not None}


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


def memory_mib(pid: int, field: str = "VmRSS") -> float | None:
    """A memory line of /proc/<pid>/status in MiB: VmRSS (resident now) or VmHWM (peak).

    None if the process is gone or has no such line (a kernel thread).
    """
    try:
        status = (_PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # the kernel counts in kB
    return None


def peak_rss_mib(pids: list[int]) -> list[float]:
    """Peak resident memory (VmHWM) of each live pid, in MiB to one decimal, smallest first."""
    return sorted(round(m, 1) for pid in pids if (m := memory_mib(pid, "VmHWM")) is not None)
