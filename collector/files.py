"""Files the collector writes for people (backups, a chatter's export): personal data.

Each is written whole or not at all (a temporary file beside it, renamed at the end),
readable by its owner only (0600, as ``mkstemp`` creates it), and never replaces an
existing file unless asked to.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from collector.errors import DomainError


def check_target(target: Path, force: bool) -> None:
    """Refuse a target that is a directory, exists (without ``force``) or has no folder."""
    if target.is_dir():
        raise DomainError(f"{target} is a directory: name the file")
    if target.exists() and not force:
        raise DomainError(f"{target} exists: choose a new name or pass --force to replace it")
    if not target.parent.is_dir():
        raise DomainError(f"cannot write {target}: {target.parent} is not a directory")


@contextlib.contextmanager
def private_file(target: Path) -> Iterator[Path]:
    """A temporary 0600 file beside ``target`` that becomes it only if the block succeeds."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    except OSError as exc:
        raise DomainError(f"cannot write {target}: {exc.strerror}; nothing written") from None
    os.close(fd)
    partial = Path(name)
    try:
        yield partial
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise DomainError(f"cannot write {target}: {exc}; nothing written") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
