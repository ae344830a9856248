"""Installers for IT: the Linux one end to end, the macOS plist and the PowerShell scripts."""

from __future__ import annotations

import os
import plistlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import CollectorProcess
from tests.conftest import building_from_the_checkout

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "agent" / "install"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    with building_from_the_checkout():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "-w",
                str(out),
                str(ROOT),
            ],
            check=True,
        )
    return next(out.glob("chattertrack-*.whl"))


@pytest.fixture
def user_home(tmp_path: Path) -> Iterator[dict[str, str]]:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "PYTHON": shutil.which("python3") or sys.executable,
        # pip's own settings (mirrors, certificates) still apply to the new venv.
        **{k: v for k, v in os.environ.items() if k.startswith("PIP_")},
    }
    yield env


def run(script: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True)


def test_linux_install_end_to_end_and_idempotent(
    wheel: Path, user_home: dict[str, str], collector_process: CollectorProcess, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text(collector_process.cli("enroll-token", "alice"))
    prefix = tmp_path / "prefix"
    args = [
        "--server",
        collector_process.url,
        "--token-file",
        str(token),
        "--from",
        str(wheel),
        "--prefix",
        str(prefix),
    ]

    first = run(INSTALL / "install.sh", user_home, *args)
    assert first.returncode == 0, first.stderr + first.stdout
    assert "created virtual environment" in first.stdout
    assert f"enrolled with {collector_process.url}" in first.stdout
    home = Path(user_home["HOME"])
    unit = home / ".config" / "systemd" / "user" / "chattertrack-agent.service"
    assert f"ExecStart={prefix}/venv/bin/chatter-agent run" in unit.read_text()
    # No systemd user session in this container: the XDG autostart entry is the fallback.
    desktop = home / ".config" / "autostart" / "chattertrack-agent.desktop"
    assert f"Exec={prefix}/venv/bin/chatter-agent run" in desktop.read_text()
    key = home / ".config" / "chattertrack" / "agent" / "device-key.json"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert (
        home / ".local" / "bin" / "chatter-agent"
    ).resolve() == prefix / "venv" / "bin" / "chatter-agent"

    verify = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stderr

    second = run(INSTALL / "install.sh", user_home, *args)
    assert second.returncode == 0, second.stderr
    assert "already installed" in second.stdout and "already enrolled" in second.stdout
    assert "unchanged" in second.stdout
    assert "wrote" not in second.stdout and "enrolled with" not in second.stdout
    devices = collector_process.cli("devices", "--json")
    assert devices.count('"device_id"') == 1

    removed = run(INSTALL / "uninstall.sh", user_home, "--prefix", str(prefix))
    assert removed.returncode == 0, removed.stderr
    assert not unit.exists() and not desktop.exists() and not prefix.exists()
    assert key.exists()  # kept without --purge: it belongs to the data that may be unsent


def test_install_refuses_token_on_command_line(user_home: dict[str, str]) -> None:
    result = run(INSTALL / "install.sh", user_home, "--server", "http://x", "--token", "cte_x")
    assert result.returncode == 1 and "refusing --token" in result.stderr


def test_macos_plist_has_what_launchd_needs() -> None:
    text = (INSTALL / "macos" / "com.chattertrack.agent.plist").read_text()
    rendered = text.replace("@BIN@", "/Users/a/venv/bin").replace(
        "@LOGDIR@", "/Users/a/Library/Logs"
    )
    plist = plistlib.loads(rendered.encode())
    assert plist["Label"] == "com.chattertrack.agent"
    assert plist["ProgramArguments"] == ["/Users/a/venv/bin/chatter-agent", "run"]
    assert plist["RunAtLoad"] is True and plist["KeepAlive"] is True
    assert plist["StandardErrorPath"].startswith("/Users/a/Library/Logs")
    install = (INSTALL / "install.sh").read_text()
    assert "launchctl bootstrap" in install and "LaunchAgents" in install


def _balanced(text: str) -> bool:
    # Strip strings and comments, then check brackets pair up.
    text = re.sub(r"<#.*?#>", "", text, flags=re.S)
    text = re.sub(r"#[^\n]*", "", text)
    text = re.sub(r'"(?:`.|[^"`])*"', '""', text)
    text = re.sub(r"'[^']*'", "''", text)
    stack: list[str] = []
    pairs = {")": "(", "}": "{", "]": "["}
    for ch in text:
        if ch in "({[":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack


def test_powershell_scripts_as_far_as_they_can_be_checked_here() -> None:
    """No PowerShell on this Linux machine: check structure and the rules that matter."""
    install = (INSTALL / "windows" / "install.ps1").read_text()
    uninstall = (INSTALL / "windows" / "uninstall.ps1").read_text()
    for script in (install, uninstall):
        assert _balanced(script)
        assert '$ErrorActionPreference = "Stop"' in script
    assert "[string]$TokenFile" in install and "--token-file $TokenFile" in install
    assert "-Token " not in install.replace("-TokenFile", "")
    assert "New-ScheduledTaskTrigger -AtLogOn" in install
    assert "Register-ScheduledTask" in install and "Unregister-ScheduledTask" in uninstall
    assert "already registered" in install and "already enrolled" in install  # idempotent
    assert '"-m agent run"' in install  # pythonw: no console window at logon
