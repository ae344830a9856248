"""The install commands: what the shell will run is what was meant, the README shows the
same commands, and CHATTER_PUBLIC_URL takes only an address safe to paste into them."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from collector.config import public_url
from collector.devices.install import install_commands, powershell_quoted
from collector.errors import DomainError

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_commands_without_a_token_are_the_readmes() -> None:
    commands = install_commands("https://track.example.com")
    readme = README.read_text(encoding="utf-8")
    assert commands.unix in readme
    for line in commands.windows.splitlines():
        assert line in readme, line
    assert commands.unix == (
        "curl -fsSL https://track.example.com/agent/install.sh | bash -s -- "
        "--server https://track.example.com --token-file ~/chattertrack-token.txt"
    )


def test_bash_reads_the_token_line_as_meant(tmp_path: Path) -> None:
    token = "cte_AbC-123_xyz"
    first = install_commands("https://x.test", token).unix.splitlines()[0]
    # Run the line with HOME in a temporary folder: the file holds the token, mode 0600.
    subprocess.run(["bash", "-c", first], env={"HOME": str(tmp_path)}, check=True)
    written = tmp_path / "chattertrack-token.txt"
    assert written.read_text() == token + "\n"
    assert written.stat().st_mode & 0o777 == 0o600


def test_the_windows_token_file_is_the_administrators_own_and_deleted_after_use() -> None:
    """Not C:\\ProgramData, where every user could read it and nothing deleted it: the
    elevated administrator's own temporary folder, which install.ps1 empties of it."""
    lines = install_commands("https://x.test", "cte_x").windows.splitlines()
    token_file = '"$env:TEMP\\chattertrack-token.txt"'
    assert lines[0] == f"Set-Content -Path {token_file} -Value 'cte_x'"
    assert lines[-1].endswith(f"-Server https://x.test -TokenFile {token_file}")
    assert "ProgramData" not in "\n".join(lines)
    script = (README.parent / "agent" / "install" / "windows" / "install.ps1").read_text()
    assert "Remove-Item -LiteralPath $given -Force" in script


def test_an_address_with_odd_characters_stays_one_argument() -> None:
    server = "http://host:8765/it's here"
    unix = install_commands(server).unix
    words = shlex.split(unix)
    assert words[2] == server + "/agent/install.sh"
    assert words[words.index("--server") + 1] == server
    assert powershell_quoted(server) == "'http://host:8765/it''s here'"
    assert powershell_quoted("https://x.test:8765/a") == "https://x.test:8765/a"
    assert powershell_quoted("-x") == "'-x'"
    windows = install_commands(server, "cte_x").windows
    assert "-Server 'http://host:8765/it''s here'" in windows and "-Value 'cte_x'" in windows


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("", ""),
        ("https://track.example.com/", "https://track.example.com"),
        ("  http://10.0.0.5:8765 ", "http://10.0.0.5:8765"),
        ("https://example.com/chattertrack/", "https://example.com/chattertrack"),
        ("http://[::1]:8765", "http://[::1]:8765"),
    ],
)
def test_public_url_accepts_addresses(given: str, kept: str) -> None:
    assert public_url(given) == kept


@pytest.mark.parametrize(
    "given",
    [
        "track.example.com",
        "ftp://track.example.com",
        "https://",
        "https://user:pw@track.example.com",
        "https://track.example.com/?x=1",
        "https://track.example.com/#top",
        "https://track.example.com/a b",
        "https://track.example.com/$(reboot)",
        "https://track.example.com/'x'",
        "https://track.example.com:http",
        "https://track.example.com:99999",
        "https://trаck.example.com",  # a Cyrillic "а"
    ],
)
def test_public_url_refuses_what_is_no_plain_address(given: str) -> None:
    with pytest.raises(DomainError, match="CHATTER_PUBLIC_URL"):
        public_url(given)
