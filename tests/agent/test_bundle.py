"""The agent's bundle as a chatter's computer runs it: no Python, no project, a clean login.

The archive ``make agent-dist`` builds is unpacked and run with ``env -i``: a new HOME, a
PATH of /usr/bin and /bin, the X display and nothing else.  It enrolls at its first run
from a token file in the per-machine layout (``run --enroll-from``), counts keys xdotool
types under Xvfb, and the collector must store exactly that many.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import (
    CollectorProcess,
    bundle_archive,
    wait_for,
    xdotool,
)

KEYS = 240


class BareAgent:
    """The unpacked bundle's chatter-agent, run as a fresh user would run it."""

    def __init__(self, program: Path, home: Path, display: str) -> None:
        self.program = program
        self.home = home
        self.env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "DISPLAY": display}
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self, *args: str) -> list[str]:
        # env -i: not even the test runner's environment leaks in.
        return ["env", "-i", *(f"{k}={v}" for k, v in self.env.items()), str(self.program), *args]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), capture_output=True, text=True, env={})

    def status(self) -> dict[str, object]:
        done = self.cli("status", "--json")
        return dict(json.loads(done.stdout)) if done.returncode == 0 else {}

    def start(self, *args: str) -> None:
        with open(self.home / "agent.stderr", "ab") as log:
            self.proc = subprocess.Popen(
                self.command("run", *args), stdout=subprocess.DEVNULL, stderr=log, env={}
            )
        proc = self.proc
        wait_for(
            lambda: self.status().get("running") is True or proc.poll() is not None,
            30,
            "the bundled agent to run",
        )
        assert proc.poll() is None, (self.home / "agent.stderr").read_text()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)


@pytest.fixture
def bare_agent(agent_downloads: Path, tmp_path: Path, display: str) -> Iterator[BareAgent]:
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    subprocess.run(["tar", "-xzf", str(bundle_archive(agent_downloads)), "-C", str(unpacked)])
    (folder,) = unpacked.iterdir()
    home = tmp_path / "home"
    home.mkdir()
    agent = BareAgent(folder / "chatter-agent", home, display)
    yield agent
    agent.stop()


def keys_stored(collector: CollectorProcess) -> int:
    return int(collector.rows("SELECT COALESCE(SUM(keystrokes), 0) FROM slices")[0][0])  # type: ignore[arg-type]


def test_bundle_enrolls_from_a_token_file_and_counts_exactly(
    bare_agent: BareAgent, collector_process: CollectorProcess, display: str
) -> None:
    # The per-machine layout IT fills: one chatter's token per login name.
    enroll = bare_agent.home.parent / "enroll"
    (enroll / "users").mkdir(parents=True)
    login = bare_agent.home.parent.name  # any name: the agent looks its own up
    bare_agent.env["USER"] = bare_agent.env["LOGNAME"] = login
    (enroll / "users" / f"{login}.txt").write_text(collector_process.cli("enroll-token", "alice"))

    bare_agent.start("--enroll-from", str(enroll), "--server", collector_process.url)
    assert bare_agent.proc is not None
    pid = bare_agent.proc.pid
    # Nothing of this test's Python or the project's venv is in the process.
    maps = Path(f"/proc/{pid}/maps").read_text()
    for foreign in {sys.prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent)}:
        assert foreign not in maps, f"{foreign} is mapped into the bundled agent"
    assert Path(f"/proc/{pid}/exe").resolve() == bare_agent.program.resolve()
    environ = dict(
        e.split(b"=", 1) for e in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if e
    )
    # What env -i passed, plus what PyInstaller's bootloader sets for its own libraries.
    added = {k for k in environ if k.startswith(b"_PYI_") or k.startswith(b"LD_LIBRARY_PATH")}
    assert set(environ) - added == {k.encode() for k in bare_agent.env}
    assert environ[b"LD_LIBRARY_PATH"].startswith(str(bare_agent.program.parent).encode())
    # Its files went where platformdirs puts a Linux user's, in the new HOME.
    assert (bare_agent.home / ".config" / "chattertrack" / "agent" / "agent.json").exists()

    xdotool(display, "type", "--delay", "60", "k" * KEYS)
    wait_for(lambda: keys_stored(collector_process) == KEYS, 40, f"{KEYS} keys at the collector")
    bare_agent.stop()
    # Started again (without a token now: already enrolled), it sends what was sealed at exit.
    bare_agent.start("--enroll-from", str(enroll), "--server", collector_process.url)
    wait_for(lambda: bare_agent.status().get("queued_slices") == 0, 30, "the outbox to drain")
    bare_agent.stop()
    assert keys_stored(collector_process) == KEYS
    count = collector_process.rows("SELECT COUNT(*) FROM slices")[0][0]
    seqs = [r[0] for r in collector_process.rows("SELECT seq FROM slices ORDER BY seq")]
    assert seqs == list(range(1, int(count) + 1))  # type: ignore[call-overload]
    assert len(collector_process.rows("SELECT id FROM devices")) == 1


def test_bundle_is_lean(bare_agent: BareAgent, agent_downloads: Path) -> None:
    """No collector, web framework, database layer or GUI toolkit in the bundle: neither
    among its files nor among the modules packed into its executable."""
    files = [
        str(p.relative_to(bare_agent.program.parent)) for p in bare_agent.program.parent.rglob("*")
    ]
    viewer = Path(sys.executable).parent / "pyi-archive_viewer"
    modules = subprocess.run(
        [str(viewer), "--list", "--recursive", str(bare_agent.program)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "'agent.runner'" in modules and "'pynput.keyboard._xorg'" in modules
    everything = (modules + "\n".join(files)).lower()
    for unwanted in ("collector", "flask", "sqlalchemy", "tkinter", "numpy", "psycopg", "yaml"):
        assert f"'{unwanted}" not in everything and f"/{unwanted}" not in everything, unwanted
    size = bundle_archive(agent_downloads).stat().st_size
    assert size < 20 * 2**20, f"{size / 2**20:.1f} MiB"
    sums = (agent_downloads / "SHA256SUMS").read_text()
    names = {line.split("  ", 1)[1] for line in sums.splitlines()}
    assert names == {
        bundle_archive(agent_downloads).name,
        "install.sh",
        "uninstall.sh",
        "install.ps1",
        "uninstall.ps1",
    }
    # The uninstaller travels inside the bundle too.
    assert (bare_agent.program.parent / "uninstall.sh").exists()
