"""The agent bundles and install scripts the collector hands to chatters' computers.

IT puts them in one folder (``CHATTER_AGENT_DOWNLOADS``; ``make agent-dist`` fills
``dist/`` with the Linux bundle and the scripts).  Only names of the forms below are
served, each a regular file inside the folder (a symbolic link may point elsewhere in
it, never out of it; a named pipe, socket or device is never opened: opening a pipe waits
for a writer, forever); anything else there is ignored, and nothing lists the folder
but the SHA-256 sums of what is served (``SHA256SUMS``, in ``sha256sum`` format), which
the install scripts check a bundle against before they unpack it.

A sum is computed once per version of a file, (device, inode, size, mtime): a bundle is
tens of megabytes and every collector process answers downloads.  The sums are kept in
the process and in a small cache directory shared by the processes of the host (0700,
ours alone, checked before use; without it each process hashes a version once).  A file
that changes while it is hashed is refused for a moment (503): copy a new bundle in
under a name starting with a dot and rename it, which is atomic.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from collector.errors import ApiError

log = logging.getLogger(__name__)

SCRIPTS = ("install.sh", "uninstall.sh", "install.ps1", "uninstall.ps1")
# chattertrack-agent-0.1.0-linux-x86_64.tar.gz: a version without "-", then OS and CPU.
BUNDLE = re.compile(
    r"chattertrack-agent-(?P<version>[0-9][0-9A-Za-z.+]{0,39})"
    r"-(?P<os>linux|macos|windows)-(?P<arch>x86_64|arm64|aarch64)\.(?P<ext>tar\.gz|zip)"
)
SUMS = "SHA256SUMS"
OS_NAMES = {"linux": "Linux", "macos": "macOS", "windows": "Windows"}
CONTENT_TYPES = {
    "tar.gz": "application/gzip",
    "zip": "application/zip",
    # Scripts are UTF-8 text, shown by a browser (collector.api.downloads).
    "sh": "text/plain; charset=utf-8",
    "ps1": "text/plain; charset=utf-8",
}
_CHUNK = 1 << 20

NOT_SET_UP = (
    "this server offers no agent downloads yet: an admin puts the agent bundles and "
    "install scripts in the folder named by CHATTER_AGENT_DOWNLOADS "
    "(the admin Enrollment page says where)"
)


@dataclass(frozen=True)
class Version:
    """One version of a file's content, as the file system tells it apart."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, info: os.stat_result) -> Version:
        return cls(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


@dataclass(frozen=True)
class AgentFile:
    name: str
    size: int
    sha256: str
    mtime: float
    content_type: str
    kind: str  # bundle | script
    os: str = ""  # linux | macos | windows (bundles)
    arch: str = ""
    version: str = ""

    @property
    def os_name(self) -> str:
        return OS_NAMES.get(self.os, "")


@dataclass(frozen=True)
class Folder:
    """What the folder offers, and the files in it that look meant but are not served."""

    path: Path | None
    problem: str  # "" | not_set | missing | not_a_folder | unreadable | empty
    files: list[AgentFile]
    ignored: list[tuple[str, str]]  # (name, why)
    changing: list[ApiError] = field(default_factory=list)  # being written: ask again

    @property
    def bundles(self) -> list[AgentFile]:
        """Newest first within each OS and CPU."""
        found = [f for f in self.files if f.kind == "bundle"]
        found.sort(key=lambda f: version_key(f.version), reverse=True)
        found.sort(key=lambda f: (list(OS_NAMES).index(f.os), f.arch))
        return found

    @property
    def scripts(self) -> dict[str, AgentFile]:
        return {f.name: f for f in self.files if f.kind == "script"}

    def latest(self) -> set[str]:
        """The names of the newest bundle of each OS and CPU."""
        seen: dict[tuple[str, str], str] = {}
        for bundle in self.bundles:
            seen.setdefault((bundle.os, bundle.arch), bundle.name)
        return set(seen.values())


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """0.10.0 after 0.9.1, 1.0.0rc1 before 1.0.0 (letters mark a pre-release)."""
    pieces: list[tuple[int, int | str]] = [
        (0, int(p)) if p.isdigit() else (-1, p) for p in re.findall(r"\d+|[A-Za-z]+", version)
    ]
    return (*pieces, (0, 0))


def kind_of(name: str) -> dict[str, str] | None:
    """The name's kind and parts when it is one we serve, else None."""
    if name in SCRIPTS:
        return {"kind": "script", "ext": name.rpartition(".")[2]}
    match = BUNDLE.fullmatch(name)
    if match is None:
        return None
    return {"kind": "bundle", **match.groupdict()}


class Sha256Cache:
    """SHA-256 sums by file version: in this process, and in a directory all share."""

    def __init__(self, directory: Path | None) -> None:
        self._memory: dict[tuple[str, Version], str] = {}
        self._lock = threading.Lock()
        self._directory = directory
        self._checked = False
        self.computed = 0  # how many times this process hashed a file (tests, logs)

    def _usable_directory(self) -> Path | None:
        if self._checked or self._directory is None:
            return self._directory
        self._checked = True
        directory = self._directory
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(directory)
            ours = not hasattr(os, "geteuid") or info.st_uid == os.geteuid()
            if not stat.S_ISDIR(info.st_mode) or not ours or info.st_mode & 0o022:
                raise PermissionError("not a directory of ours that only we can write")
        except OSError as exc:
            log.warning("agent download sums kept in memory only: %s: %s", directory, exc)
            self._directory = None
        return self._directory

    def _entry(self, directory: Path, real: Path, version: Version) -> Path:
        key = f"{real}\0{version.device}\0{version.inode}\0{version.size}\0{version.mtime_ns}"
        return directory / hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()

    def _read(self, real: Path, version: Version) -> str | None:
        directory = self._usable_directory()
        if directory is None:
            return None
        opened = _open_regular(self._entry(directory, real, version))
        if opened is None:
            return None
        fd, _info = opened
        try:
            with os.fdopen(fd, "rb") as handle:
                value = handle.read(100).decode("ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return value if re.fullmatch(r"[0-9a-f]{64}", value) else None

    def _write(self, real: Path, version: Version, digest: str) -> None:
        directory = self._usable_directory()
        if directory is None:
            return
        try:
            fd, partial = tempfile.mkstemp(dir=directory, prefix=".", suffix=".partial")
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(digest + "\n")
            os.replace(partial, self._entry(directory, real, version))
        except OSError as exc:  # a full disk: the sum is still kept in memory
            log.warning("cannot keep an agent download sum in %s: %s", directory, exc)

    def digest(self, real: Path, handle: BinaryIO, version: Version) -> str:
        """The SHA-256 of the open file ``handle`` (``real``), whose fstat gave ``version``."""
        key = (str(real), version)
        with self._lock:
            known = self._memory.get(key)
        if known is None:
            known = self._read(real, version)
        if known is None:
            known = _hash(real, handle, version)
            self.computed += 1
            self._write(real, version, known)
        with self._lock:
            self._memory[key] = known
        return known


def _hash(real: Path, handle: BinaryIO, version: Version) -> str:
    handle.seek(0)
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    handle.seek(0)
    if Version.of(os.fstat(handle.fileno())) != version or not _same(real, version):
        raise ApiError(
            503,
            "download_changing",
            f"{real.name} is being written right now; try again in a minute",
            headers={"Retry-After": "30"},
        )
    return digest.hexdigest()


def _same(real: Path, version: Version) -> bool:
    """The name still leads to that version (it was not replaced while we read)."""
    try:
        return Version.of(os.stat(real)) == version
    except OSError:
        return False


def _folder(configured: str | Path | None) -> tuple[Path | None, str]:
    if not configured:
        return None, "not_set"
    path = Path(configured).expanduser()
    try:
        if not path.exists():
            return path, "missing"
        if not path.is_dir():
            return path, "not_a_folder"
        return path.resolve(strict=True), ""
    except OSError:
        return path, "unreadable"


def _inside(folder: Path, name: str) -> Path | None:
    """The real path of ``name`` in ``folder`` if it leads inside it (of any file type)."""
    try:
        real = (folder / name).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a loop of links
        return None
    if real.parent != folder and folder not in real.parents:
        return None
    return real


def not_regular(path: Path) -> str:
    """Why ``path`` (a real path, no link left) is not a regular file, in words; "" if it is.

    Only regular files are opened: opening a named pipe waits for a writer, forever, and a
    device may do anything when opened, so one under a served name would hang or harm
    every request that reads the folder."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "cannot be read"
    if stat.S_ISREG(mode):
        return ""
    for test, what in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return f"{what}, not a regular file"
    return "not a regular file"


def _open_regular(path: Path) -> tuple[int, os.stat_result] | None:
    """``path`` open for reading with its fstat, if it is a regular file; else None.

    Checked before the open, and again on what was opened: O_NONBLOCK makes opening a
    named pipe put there in between return at once (instead of waiting for a writer), and
    O_NOFOLLOW refuses a link put there in between."""
    if not_regular(path):
        return None
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            return None
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)  # a regular file: reads as usual from here on
    except OSError:
        os.close(fd)
        return None
    return fd, info


def open_file(
    configured: str | Path | None, name: str, cache: Sha256Cache
) -> tuple[AgentFile, BinaryIO]:
    """The file ``name`` of the folder, open (the caller closes it), with its details;
    404 for any name that is not served."""
    folder, problem = _folder(configured)
    if problem or folder is None:
        raise ApiError(404, "agent_downloads_unavailable", NOT_SET_UP)
    parts = kind_of(name)
    real = _inside(folder, name) if parts is not None else None
    shown = name if len(name) <= 100 else name[:99] + "…"
    missing = ApiError(
        404, "not_found", f"no agent download named {shown!r}: see {SUMS} for the files offered"
    )
    if parts is None or real is None:
        raise missing
    # Only a regular file: a named pipe, a device or a folder under a served name is not
    # served (the Enrollment page says why, from not_regular).
    opened = _open_regular(real)
    if opened is None:
        raise missing
    fd, info = opened
    handle = os.fdopen(fd, "rb")
    try:
        version = Version.of(info)
        found = AgentFile(
            name=name,
            size=info.st_size,
            sha256=cache.digest(real, handle, version),
            mtime=info.st_mtime,
            content_type=CONTENT_TYPES[parts["ext"]],
            kind=parts["kind"],
            os=parts.get("os", ""),
            arch=parts.get("arch", ""),
            version=parts.get("version", ""),
        )
    except BaseException:
        handle.close()
        raise
    return found, handle


def cache_directory(configured: str | Path | None) -> Path:
    """Where the sums are kept across processes: as configured, else one directory per
    user in the temporary directory (systemd's PrivateTmp keeps it the service's)."""
    if configured:
        return Path(configured)
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"chattertrack-download-sums-{user}"


def _looks_meant(name: str) -> bool:
    """A name IT probably meant to serve (a misnamed bundle or script), worth a word."""
    return name.startswith("chattertrack-agent") or name.endswith((".sh", ".ps1"))


def folder(configured: str | Path | None, cache: Sha256Cache) -> Folder:
    """Every file the folder serves, with its sum; and why a meant-looking one is not."""
    path, problem = _folder(configured)
    if problem or path is None:
        return Folder(path, problem, [], [])
    try:
        names = sorted(entry.name for entry in os.scandir(path))
    except OSError:
        return Folder(path, "unreadable", [], [])
    files: list[AgentFile] = []
    ignored: list[tuple[str, str]] = []
    changing: list[ApiError] = []
    for name in names:
        if name.startswith("."):
            continue  # a copy in progress, or the folder's own housekeeping
        if kind_of(name) is None:
            if _looks_meant(name):
                ignored.append((name, "not a name that is served (see the README)"))
            continue
        real = _inside(path, name)
        if real is None:
            ignored.append((name, "not a file inside the folder (a link out of it?)"))
            continue
        if why := not_regular(real):
            ignored.append((name, why))
            continue
        try:
            found, handle = open_file(path, name, cache)
        except ApiError as exc:
            ignored.append((name, exc.message))
            if exc.status == 503:
                changing.append(exc)
            continue
        handle.close()
        files.append(found)
    return Folder(path, "" if files else "empty", files, ignored, changing)


def sums(found: Folder) -> str:
    """``SHA256SUMS``: what ``sha256sum`` prints for the files served (two spaces)."""
    if found.changing:
        raise found.changing[0]  # a list without it would send installers astray
    if found.problem:
        raise ApiError(404, "agent_downloads_unavailable", NOT_SET_UP)
    return "".join(f"{f.sha256}  {f.name}\n" for f in found.files)
