"""Build the agent's self-contained bundle for this computer's OS with PyInstaller.

    python packaging/agent/build_bundle.py [--out dist] [--cache DIR]

Writes ``chattertrack-agent-VERSION-OS-ARCH.tar.gz`` (a ``.zip`` on Windows) into the output
folder, copies the installers beside it (``install.sh``, ``uninstall.sh``, ``install.ps1``,
``uninstall.ps1``) and writes ``SHA256SUMS`` over every file there: the folder the collector
serves to IT as ``/agent/downloads/``.  With ``--cache DIR`` the output folder is
``DIR/<hash of the sources and build tools>`` and a bundle already built there is reused
(the tests build once per change of the agent, not once per run).  The last line printed
is the archive's path.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import filelock

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "agent" / "chattertrack-agent.spec"
INSTALLERS = {
    "install.sh": ROOT / "agent" / "install" / "install.sh",
    "uninstall.sh": ROOT / "agent" / "install" / "uninstall.sh",
    "install.ps1": ROOT / "agent" / "install" / "windows" / "install.ps1",
    "uninstall.ps1": ROOT / "agent" / "install" / "windows" / "uninstall.ps1",
}
# Whatever changes the bundle: its sources, its recipe, and the installed packages it holds.
SOURCES = ("agent", "shared", "packaging/agent", "pyproject.toml")
PACKAGES = [
    *("pyinstaller", "pyinstaller-hooks-contrib", "msgspec", "httpx", "httpcore", "h11"),
    *("anyio", "certifi", "idna", "platformdirs", "filelock", "pynput", "python-xlib", "six"),
]
SUMS = "SHA256SUMS"


def version() -> str:
    text = (ROOT / "agent" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not found:
        raise SystemExit("build_bundle: no __version__ in agent/__init__.py")
    return found.group(1)


def platform_tag() -> str:
    """linux-x86_64, macos-arm64, windows-x86_64: the names the installers look for."""
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform)
    if system is None:
        raise SystemExit(f"build_bundle: no bundle for {sys.platform}")
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "arm64", "aarch64": "aarch64"}
    return f"{system}-{arch.get(machine, machine)}"


def archive_name() -> str:
    suffix = ".zip" if sys.platform == "win32" else ".tar.gz"
    return f"chattertrack-agent-{version()}-{platform_tag()}{suffix}"


def source_hash() -> str:
    digest = hashlib.sha256()
    for top in SOURCES:
        path = ROOT / top
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(file.relative_to(ROOT).as_posix().encode() + b"\0")
                digest.update(file.read_bytes())
    digest.update(sys.version.encode())
    for name in PACKAGES:
        try:
            digest.update(f"{name}=={importlib.metadata.version(name)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{name} missing".encode())
    return digest.hexdigest()[:16]


def run_pyinstaller(workdir: Path, folder_name: str) -> Path:
    """The onedir folder, built in WORKDIR; PyInstaller's output goes to a log there."""
    log = workdir / "pyinstaller.log"
    with log.open("w", encoding="utf-8") as handle:
        done = subprocess.run(
            [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
            + ["--distpath", str(workdir / "dist"), "--workpath", str(workdir / "work")]
            + [str(SPEC)],
            env={**os.environ, "CHATTER_BUNDLE_NAME": folder_name},
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-4000:]
        raise SystemExit(f"build_bundle: PyInstaller failed ({log}):\n{tail}")
    folder = workdir / "dist" / folder_name
    program = folder / ("chatter-agent.exe" if sys.platform == "win32" else "chatter-agent")
    # The smallest proof that the bundle starts without the build's Python.
    answer = subprocess.run(
        [str(program), "--version"], capture_output=True, text=True, env=_bare_env()
    )
    if answer.returncode != 0 or version() not in answer.stdout:
        raise SystemExit(f"build_bundle: {program} --version failed: {answer.stderr}")
    return folder


def _bare_env() -> dict[str, str]:
    keep = ("SYSTEMROOT", "TEMP", "TMP", "HOME", "USERPROFILE", "LOCALAPPDATA")
    return {k: v for k, v in os.environ.items() if k.upper() in keep}


def pack(folder: Path, archive: Path) -> None:
    """The folder under its own name, files in name order, owned by nobody in particular."""
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as packed:
            for file in sorted(folder.rglob("*")):
                packed.write(file, file.relative_to(folder.parent).as_posix())
        return

    def owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, folder.name, recursive=False, filter=owned_by_root)
        for file in sorted(folder.rglob("*")):
            name = file.relative_to(folder.parent).as_posix()
            tar.add(file, name, recursive=False, filter=owned_by_root)


def write_sums(out: Path) -> None:
    lines = []
    for file in sorted(out.iterdir()):
        if file.is_file() and file.name != SUMS:
            lines.append(f"{hashlib.sha256(file.read_bytes()).hexdigest()}  {file.name}\n")
    (out / SUMS).write_text("".join(lines), encoding="utf-8", newline="\n")


def build(out: Path) -> Path:
    out = out.resolve()  # PyInstaller runs in the work folder
    out.mkdir(parents=True, exist_ok=True)
    archive = out / archive_name()
    folder_name = archive.name.removesuffix(".zip").removesuffix(".tar.gz")
    with tempfile.TemporaryDirectory(prefix="ct-bundle-", dir=out) as tmp:
        folder = run_pyinstaller(Path(tmp), folder_name)
        # The uninstaller travels with the program (Add/Remove Programs runs it from there).
        uninstaller = "uninstall.ps1" if sys.platform == "win32" else "uninstall.sh"
        shutil.copy2(INSTALLERS[uninstaller], folder / uninstaller)
        partial = Path(tmp) / archive.name
        pack(folder, partial)
        os.replace(partial, archive)
    for name, source in INSTALLERS.items():
        shutil.copyfile(source, out / name)
    write_sums(out)
    return archive


def build_cached(cache: Path) -> Path:
    """The bundle for the current sources from CACHE, built there first when missing.

    Held under a lock: test files on other pytest-xdist workers wait for one build."""
    cache.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(cache / ".lock"):
        out = cache / source_hash()
        archive = out / archive_name()
        if (out / SUMS).exists() and archive.exists():
            return archive
        for old in cache.iterdir():  # bundles of earlier sources: not wanted again
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        return build(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder")
    parser.add_argument("--cache", type=Path, help="reuse a bundle of the same sources here")
    args = parser.parse_args(argv)
    archive = build_cached(args.cache) if args.cache else build(args.out)
    size = archive.stat().st_size / 2**20
    print(f"{archive.name}: {size:.1f} MiB")
    print(archive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
