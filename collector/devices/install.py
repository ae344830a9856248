"""The commands IT pastes on a chatter's computer to install and enroll the agent.

One place writes them, for the Enrollment page, the page that shows a new token and
the bulk enrollment CSV.  The installers take the enrollment token from a file, never
from the command line; with a token at hand the commands first write it to that file.

- Linux and macOS, in a terminal as the chatter: the installer comes from the
  collector, which then serves it the bundle (checked against ``SHA256SUMS``).
- Windows, in PowerShell run as administrator: a per-machine install.  Windows
  PowerShell 5.1 may still offer only TLS 1.0 unless told, hence the first line.  The
  token file goes in the administrator's own temporary folder (their profile: no other
  user may read it, unlike ``C:\\ProgramData``), and install.ps1 deletes it once it has
  copied the token into its protected place.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

UNIX_TOKEN_FILE = "~/chattertrack-token.txt"
WINDOWS_TOKEN_FILE = r'"$env:TEMP\chattertrack-token.txt"'
WINDOWS_SCRIPT = r'"$env:TEMP\chattertrack-install.ps1"'

_PLAIN = re.compile(r"[A-Za-z0-9_.:/%~+-]+")


@dataclass(frozen=True)
class InstallCommands:
    unix: str  # Linux and macOS
    windows: str  # elevated PowerShell

    # The same commands on one line, for a spreadsheet cell: Excel copies a cell that
    # holds several lines wrapped in quotes (its inner quotes doubled), which no shell
    # reads as meant; a one-line cell is copied as it is, ready to paste.
    @property
    def unix_line(self) -> str:
        """Each command runs only if the one before it succeeded: no install without the
        token file."""
        return " && ".join(self.unix.splitlines())

    @property
    def windows_line(self) -> str:
        """Windows PowerShell 5.1 has no ``&&``: the statements one after the other."""
        return "; ".join(self.windows.splitlines())


def powershell_quoted(value: str, *, always: bool = False) -> str:
    """``value`` as one PowerShell argument: bare when plain, else single-quoted."""
    if not always and _PLAIN.fullmatch(value) and not value.startswith("-"):
        return value
    return "'" + value.replace("'", "''") + "'"


def shell_quoted(value: str) -> str:
    """``value`` as one POSIX shell word, always in single quotes (a token reads as one)."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def install_commands(server: str, token: str | None = None) -> InstallCommands:
    """The commands for a collector at ``server`` (no trailing slash), with ``token``
    written to the token file first when given."""
    unix_server = shlex.quote(server)
    ps_server = powershell_quoted(server)
    ps_script_url = powershell_quoted(server + "/agent/install.ps1")
    unix = [
        f"curl -fsSL {shlex.quote(server + '/agent/install.sh')} | bash -s -- "
        f"--server {unix_server} --token-file {UNIX_TOKEN_FILE}"
    ]
    windows = [
        "[Net.ServicePointManager]::SecurityProtocol = "
        "[Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12",
        f"Invoke-WebRequest -UseBasicParsing -Uri {ps_script_url} -OutFile {WINDOWS_SCRIPT}",
        f"powershell -NoProfile -ExecutionPolicy Bypass -File {WINDOWS_SCRIPT}"
        f" -Server {ps_server} -TokenFile {WINDOWS_TOKEN_FILE}",
    ]
    if token is not None:
        unix.insert(0, f"(umask 077 && printf '%s\\n' {shell_quoted(token)} > {UNIX_TOKEN_FILE})")
        windows.insert(
            0,
            f"Set-Content -Path {WINDOWS_TOKEN_FILE} "
            f"-Value {powershell_quoted(token, always=True)}",
        )
    return InstallCommands("\n".join(unix), "\n".join(windows))
