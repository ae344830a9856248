"""The agent's footprint under Xvfb: RSS and CPU idle and while typing, and a 30-day drain.

A real collector (waitress, SQLite) and a real agent run as subprocesses; xdotool
types 10 keys a second and moves the mouse for the busy phase.  CPU and memory are read
from /proc (bench/procstat.py).  The same two phases run twice: the agent from the
project's venv, then the self-contained bundle IT installs (``make agent-dist``, built once
per change of the agent and cached in build/agent-bundle/, run with a bare environment).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import lanes, procstat, server
from bench.prepare import cli

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
PHASE_SECONDS = 60
BACKLOG_DAYS = 30

# Measured for ActivityWatch's aw-watcher-afk on this kind of machine (team anchors).
AW_AFK = {"rss_mib": 40.6, "cpu_idle_pct": 0.15, "cpu_typing_pct": 1.53}
TARGETS = {"rss_mib": 30.0, "cpu_idle_pct": 0.10, "cpu_typing_pct": 1.0}


@dataclass
class Phases:
    """One agent's figures: idle, then typing 10 keys a second with the mouse moving."""

    rss_idle_mib: float = 0.0
    rss_typing_mib: float = 0.0
    peak_rss_mib: float = 0.0
    cpu_idle_pct: float = 0.0
    cpu_typing_pct: float = 0.0
    keys_sent: int = 0
    keys_counted: int = 0


@dataclass
class Footprint:
    venv: Phases = field(default_factory=Phases)
    bundle: Phases = field(default_factory=Phases)
    bundle_archive_mib: float = 0.0
    bundle_disk_mib: float = 0.0
    backlog_slices: int = 0
    drain_seconds: float = 0.0

    def all_counted(self) -> bool:
        return all(p.keys_counted == p.keys_sent for p in (self.venv, self.bundle))


def _cpu_seconds(pid: int) -> float:
    seconds = procstat.cpu_seconds_of(pid)
    if seconds is None:
        raise RuntimeError(f"the agent (pid {pid}) exited during the measurement")
    return seconds


def _rss_mib(pid: int, field: str = "VmRSS") -> float:
    return procstat.memory_mib(pid, field) or 0.0


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def _agent_env(home: Path, display: str) -> dict[str, str]:
    return {**os.environ, "CHATTER_AGENT_HOME": str(home), "DISPLAY": display}


def _bare_env(home: Path, display: str) -> dict[str, str]:
    """What the bundle gets: no venv, no project, as on a chatter's computer."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "CHATTER_AGENT_HOME": str(home),
        "DISPLAY": display,
    }


def _enrolled_agent(
    home: Path, env: dict[str, str], database: str, url: str, program: Path
) -> dict[str, str]:
    """A new agent home enrolled with the collector; its environment."""
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(program), "enroll", "--server", url, "--token-file", "-"],
        input=cli(database, "enroll-token", "alice"),
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )
    return env


def _start_agent(env: dict[str, str], log: Path, program: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:
        return subprocess.Popen(
            [str(program), "run"], env=env, stdout=subprocess.DEVNULL, stderr=handle
        )


def _unpacked_bundle(work: Path) -> tuple[Path, Path]:
    """The bundle's chatter-agent unpacked in WORK, and its archive."""
    built = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "agent" / "build_bundle.py")]
        + ["--cache", str(ROOT / "build" / "agent-bundle")],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        raise RuntimeError(f"the bundle did not build: {built.stderr[-2000:]}")
    archive = Path(built.stdout.strip().splitlines()[-1])
    with tarfile.open(archive) as packed:
        packed.extractall(work / "bundle", filter="data")
    (folder,) = (work / "bundle").iterdir()
    return folder / "chatter-agent", archive


def _type_and_move(display: str, seconds: int) -> int:
    """10 key presses a second with a mouse move after each, through one xdotool."""
    script = "".join(
        f"key x\nmousemove_relative -- {(-1) ** i * 7} 3\nsleep 0.1\n" for i in range(seconds * 10)
    )
    subprocess.run(
        ["xdotool", "-"], input=script.encode(), check=True, env={**os.environ, "DISPLAY": display}
    )
    return seconds * 10


def _backlog(home: Path, env: dict[str, str]) -> int:
    """Fill a fresh agent's outbox with 30 days of one-minute slices."""
    code = (
        "import time, datetime as dt\n"
        "from agent import paths\nfrom agent.outbox import Outbox\n"
        "from agent.timeline import SliceTotals\n"
        f"end = int(time.time()) // 60 * 60 - 3600\nstart = end - {BACKLOG_DAYS} * 86400\n"
        "box = Outbox(paths.outbox_file())\n"
        "box._db.execute('BEGIN')\n"
        "for s in range(start, end, 60):\n"
        "    box._db.execute('INSERT INTO slices (start, slice_seconds, duration, active_seconds,"
        " input_seconds, paused_seconds, keystrokes, mouse_events) VALUES (?,60,60,40,20,0,90,30)',"
        " (s,))\n"
        "box._db.execute('COMMIT')\n"
        "print(box.counts().queued)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip())


def run() -> Footprint:
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is missing: run 'make system'")
    result = Footprint()
    with tempfile.TemporaryDirectory(prefix="ct-agent-bench-") as tmp:
        work = Path(tmp)
        number = next(n for n in range(140, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
        display = f":{number}"
        xvfb = subprocess.Popen(
            ["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        database = f"sqlite:///{work / 'collector.db'}"
        agents: list[subprocess.Popen[bytes]] = []
        try:
            cli(database, "db", "upgrade")
            cli(database, "add-creator", "luna", "--name", "Luna")
            cli(database, "add-chatter", "alice", "--name", "Alice", "--creator", "luna")
            _wait(lambda: Path(f"/tmp/.X11-unix/X{number}").exists(), 10, "Xvfb")
            with server.waitress(database, work) as collector:
                try:
                    _measure(result, work, display, database, collector.base_url, agents)
                finally:  # the agents first, while the collector still answers them
                    for proc in agents:
                        server.stop(proc)
        finally:
            xvfb.terminate()
            xvfb.wait(timeout=10)
    return result


def _measure(
    result: Footprint,
    work: Path,
    display: str,
    database: str,
    url: str,
    agents: list[subprocess.Popen[bytes]],
) -> None:
    """The phases of both agents and the drain, with the agents they start in ``agents``
    (stopped by the caller)."""
    venv = BIN / "chatter-agent"
    env = _enrolled_agent(work / "agent", _agent_env(work / "agent", display), database, url, venv)
    result.venv = _phases("venv agent", env, venv, work / "agent.log", database, display, agents)

    program, archive = _unpacked_bundle(work)
    result.bundle_archive_mib = archive.stat().st_size / 2**20
    files = (f for f in program.parent.rglob("*") if f.is_file())
    result.bundle_disk_mib = sum(f.stat().st_size for f in files) / 2**20
    home = work / "agent-bundle"
    env = _enrolled_agent(home, _bare_env(home, display), database, url, program)
    result.bundle = _phases("bundle", env, program, work / "bundle.log", database, display, agents)

    print(f"[agent] draining a {BACKLOG_DAYS}-day backlog", flush=True)
    env2 = _enrolled_agent(
        work / "agent-backlog", _agent_env(work / "agent-backlog", display), database, url, venv
    )
    result.backlog_slices = _backlog(work / "agent-backlog", env2)
    started = time.monotonic()
    drainer = _start_agent(env2, work / "agent2.log", venv)
    agents.append(drainer)
    _wait(lambda: _queued(env2, venv) < 5, 600, "the backlog to drain")
    result.drain_seconds = time.monotonic() - started


def _phases(
    name: str,
    env: dict[str, str],
    program: Path,
    log: Path,
    database: str,
    display: str,
    agents: list[subprocess.Popen[bytes]],
) -> Phases:
    """Idle, then typing, for one enrolled agent; the keys it delivered (all of them, once
    it has run again to send what was sealed at exit)."""
    phases = Phases()
    keys_before = int(lanes.scalar(database, "SELECT COALESCE(SUM(keystrokes), 0) FROM slices"))
    agent = _start_agent(env, log, program)
    agents.append(agent)
    time.sleep(10)  # start-up, first send

    print(f"[agent] {name}: idle for {PHASE_SECONDS} s", flush=True)
    before = _cpu_seconds(agent.pid)
    time.sleep(PHASE_SECONDS)
    phases.cpu_idle_pct = (_cpu_seconds(agent.pid) - before) / PHASE_SECONDS * 100
    phases.rss_idle_mib = _rss_mib(agent.pid)

    print(f"[agent] {name}: typing 10 keys/s and moving the mouse for {PHASE_SECONDS} s")
    before, started = _cpu_seconds(agent.pid), time.monotonic()
    phases.keys_sent = _type_and_move(display, PHASE_SECONDS)
    elapsed = time.monotonic() - started
    phases.cpu_typing_pct = (_cpu_seconds(agent.pid) - before) / elapsed * 100
    phases.rss_typing_mib = _rss_mib(agent.pid)
    phases.peak_rss_mib = _rss_mib(agent.pid, "VmHWM")
    server.stop(agent)
    agents.remove(agent)
    # The last slices were sealed at exit: run once more to deliver them, then count.
    agent = _start_agent(env, log, program)
    agents.append(agent)
    _wait(lambda: _queued(env, program) == 0, 120, "the typed slices to arrive")
    server.stop(agent)
    agents.remove(agent)
    keys = lanes.scalar(database, "SELECT COALESCE(SUM(keystrokes), 0) FROM slices")
    phases.keys_counted = int(keys) - keys_before
    return phases


def _queued(env: dict[str, str], program: Path) -> int:
    out = subprocess.run(
        [str(program), "status", "--json"], env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        return 1 << 30
    return int(json.loads(out.stdout)["queued_slices"])


def render(f: Footprint) -> str:
    def verdict(value: float, key: str) -> str:
        return "meets target" if value <= TARGETS[key] else "misses target"

    measured = (
        ("RSS idle (MiB)", "rss_idle_mib", "rss_mib", "{:.1f}"),
        ("RSS typing (MiB)", "rss_typing_mib", "rss_mib", "{:.1f}"),
        ("CPU idle (% of a core)", "cpu_idle_pct", "cpu_idle_pct", "{:.3f}"),
        ("CPU typing 10 keys/s + mouse", "cpu_typing_pct", "cpu_typing_pct", "{:.3f}"),
    )
    lines = [
        f"{'agent footprint':<30} | {'venv agent':>12} | {'bundle':>12} | "
        f"{'aw-watcher-afk':>14} | {'target':>6} |",
        "-" * 31 + "+" + "-" * 14 + "+" + "-" * 14 + "+" + "-" * 16 + "+" + "-" * 8 + "+"
        + "-" * 24,
    ]  # fmt: skip
    for name, attr, key, shown in measured:
        ours, bundled = getattr(f.venv, attr), getattr(f.bundle, attr)
        lines.append(
            f"{name:<30} | {shown.format(ours):>12} | {shown.format(bundled):>12} | "
            f"{AW_AFK[key]:>14} | {TARGETS[key]:>6} | "
            f"{verdict(ours, key)} / {verdict(bundled, key)}"
        )
    for label, p in (("venv agent", f.venv), ("bundle", f.bundle)):
        lines.append(
            f"{label}: peak RSS {p.peak_rss_mib:.1f} MiB; keys typed {p.keys_sent}, "
            f"counted at the collector {p.keys_counted}"
        )
    lines.append(
        f"bundle: {f.bundle_archive_mib:.1f} MiB to download, {f.bundle_disk_mib:.1f} MiB "
        "on disk (PyInstaller onedir, run with a bare environment)"
    )
    lines.append(
        f"30-day backlog: {f.backlog_slices:,} slices drained to a local collector in "
        f"{f.drain_seconds:.1f} s ({f.backlog_slices / max(f.drain_seconds, 1e-9):,.0f} "
        "slices/s)"
    )
    lines.append(
        "aw-watcher-afk figures: measured on this kind of machine (team anchors); it is "
        "not on the package index, so it is not run side by side here."
    )
    return "\n".join(lines)
