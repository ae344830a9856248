"""Installers for IT: Linux end to end from the bundle (local file, and downloaded from the
collector the way ``curl ... | bash`` does it), the pip path, the macOS LaunchAgent as the
dry run renders it, the macOS install for all users run for real on this machine (its
token files' owners and modes), uninstall's calls to the agent, and the PowerShell scripts
as far as they can be checked without PowerShell.

The Linux installer refuses root, so these tests run it as ``nobody`` (runuser), in a
folder that account can reach (pytest's own temporary folders are root's alone)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import plistlib
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import tree_sitter
import tree_sitter_powershell

from collector.devices.install import install_commands
from tests.agent.conftest import (
    CollectorProcess,
    bundle_archive,
    running_collector,
    wait_for,
    xdotool,
)
from tests.agent.downloads import DownloadsServer
from tests.conftest import building_from_the_checkout

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "agent" / "install"
WINDOWS = INSTALL / "windows"
# The account the Linux installer runs as here: any but root (it refuses root).
ACCOUNT = "nobody"


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder ACCOUNT can reach, removed afterwards."""
    if os.geteuid() != 0:
        pytest.fail("these tests run the installers as another account and need root")
    folder = Path(tempfile.mkdtemp(prefix="ct-installer-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def owned_by_account(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    account = pwd.getpwnam(ACCOUNT)
    os.chown(path, account.pw_uid, account.pw_gid)
    return path


@pytest.fixture
def user_home(shared: Path) -> Iterator[dict[str, str]]:
    """A fresh account's environment: its own HOME, the system PATH, and a python3 and
    python that fail loudly, so a step that needed Python would show."""
    home = owned_by_account(shared / "home")
    marks = owned_by_account(shared / "marks")
    trap = shared / "no-python"
    trap.mkdir()
    for name in ("python3", "python"):
        (trap / name).write_text(f"#!/bin/sh\necho called >> {marks}/python-was-called\nexit 99\n")
        (trap / name).chmod(0o755)
    yield {"HOME": str(home), "PATH": f"{trap}:/usr/bin:/bin"}
    assert not (marks / "python-was-called").exists(), "the installer ran Python"


def account_command(argv: list[str], env: dict[str, str]) -> list[str]:
    """ARGV as ACCOUNT runs it, with exactly ENV."""
    runuser = shutil.which("runuser")
    assert runuser, "runuser (util-linux) is missing"
    return [runuser, "-u", ACCOUNT, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]


def as_account(
    argv: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(account_command(argv, env), capture_output=True, text=True, input=stdin)


def run(
    script: Path, env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """An installer run as ACCOUNT."""
    return as_account(["bash", str(script), *args], env, stdin)


def run_as_root(script: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True)


def paths_of(env: dict[str, str]) -> dict[str, Path]:
    home = Path(env["HOME"])
    prefix = home / ".local" / "share" / "chattertrack-agent"
    return {
        "home": home,
        "prefix": prefix,
        "agent": prefix / "bundle" / "chatter-agent",
        "unit": home / ".config" / "systemd" / "user" / "chattertrack-agent.service",
        "desktop": home / ".config" / "autostart" / "chattertrack-agent.desktop",
        "key": home / ".config" / "chattertrack" / "agent" / "device-key.json",
        "link": home / ".local" / "bin" / "chatter-agent",
    }


def test_linux_install_from_the_bundle_end_to_end_and_idempotent(
    agent_downloads: Path,
    user_home: dict[str, str],
    collector_process: CollectorProcess,
    shared: Path,
) -> None:
    token = shared / "token"
    token.write_text(collector_process.cli("enroll-token", "alice"))
    archive = bundle_archive(agent_downloads)
    args = ["--server", collector_process.url, "--token-file", str(token), "--bundle", str(archive)]
    where = paths_of(user_home)

    first = run(INSTALL / "install.sh", user_home, *args)
    assert first.returncode == 0, first.stderr + first.stdout
    assert f"SHA-256 of {archive.name} checked" in first.stdout  # SHA256SUMS beside it
    assert f"installed agent bundle {archive.name}" in first.stdout
    assert f"enrolled with {collector_process.url}" in first.stdout
    assert f'ExecStart="{where["agent"]}" run' in where["unit"].read_text()
    # No systemd user session in this container: the XDG autostart entry is the fallback.
    assert f'Exec="{where["agent"]}" run' in where["desktop"].read_text()
    assert oct(where["key"].stat().st_mode & 0o777) == "0o600"
    assert where["link"].resolve() == where["agent"]
    # The bundle is the installing account's, and nobody else may change it.
    bundle = where["prefix"] / "bundle"
    for path in [bundle, *bundle.rglob("*")]:
        if not path.is_symlink():
            assert path.stat().st_uid == pwd.getpwnam(ACCOUNT).pw_uid, path
            assert path.stat().st_mode & 0o022 == 0, path
    assert [p.name for p in where["prefix"].iterdir() if p.name.startswith(".bundle")] == []
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(where["unit"])], capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stderr

    second = run(INSTALL / "install.sh", user_home, *args)
    assert second.returncode == 0, second.stderr
    assert "already installed" in second.stdout and "already enrolled" in second.stdout
    assert "unchanged" in second.stdout
    assert "wrote" not in second.stdout and "enrolled with" not in second.stdout
    devices = collector_process.cli("devices", "--json")
    assert devices.count('"device_id"') == 1

    removed = run(where["prefix"] / "bundle" / "uninstall.sh", user_home)
    assert removed.returncode == 0, removed.stderr
    # It asked the agent to retire the device (answered either way, never fatal).
    assert (
        "lists this device as uninstalled" in removed.stdout
        or "the collector was not told" in removed.stderr
    )
    for gone in ("unit", "desktop", "prefix", "link"):
        assert not where[gone].exists(), gone
    assert where["key"].exists()  # kept without --purge: it belongs to the data that may be unsent


def _serve_copy(agent_downloads: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "downloads"
    shutil.copytree(agent_downloads, folder)
    return folder


def _piped(url: str, env: dict[str, str], token: Path) -> subprocess.CompletedProcess[str]:
    """The one command the README gives IT, with this test's collector."""
    command = (
        f"curl -fsSL {url}/agent/install.sh | "
        f"bash -s -- --server {url} --token-file {token} --no-start"
    )
    return as_account(["bash", "-c", command], env)


def test_piped_install_downloads_the_newest_bundle_from_the_collector(
    agent_downloads: Path,
    user_home: dict[str, str],
    tmp_path: Path,
    shared: Path,
) -> None:
    folder = _serve_copy(agent_downloads, tmp_path)
    real = bundle_archive(folder)
    # Versions compare as numbers (0.10.0 is newer than 0.9.0), other systems are ignored,
    # and an older version that is broken is never fetched.
    newest = folder / "chattertrack-agent-0.10.0-linux-x86_64.tar.gz"
    real.rename(newest)
    (folder / "chattertrack-agent-0.9.0-linux-x86_64.tar.gz").write_bytes(b"not a bundle")
    (folder / "chattertrack-agent-9.0.0-macos-arm64.tar.gz").write_bytes(b"not for Linux")
    token = shared / "token"
    # The collector itself serves the folder (CHATTER_AGENT_DOWNLOADS), as in production.
    with running_collector(tmp_path / "served", CHATTER_AGENT_DOWNLOADS=str(folder)) as served:
        token.write_text(served.cli("enroll-token", "alice"))
        result = _piped(served.url, user_home, token)
        assert result.returncode == 0, result.stderr + result.stdout
        assert f"SHA-256 of {newest.name} checked" in result.stdout
        assert "enrolled with" in result.stdout
        agent = paths_of(user_home)["agent"]
        status = as_account([str(agent), "status", "--json"], user_home)
        assert '"device_id"' in status.stdout, status.stderr
        assert served.cli("devices", "--json").count('"device_id"') == 1


@pytest.fixture
def new_account() -> Iterator[str]:
    """A real new Linux account (useradd; the test machines and CI run as root)."""
    if os.geteuid() != 0:
        pytest.fail("the new-account install test creates a Linux user and needs root")
    name = f"ct{os.getpid()}"
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["pkill", "-KILL", "-u", name], check=False)
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)


def test_a_new_linux_account_installs_from_the_collector_with_one_command_and_uninstalls(
    agent_downloads: Path, new_account: str, tmp_path: Path, display: str
) -> None:
    """As IT would on a chatter's PC: a fresh account, the one command the Enrollment page
    shows (no Python package involved: the trap on PATH fails if python is called), the
    agent running from the bundle and delivering, then the uninstaller telling the
    collector, which lists the device as uninstalled."""
    folder = _serve_copy(agent_downloads, tmp_path)
    folder.chmod(0o755)
    tmp_path.chmod(0o755)
    trap = Path(f"/home/{new_account}/no-python")

    def as_user(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["su", "--login", new_account, "--command", command],
            capture_output=True,
            text=True,
        )

    as_user(
        f"mkdir -p {trap} && for p in python python3; do "
        f"printf '#!/bin/sh\\necho called >> ~/python-was-called; exit 99\\n' > {trap}/$p; "
        f"chmod +x {trap}/$p; done"
    )
    with running_collector(tmp_path / "served", CHATTER_AGENT_DOWNLOADS=str(folder)) as served:
        token = served.cli("enroll-token", "alice")
        page = httpx.get(served.url + "/agent/downloads/SHA256SUMS")
        assert page.status_code == 200 and "linux-x86_64.tar.gz" in page.text
        as_user(f"umask 077 && printf '%s\\n' {token} > ~/chattertrack-token.txt")
        # The Enrollment page's Linux command, word for word but --no-start (no systemd
        # user session in a test) and the python trap first on PATH.
        command = install_commands(served.url).unix.replace(
            "--token-file", "--no-start --token-file"
        )
        installed = as_user(f"export PATH={trap}:/usr/bin:/bin; {command}")
        assert installed.returncode == 0, installed.stdout + installed.stderr
        agent = f"/home/{new_account}/.local/bin/chatter-agent"
        status = as_user(f"{agent} status")
        assert "ChatterTrack is NOT running for Alice" in status.stdout, status.stderr
        assert f"{served.url}/chatters/alice" in status.stdout

        runs = subprocess.Popen(
            ["su", "--login", new_account, "--command", f"DISPLAY={display} exec {agent} run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(
                lambda: bool(served.rows("SELECT COUNT(*) FROM slices")[0][0]),
                30,
                "the bundle agent's first slices",
            )
            xdotool(display, "type", "--delay", "60", "k" * 40)
            wait_for(
                lambda: served.rows("SELECT SUM(keystrokes) FROM slices")[0][0] == 40,
                30,
                "the 40 key presses at the collector",
            )
            # Uninstalled while the agent (started through ~/.local/bin, as status tells
            # chatters to) still runs: the uninstaller stops it before it tells the
            # collector, so no batch of it lands after the retirement.
            removed = as_user(
                f"export PATH={trap}:/usr/bin:/bin; "
                f"~/.local/share/chattertrack-agent/bundle/uninstall.sh --purge --yes"
            )
            assert removed.returncode == 0, removed.stdout + removed.stderr
            assert "stopped the running agent" in removed.stdout
            runs.wait(timeout=10)
        finally:
            subprocess.run(["pkill", "-KILL", "-u", new_account], check=False)
            runs.wait(timeout=30)
        time.sleep(3)  # a batch still in flight would clear the retirement by now
        (device,) = json.loads(served.cli("devices", "--json"))
        assert device["retired_at"] is not None
        assert not Path(f"/home/{new_account}/.local/share/chattertrack-agent").exists()
        assert not Path(f"/home/{new_account}/.config/chattertrack").exists()
    assert not Path(f"/home/{new_account}/python-was-called").exists(), "Python was called"


def test_a_bundle_whose_checksum_differs_is_refused(
    agent_downloads: Path, user_home: dict[str, str], shared: Path
) -> None:
    folder = _serve_copy(agent_downloads, shared)
    archive = bundle_archive(folder)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a flipped byte on the way (a broken mirror, a proxy)
    archive.write_bytes(bytes(data))
    token = shared / "token"
    token.write_text("cte_never_used")

    # Refused before any enrollment: no collector behind it is needed.
    with DownloadsServer(folder, "http://127.0.0.1:9") as server:
        result = _piped(server.url, user_home, token)
    assert result.returncode == 1
    assert f"SHA-256 mismatch for {archive.name}" in result.stderr
    assert "refusing to install it" in result.stderr
    assert not paths_of(user_home)["prefix"].exists()

    # The same with a local --bundle whose SHA256SUMS sits beside it.
    local = run(
        INSTALL / "install.sh",
        user_home,
        "--server",
        "http://127.0.0.1:9",
        "--bundle",
        str(archive),
    )
    assert local.returncode == 1 and "SHA-256 mismatch" in local.stderr


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


def test_pip_path_stays_an_option_and_the_bundle_replaces_it(
    wheel: Path,
    agent_downloads: Path,
    collector_process: CollectorProcess,
    shared: Path,
) -> None:
    home = owned_by_account(shared / "home")
    wheel = Path(shutil.copy(wheel, shared))
    env = {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        # The system's: the account cannot reach root's own Pythons (pyenv, this venv).
        "PYTHON": "/usr/bin/python3",
        # pip's own settings (mirrors, certificates) still apply to the new venv.
        **{k: v for k, v in os.environ.items() if k.startswith("PIP_")},
    }
    token = shared / "token"
    token.write_text(collector_process.cli("enroll-token", "alice"))
    common = ["--server", collector_process.url, "--token-file", str(token), "--no-start"]
    prefix = paths_of(env)["prefix"]

    by_pip = run(INSTALL / "install.sh", env, *common, "--pip", str(wheel))
    assert by_pip.returncode == 0, by_pip.stderr + by_pip.stdout
    assert "created virtual environment" in by_pip.stdout
    assert f'ExecStart="{prefix}/venv/bin/chatter-agent" run' in paths_of(env)["unit"].read_text()

    by_bundle = run(
        INSTALL / "install.sh", env, *common, "--bundle", str(bundle_archive(agent_downloads))
    )
    assert by_bundle.returncode == 0, by_bundle.stderr
    assert "removed the pip install" in by_bundle.stdout
    assert "already enrolled" in by_bundle.stdout  # the same device, the same key
    assert not (prefix / "venv").exists()
    assert f'ExecStart="{prefix}/bundle/chatter-agent" run' in paths_of(env)["unit"].read_text()


def test_shell_installers_pass_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is missing: run 'make system' (apt-get install shellcheck)")
    scripts = [str(INSTALL / "install.sh"), str(INSTALL / "uninstall.sh")]
    checked = subprocess.run([shellcheck, *scripts], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout


def test_install_refuses_token_on_command_line(user_home: dict[str, str]) -> None:
    result = run(INSTALL / "install.sh", user_home, "--server", "http://x", "--token", "cte_x")
    assert result.returncode == 1 and "refusing --token" in result.stderr


def test_dry_run_changes_nothing(user_home: dict[str, str], shared: Path) -> None:
    token = shared / "token"
    token.write_text("cte_x")
    result = run(
        INSTALL / "install.sh", user_home, "--dry-run", "--server", "https://track.example.com",
        "--token-file", str(token),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "would download https://track.example.com/agent/downloads/SHA256SUMS" in result.stdout
    assert (
        "would run:" in result.stdout
        and " enroll --server https://track.example.com" in result.stdout
    )
    assert "would write" in result.stdout and "chattertrack-agent.service" in result.stdout
    assert list(Path(user_home["HOME"]).iterdir()) == []


def test_linux_install_refuses_root(tmp_path: Path) -> None:
    """As root it would install for root and spend the chatter's token on root's input."""
    token = tmp_path / "token"
    token.write_text("cte_x")
    env = {"HOME": str(tmp_path / "root-home"), "PATH": "/usr/bin:/bin"}
    result = run_as_root(
        INSTALL / "install.sh", env, "--server", "https://track.example.com",
        "--token-file", str(token),
    )  # fmt: skip
    assert result.returncode == 1
    assert "refusing to run as root" in result.stderr and "as the chatter" in result.stderr
    assert not Path(env["HOME"]).exists()


# A bundle that stands in for the real one where only the installer is tested: its
# chatter-agent says it is enrolled. Its files claim another owner and modes anyone may
# write, which the installer must not take over.
STUB_AGENT = """#!/bin/sh
case "$1" in
  status) echo '{"device_id": "d-stub"}' ;;
  --version) echo "chatter-agent 0.1.0" ;;
esac
"""
STUB_NAME = "chattertrack-agent-0.1.0-linux-x86_64.tar.gz"


def stub_bundle(folder: Path, sums: str | None = None) -> Path:
    """The stub bundle in FOLDER with SUMS as its SHA256SUMS (default: sha256sum's)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = io.BytesIO()
    top = STUB_NAME.removesuffix(".tar.gz")
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        for name, mode, body in (
            (top, 0o777, None),
            (f"{top}/chatter-agent", 0o777, STUB_AGENT.encode()),
            (f"{top}/_internal", 0o777, None),
            (f"{top}/_internal/library.txt", 0o666, b"a library\n"),
        ):
            info = tarfile.TarInfo(name)
            info.mode, info.uid, info.gid, info.uname, info.gname = mode, 12345, 12345, "", ""
            if body is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
    archive = folder / STUB_NAME
    archive.write_bytes(data.getvalue())
    if sums is None:
        sums = f"{hashlib.sha256(data.getvalue()).hexdigest()}  {STUB_NAME}\n"
    (folder / "SHA256SUMS").write_text(sums, newline="")
    shutil.copy(INSTALL / "install.sh", folder / "install.sh")
    return archive


def _stub_sum(folder: Path) -> str:
    return hashlib.sha256((folder / STUB_NAME).read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("kind", "code", "said"),
    [
        ("saved on Windows, in capitals", 0, f"SHA-256 of {STUB_NAME} checked"),
        ("a sign-in page", 1, "did not answer with a checksum list (a proxy or login page?)"),
        ("no bundle for this computer", 1, "offers no chattertrack-agent-*-linux-x86_64.tar.gz"),
    ],
)
def test_the_downloaded_checksum_list_is_read_as_sha256sum_writes_it(
    user_home: dict[str, str], shared: Path, kind: str, code: int, said: str
) -> None:
    folder = shared / "downloads"
    stub_bundle(folder)
    sums = {
        "saved on Windows, in capitals": f"{_stub_sum(folder).upper()} *{STUB_NAME}\r\n\r\n",
        "a sign-in page": "<!DOCTYPE html>\n<html><body>Please sign in</body></html>\n",
        "no bundle for this computer": "",
    }[kind]
    (folder / "SHA256SUMS").write_text(sums, newline="")
    with DownloadsServer(folder, "http://127.0.0.1:9") as server:
        script, server_url = f"{server.url}/agent/install.sh", server.url
        command = f"curl -fsSL {script} | bash -s -- --server {server_url} --no-start"
        result = as_account(["bash", "-c", command], user_home)
    assert result.returncode == code, result.stdout + result.stderr
    assert said in result.stdout + result.stderr
    installed = paths_of(user_home)["prefix"] / "bundle" / "chatter-agent"
    assert installed.exists() == (code == 0)
    if kind == "a sign-in page":
        assert "begins with '<!DOCTYPE html>" in result.stderr
        assert "offers no" not in result.stderr


def test_a_local_bundle_its_checksum_list_does_not_name_is_refused(
    user_home: dict[str, str], shared: Path
) -> None:
    folder = shared / "local"
    archive = stub_bundle(
        folder, sums="0" * 64 + "  chattertrack-agent-0.0.9-linux-x86_64.tar.gz\n"
    )
    args = ["--server", "http://127.0.0.1:9", "--no-start", "--bundle", str(archive)]
    refused = run(INSTALL / "install.sh", user_home, *args)
    assert refused.returncode == 1
    assert f"does not list {STUB_NAME}: refusing to install it unchecked" in refused.stderr
    assert "--no-checksum" in refused.stderr
    assert not paths_of(user_home)["prefix"].joinpath("bundle").exists()

    (folder / "SHA256SUMS").write_text("<html>not a list</html>\n")
    html = run(INSTALL / "install.sh", user_home, *args)
    assert html.returncode == 1 and "is not a checksum list" in html.stderr

    unchecked = run(INSTALL / "install.sh", user_home, *args, "--no-checksum")
    assert unchecked.returncode == 0, unchecked.stderr
    assert f"--no-checksum: the SHA-256 of {STUB_NAME} is not checked" in unchecked.stdout
    assert "checked" not in unchecked.stdout.replace("not checked", "")
    only_with_bundle = run(
        INSTALL / "install.sh", user_home, "--server", "http://127.0.0.1:9", "--no-checksum"
    )
    assert only_with_bundle.returncode == 1
    assert "--no-checksum only goes with --bundle" in only_with_bundle.stderr


def test_three_installs_at_once_all_succeed_and_enroll_once(
    agent_downloads: Path,
    user_home: dict[str, str],
    collector_process: CollectorProcess,
    shared: Path,
) -> None:
    """A login script, IT by hand and a retried deployment at the same moment: the later
    runs wait for the first, then find everything in place (one token enrolls once)."""
    token = shared / "token"
    token.write_text(collector_process.cli("enroll-token", "alice"))
    args = ["--server", collector_process.url, "--token-file", str(token), "--no-start"]
    args += ["--bundle", str(bundle_archive(agent_downloads))]
    runs = [
        subprocess.Popen(
            account_command(["bash", str(INSTALL / "install.sh"), *args], user_home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    said = [proc.communicate(timeout=300) for proc in runs]
    for proc, (out, err) in zip(runs, said, strict=True):
        assert proc.returncode == 0, out + err
    outputs = "\n".join(out for out, _ in said)
    assert outputs.count("enrolled with") == 1 and outputs.count("already enrolled") == 2
    assert outputs.count(f"installed agent bundle {bundle_archive(agent_downloads).name}") == 1
    assert collector_process.cli("devices", "--json").count('"device_id"') == 1
    prefix = paths_of(user_home)["prefix"]
    assert sorted(p.name for p in prefix.iterdir() if p.name.startswith(".bundle")) == []
    version = as_account([str(prefix / "bundle" / "chatter-agent"), "--version"], user_home)
    assert version.returncode == 0, version.stderr


def _written(output: str, target: str) -> str:
    found = re.search(
        rf"----- begin {re.escape(target)} -----\n(.*?)\n----- end {re.escape(target)} -----",
        output,
        re.S,
    )
    assert found, output
    return found.group(1)


def test_macos_launch_agent_for_all_users_as_the_dry_run_renders_it(
    agent_downloads: Path, tmp_path: Path
) -> None:
    """Run as root (sudo) on macOS: every user's LaunchAgent, enrolling at first login."""
    if os.geteuid() != 0:
        pytest.fail("the all-users branch is taken as root; these tests run as root here")
    token = tmp_path / "token"
    token.write_text("cte_x")
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "CHATTERTRACK_INSTALL_OS": "Darwin"}
    result = run_as_root(
        INSTALL / "install.sh", env, "--dry-run", "--server", "https://track.example.com",
        "--token-file", str(token), "--bundle", str(bundle_archive(agent_downloads)),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    target = "/Library/LaunchAgents/com.chattertrack.agent.plist"
    plist = plistlib.loads(_written(result.stdout, target).encode())
    program = "/Library/Application Support/ChatterTrack/agent/bundle/chatter-agent"
    enroll = "/Library/Application Support/ChatterTrack/enroll"
    assert plist["Label"] == "com.chattertrack.agent"
    assert plist["ProgramArguments"] == [
        program, "run", "--enroll-from", enroll, "--server", "https://track.example.com"
    ]  # fmt: skip
    # Started again after a crash only: not after a refused token's exit 3 (every minute for
    # ever), nor after any other exit with a status (until the next login).
    assert plist["RunAtLoad"] is True and plist["KeepAlive"] == {"Crashed": True}
    assert plist["LimitLoadToSessionType"] == "Aqua"
    assert f"install -o root -m 0644 {token} {enroll}/token.txt" in result.stdout
    assert f"chown 0:0 {target}" in result.stdout
    # The permission is asked for the bundle's own executable, not for a Python.
    assert f"Input Monitoring for {program}" in result.stdout


def test_macos_launch_agent_for_one_user(tmp_path: Path) -> None:
    """Without sudo: the user's own LaunchAgent, launchd's output in ~/Library/Logs."""
    runuser = shutil.which("runuser")
    if runuser is None or os.geteuid() != 0:
        pytest.fail("needs runuser (util-linux) and root to run the script as another user")
    # Where nobody can read it (pytest's own temporary folders are root's alone).
    shared = Path(tempfile.mkdtemp(prefix="ct-installer-"))
    shared.chmod(0o755)
    script = shared / "install.sh"
    shutil.copy(INSTALL / "install.sh", script)
    home = "/Users/chatter"
    result = subprocess.run(
        [runuser, "-u", "nobody", "--", "env", "-i", f"HOME={home}", "PATH=/usr/bin:/bin"]
        + ["CHATTERTRACK_INSTALL_OS=Darwin", "bash", str(script), "--dry-run"]
        + ["--server", "https://track.example.com", "--token-file", "/dev/null"],
        capture_output=True,
        text=True,
    )
    shutil.rmtree(shared)
    assert result.returncode == 0, result.stderr
    plist = plistlib.loads(
        _written(
            result.stdout, f"{home}/Library/LaunchAgents/com.chattertrack.agent.plist"
        ).encode()
    )
    program = f"{home}/Library/Application Support/chattertrack-agent/bundle/chatter-agent"
    assert plist["ProgramArguments"] == [program, "run"]
    assert plist["StandardErrorPath"] == f"{home}/Library/Logs/chattertrack/launchd.err.log"
    assert "launchctl bootstrap gui/" in result.stdout


# uninstall.sh against a stand-in agent that records how it is called: the contract with
# `chatter-agent retire` and `chatter-agent purge [--yes]` (added to the agent separately).
STUB = """#!/bin/sh
echo "$*" >> "{log}"
case "$1" in
  status)
    printf '{{\\n  "device_id": "d-1",\\n  "queued_slices": {queued},\\n'
    printf '  "parked_slices": {parked}\\n}}\\n' ;;
  retire) [ {retire} = 0 ] || echo "cannot reach the collector" >&2; exit {retire} ;;
  purge) [ {purge} = 0 ] || echo "chatter-agent: cannot delete the outbox" >&2; exit {purge} ;;
esac
"""


@pytest.mark.parametrize(
    ("args", "queued", "parked", "retire", "purge", "calls", "code", "said"),
    [
        ([], 0, 0, 0, 0, ["status --json", "retire"], 0, "lists this device as uninstalled"),
        (
            [], 5, 0, 1, 0, ["status --json", "retire"], 0,
            "listed as active; revoke it on Admin → Devices if it should never send again",
        ),
        (["--purge"], 0, 0, 0, 0, ["status --json", "retire", "purge"], 0, "uninstalled"),
        (
            ["--purge"], 3, 0, 0, 0, ["status --json"], 1,
            "3 slices were not sent yet: nothing was removed. Let the agent run until",
        ),
        # Parked slices are never sent again by themselves: no "let it run" advice.
        (
            ["--purge"], 0, 2, 0, 0, ["status --json"], 1,
            "2 slices were not sent yet (0 queued, 2 parked: the collector refused those",
        ),
        (["--purge"], 1, 2, 0, 0, ["status --json"], 1, "3 slices were not sent yet (1 queued"),
        (
            ["--purge", "--yes"], 3, 4, 0, 0, ["status --json", "retire", "purge --yes"], 0,
            "uninstalled",
        ),
        # Purge refuses after all: the program stays with the data it could still send.
        (
            ["--purge"], 0, 0, 0, 1, ["status --json", "retire", "purge"], 1,
            "and so is the program in",
        ),
    ],
)  # fmt: skip
def test_uninstall_tells_the_collector_and_purges_only_as_asked(
    tmp_path: Path,
    args: list[str],
    queued: int,
    parked: int,
    retire: int,
    purge: int,
    calls: list[str],
    code: int,
    said: str,
) -> None:
    home = tmp_path / "home"
    agent = home / ".local" / "share" / "chattertrack-agent" / "bundle" / "chatter-agent"
    agent.parent.mkdir(parents=True)
    log = tmp_path / "calls"
    agent.write_text(STUB.format(log=log, queued=queued, parked=parked, retire=retire, purge=purge))
    agent.chmod(0o755)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    result = run_as_root(INSTALL / "uninstall.sh", env, *args)
    assert result.returncode == code, result.stdout + result.stderr
    assert said in result.stdout + result.stderr
    assert log.read_text().splitlines() == calls
    assert agent.exists() == (code != 0)  # a refusal removes nothing, a failed purge no program
    if parked and code:
        assert "'chatter-agent retry-parked' queues them again" in result.stderr
        assert "Let the agent run" not in result.stderr


# An agent still running when uninstall starts: it records what it is doing, and whether it
# was still running when it was asked to retire.
RUNNING_STUB = """#!/bin/sh
log="{log}"
case "$1" in
  run)
    echo $$ > "$log.pid"
    trap '{on_term}' TERM
    while :; do sleep 0.1; done ;;
  status) printf '{{"device_id": "d-1", "queued_slices": 0, "parked_slices": 0}}\\n' ;;
  retire)
    state="$(ps -o stat= -p "$(cat "$log.pid")")"
    case "$state" in
      ""|Z*) echo retire >> "$log" ;;
      *) echo "retire while the agent runs" >> "$log" ;;
    esac ;;
esac
"""


@pytest.mark.parametrize(
    ("on_term", "wait", "events", "said"),
    [
        # It finishes the batch it is sending (two seconds), then exits.
        (
            'echo finishing >> "$log"; sleep 2; echo exited >> "$log"; exit 0',
            "30",
            ["finishing", "exited", "retire"],
            "stopped the running agent",
        ),
        # It does not stop at all: killed once the wait is over.
        ('echo ignored >> "$log"', "1", ["ignored", "retire"], "did not stop within 1 s"),
    ],
)
def test_uninstall_retires_only_once_the_agent_has_exited(
    tmp_path: Path, on_term: str, wait: str, events: list[str], said: str
) -> None:
    home = tmp_path / "home"
    agent = home / ".local" / "share" / "chattertrack-agent" / "bundle" / "chatter-agent"
    agent.parent.mkdir(parents=True)
    log = tmp_path / "events"
    agent.write_text(RUNNING_STUB.format(log=log, on_term=on_term))
    agent.chmod(0o755)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "CHATTERTRACK_STOP_WAIT": wait}
    running = subprocess.Popen([str(agent), "run"], env=env)
    try:
        wait_for(lambda: Path(f"{log}.pid").exists(), 10, "the stand-in agent")
        result = run_as_root(INSTALL / "uninstall.sh", env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert said in result.stdout + result.stderr
        assert log.read_text().splitlines() == events
        assert running.wait(timeout=5) is not None
    finally:
        running.kill()
        running.wait()


def test_macos_install_for_all_users_gives_each_token_to_its_account_alone(
    shared: Path,
) -> None:
    """The install for every user of a Mac, run for real here (CHATTERTRACK_INSTALL_OS, the
    LaunchAgents folder moved): who owns what it writes, and who may read the tokens."""
    root = shared / "ChatterTrack"
    enroll = root / "enroll"
    (enroll / "users").mkdir(parents=True)
    by_hand = enroll / "users" / "daemon.txt"  # put there by IT, readable by all
    by_hand.write_text("cte_for_daemon\n")
    by_hand.chmod(0o644)
    tokens = shared / "tokens"
    tokens.mkdir()
    (tokens / f"{ACCOUNT}.txt").write_text("cte_for_nobody\n")
    (tokens / "no-such-login-ct.txt").write_text("cte_for_nobody_at_all\n")
    token = shared / "token"
    token.write_text("cte_first_user\n")
    env = {
        "HOME": str(shared),
        "PATH": "/usr/bin:/bin",
        "CHATTERTRACK_INSTALL_OS": "Darwin",
        "CHATTERTRACK_LAUNCH_AGENTS": str(shared / "LaunchAgents"),
    }
    args = ["--server", "https://track.example.com", "--prefix", str(root / "agent")]
    args += ["--bundle", str(stub_bundle(shared / "downloads")), "--no-start"]
    args += ["--token-file", str(token), "--user-tokens", str(tokens)]

    first = run_as_root(INSTALL / "install.sh", env, *args)
    assert first.returncode == 0, first.stdout + first.stderr

    def owner_and_mode(path: Path) -> tuple[str, int]:
        info = path.stat()
        return pwd.getpwuid(info.st_uid).pw_name, stat.S_IMODE(info.st_mode)

    assert owner_and_mode(enroll) == ("root", 0o755)
    assert owner_and_mode(enroll / "users") == ("root", 0o755)
    assert owner_and_mode(enroll / "token.txt") == ("root", 0o644)
    assert owner_and_mode(enroll / "users" / f"{ACCOUNT}.txt") == (ACCOUNT, 0o600)
    assert owner_and_mode(by_hand) == ("daemon", 0o600)
    assert not (enroll / "users" / "no-such-login-ct.txt").exists()
    assert "no account 'no-such-login-ct' on this Mac" in first.stdout

    def read_as_account(path: Path) -> str | None:
        read = as_account(["cat", str(path)], {"PATH": "/usr/bin:/bin"})
        return read.stdout if read.returncode == 0 else None

    assert read_as_account(enroll / "users" / f"{ACCOUNT}.txt") == "cte_for_nobody\n"
    assert read_as_account(by_hand) is None  # another account's token
    assert read_as_account(enroll / "token.txt") == "cte_first_user\n"  # first user wins

    # The bundle is root's, writable by root only, whatever the archive said.
    bundle = root / "agent" / "bundle"
    for path in [bundle, *bundle.rglob("*")]:
        owner, mode = owner_and_mode(path)
        assert owner == "root" and mode & 0o022 == 0 and mode & 0o004, (path, owner, oct(mode))
    plist = plistlib.loads((shared / "LaunchAgents" / "com.chattertrack.agent.plist").read_bytes())
    assert plist["KeepAlive"] == {"Crashed": True}

    again = run_as_root(INSTALL / "install.sh", env, *args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("already holds that token") == 2
    assert "chattertrack: placed" not in again.stdout and "chattertrack: made" not in again.stdout

    # A link where a token goes is refused, and what it points to left alone.
    target = shared / "elsewhere.txt"
    target.write_text("root's\n")
    by_hand.unlink()
    by_hand.symlink_to(target)
    linked = run_as_root(INSTALL / "install.sh", env, *args)
    assert linked.returncode == 1 and f"refusing: {by_hand} is not a plain file" in linked.stderr
    assert owner_and_mode(target) == ("root", 0o644)


# ---- PowerShell: no pwsh on this machine (not in Debian, PyPI or npm), so the scripts are
# parsed with tree-sitter's PowerShell grammar and checked for the rules that matter.

PS_AUTOMATIC = {"args", "error", "home", "host", "input", "matches", "null", "pid", "profile"}
PS_AUTOMATIC |= {"psitem", "pwd", "this", "true", "false", "event", "lastexitcode", "myinvocation"}


def _ps_tree(path: Path) -> tree_sitter.Tree:
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    return parser.parse(path.read_bytes())


def _nodes(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    yield node
    for child in node.children:
        yield from _nodes(child)


@pytest.mark.parametrize("name", ["install.ps1", "uninstall.ps1"])
def test_powershell_scripts_parse_and_keep_the_rules(name: str) -> None:
    path = WINDOWS / name
    tree = _ps_tree(path)
    broken = [
        (n.start_point, n.text[:60] if n.text else b"")
        for n in _nodes(tree.root_node)
        if n.type == "ERROR" or n.is_missing
    ]
    assert broken == [], broken
    text = path.read_text()
    assert '$ErrorActionPreference = "Stop"' in text
    # Assigning an automatic variable ($home, $input, ...) fails or misleads at run time.
    assigned = {m.group(1).lower() for m in re.finditer(r"^\s*\$(\w+)\s*(?:\+)?=(?!=)", text, re.M)}
    assert not assigned & PS_AUTOMATIC, assigned & PS_AUTOMATIC
    # The Windows PowerShell 5.1 trap: a native program's redirected stderr under "Stop".
    # Native programs run only through Invoke-Native, which lowers the preference and
    # decides by $LASTEXITCODE.
    assert "*>" not in text
    native_calls = re.findall(r"^[^#\n]*&\s*\$(\w+)", text, re.M)
    assert set(native_calls) <= {"Program", "Change"}, native_calls
    invoke = text[text.index("function Invoke-Native") :]
    invoke = invoke[: invoke.index("\n}\n")]
    assert '$ErrorActionPreference = "Continue"' in invoke and "$LASTEXITCODE" in invoke
    assert "finally" in invoke
    assert "[switch]$DryRun" in text and "if ($DryRun)" in text
    # Windows PowerShell 5.1 reads a script without a byte order mark in the ANSI code page.
    assert text.isascii()
    # "$name: ..." in a string is a (broken) drive-qualified variable: "${name}: ...".
    strings = [
        n.text.decode()
        for n in _nodes(tree.root_node)
        if n.type == "expandable_string_literal" and n.text
    ]
    drive = [s for s in strings if re.search(r"\$(?!env:|script:)\w+:", s)]
    assert drive == [], drive
    # A script's functions exist once their definition has run: each before its first call.
    defined = {
        n.text.decode().lower(): n.start_byte
        for n in _nodes(tree.root_node)
        if n.type == "function_name" and n.text
    }
    early = [
        (n.text.decode(), n.start_point)
        for n in _nodes(tree.root_node)
        if n.type == "command_name"
        and n.text
        and n.text.decode().lower() in defined
        and n.start_byte < defined[n.text.decode().lower()]
    ]
    assert early == [], early
    # The machine PATH is REG_EXPAND_SZ: read unexpanded and written back as such
    # (SetEnvironmentVariable would expand its %VARIABLES% for good, as REG_SZ).
    assert 'SetEnvironmentVariable("Path"' not in text
    assert "Session Manager\\Environment" in text
    assert "RegistryValueOptions]::DoNotExpandEnvironmentNames" in text
    assert "RegistryValueKind]::ExpandString" in text


def test_windows_install_is_per_machine_and_silent() -> None:
    text = (WINDOWS / "install.ps1").read_text()
    assert "Mandatory = $true)][string]$Server" in text
    assert '$env:ProgramFiles "ChatterTrack\\agent"' in text
    assert "Test-Administrator" in text  # refuses to run unelevated (SYSTEM is elevated)
    # Every user's logon starts the windowless executable, enrolling from ProgramData.
    assert "HKLM:\\Software\\Microsoft\\Windows\\CurrentVersion\\Run" in text
    assert "chatter-agent-background.exe" in text
    assert 'run --enroll-from `"$EnrollDir`" --server $Server' in text
    # The layout the agent reads (agent/cli.py: users/<login>.txt, then token.txt).
    assert '"token.txt"' in text and 'Join-Path $EnrollDir "users"' in text
    cli = (ROOT / "agent" / "cli.py").read_text()
    assert '"users" / f"{getpass.getuser()}.txt"' in cli and '"token.txt"' in cli
    # Download: newest by version, SHA-256 checked, mismatch refused.
    assert "/agent/downloads/SHA256SUMS" in text and "windows-x86_64\\.zip" in text
    assert "Get-FileHash" in text and "refusing to install it" in text
    # Both lists (downloaded, beside -Bundle) read one way: "<sha256>  <name>" or " *<name>",
    # any case; anything else is no list (a sign-in page), not a list without a bundle.
    assert text.count("Read-Checksums $") == 2
    assert '"^([0-9a-fA-F]{64}) [ *](\\S.*?)\\s*$"' in text
    assert "did not answer with a checksum list (a proxy or login page?)" in text
    check = text[text.index("if ($NoChecksum)") : text.index("} elseif ($DryRun)")]
    assert "does not list ${ArchiveName}: refusing to install it unchecked" in check
    # Add/Remove Programs runs the uninstaller that travels in the bundle.
    assert "CurrentVersion\\Uninstall\\ChatterTrackAgent" in text
    assert 'uninstall.ps1`""' in text and "QuietUninstallString" in text
    assert "Read-Host" not in text and "-Confirm:$true" not in text  # silent
    for phrase in ("already installed", "already in place"):  # idempotent
        assert phrase in text
    assert "-Token " not in text.replace("-TokenFile", "")


def test_windows_tokens_are_readable_only_by_whom_they_are_for() -> None:
    text = (WINDOWS / "install.ps1").read_text()
    # Exact access lists, none inherited: administrators and SYSTEM change the folders;
    # users may list them (ContainerInherit: no file inherits that reading).
    assert "icacls.exe" not in text and "SetAccessRuleProtection($true, $false)" in text
    root = text[text.index("Set-ExactAccess $DataRoot @(") :]
    root = root[: root.index("-OwnedByAdministrators")]
    assert '(New-Rule $SystemSid "FullControl" "ContainerInherit, ObjectInherit")' in root
    assert '(New-Rule $AdminsSid "FullControl" "ContainerInherit, ObjectInherit")' in root
    assert '(New-Rule $UsersSid "ReadAndExecute" "ContainerInherit")' in root
    # token.txt is every user's to read (the first to log on enrolls with it); each
    # users\LOGIN.txt is that account's alone, and no account's when there is none.
    assert "Set-TokenAccess $SharedToken $UsersSid" in text
    assert "$sid = Get-AccountSid $file.BaseName" in text
    assert "Set-TokenAccess $file.FullName $sid" in text
    assert "Set-TokenAccess $file.FullName $null" in text
    assert '"^S-1-5-21-|^S-1-12-1-"' in text  # accounts, not Users or Everyone
    # A token file is written anew (no access list carried over), never copied.
    assert "Copy-Item" not in text and "[IO.File]::WriteAllBytes($Target, $bytes)" in text
    # A folder someone else owns, or a junction, is moved aside (a rename follows no link)
    # and made anew without -Force; links inside a trusted one are refused.
    assert "GetOwner([Security.Principal.SecurityIdentifier])" in text
    assert "[IO.Directory]::Move($DataRoot, $aside)" in text
    assert "New-Item -ItemType Directory -Path $DataRoot | Out-Null" in text
    assert "[IO.FileAttributes]::ReparsePoint" in text and "@(Find-Links $DataRoot)" in text
    protect = text.index("Set-ExactAccess $DataRoot")
    assert text.index("[IO.Directory]::Move($DataRoot") < protect
    assert protect < text.index("Copy-TokenFile $given $SharedToken")
    # The -TokenFile given is deleted, and only once its copy is in place.
    copied = text.index("if (-not (Copy-TokenFile $given $SharedToken)) { throw")
    assert copied < text.index("Remove-Item -LiteralPath $given -Force")


def test_windows_uninstall_retires_each_account_and_purges_as_asked() -> None:
    text = (WINDOWS / "uninstall.ps1").read_text()
    # The agent acts on each account's files through platformdirs' override.
    assert "WIN_PD_OVERRIDE_LOCAL_APPDATA" in text and "ProfileList" in text
    assert '@("retire")' in text
    assert '$purgeArgs = @("purge")' in text and '$purgeArgs += "--yes"' in text
    # Refused before anything is removed while slices are unsent: queued or parked, as
    # 'chatter-agent purge' counts them; parked ones need retry-parked, not waiting.
    for field in ('"queued_slices"', '"parked_slices"'):
        check = text.index(field)
        assert check < text.index("Remove-ItemProperty")
        assert check < text.index("Remove-Item -LiteralPath $Prefix")
    assert "'chatter-agent retry-parked' queues them again" in text
    assert "-Yes only goes with -Purge" in text
    # Retired only once the agents have exited (a batch in flight would undo it).
    assert text.index("$process.WaitForExit(30000)") < text.index('@("retire")')
    assert "revoke it on Admin > Devices if it should never send again" in text
    # A purge refused keeps the program (and the way to run this again).
    kept = text.index("if ($kept) {\n    throw")
    assert kept < text.index("Remove-Item -LiteralPath $Prefix")
    assert kept < text.index("Remove-Item -Path $UninstallKey")
    # rd removes the token folder without following a junction in it.
    assert 'Invoke-Native "cmd.exe" @("/d", "/c", "rd", "/s", "/q", $DataRoot)' in text


def test_purge_after_a_plain_uninstall_says_where_the_data_is(tmp_path: Path) -> None:
    """The program went with the first uninstall; --purge cannot count what is unsent
    without it, deletes nothing, and says which folders hold the data."""
    home = tmp_path / "home"
    (home / ".config" / "chattertrack" / "agent").mkdir(parents=True)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    result = run(INSTALL / "uninstall.sh", env, "--purge", "--yes")
    assert result.returncode == 1
    assert "the agent is not installed any more" in result.stderr
    assert f"{home}/.config/chattertrack" in result.stderr
    assert (home / ".config" / "chattertrack" / "agent").exists()
