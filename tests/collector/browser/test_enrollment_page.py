"""The Enrollment page in real Chromium, at laptop and phone widths: the agent downloads
with their sums, the install commands copied to the clipboard, bulk tokens downloaded as
a CSV that Python's csv module reads back and whose tokens enroll.

The collector is a real server (waitress) serving a downloads folder the way
``make run`` serves ``dist/``; a raw socket checks what a client that does not tidy
its paths (curl --path-as-is) gets.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from collector.devices.install import install_commands
from tests.collector.browser.conftest import (
    LiveCollector,
    Recorded,
    serving,
)
from tests.collector.browser.test_admin_pages import log_in_as_admin, top_bar

BUNDLE = "chattertrack-agent-0.1.0-linux-x86_64.tar.gz"
WINDOWS = "chattertrack-agent-0.1.0-windows-x86_64.zip"
SECRET = b"outside the downloads folder\n"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What make agent-dist and IT put in the folder."""
    root = tmp_path_factory.mktemp("agent-dist")
    (root / "secret.txt").write_bytes(SECRET)
    folder = root / "dist"
    folder.mkdir()
    (folder / BUNDLE).write_bytes(os.urandom(1 << 20))
    (folder / WINDOWS).write_bytes(b"PK\x03\x04" + os.urandom(4096))
    (folder / "install.sh").write_text("#!/usr/bin/env bash\necho install\n")
    (folder / "install.ps1").write_text("Write-Host install\r\n")
    (folder / "uninstall.sh").symlink_to(root / "secret.txt")  # out of the folder
    return folder


@pytest.fixture(scope="module")
def live(
    demo_database: Path, dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveCollector]:
    """A server of this module's own: it makes tokens and enrolls devices."""
    workdir = tmp_path_factory.mktemp("live-enrollment")
    env = {
        "CHATTER_AGENT_DOWNLOADS": str(dist),
        "CHATTER_AGENT_DOWNLOADS_CACHE": str(workdir / "sums"),
    }
    with serving(demo_database, workdir, env) as server:
        yield server


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def clipboard_after(page: Page, button: str) -> str:
    page.get_by_role("button", name=button).click()
    return str(page.evaluate("navigator.clipboard.readText()"))


def downloaded_csv(page: Page, button: str) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.get_by_role("button", name=button).click()
    download = info.value
    assert re.fullmatch(r"enrollment-tokens-\d{8}-\d{6}Z\.csv", download.suggested_filename)
    data = Path(download.path()).read_bytes()
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def enrolls(live: LiveCollector, token: str) -> bool:
    reply = httpx.post(
        live.url + "/api/v1/agents/enroll",
        json={"token": token, "hostname": "it-prepared", "platform": "Linux", "agent_version": "1"},
    )
    return reply.status_code == 201


def token_rows(page: Page) -> int:
    return page.locator("section[aria-labelledby=tokens-title] tbody tr").count()


def test_it_downloads_copies_commands_and_makes_bulk_tokens(
    live: LiveCollector, dist: Path, tab: Recorded
) -> None:
    page = tab.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    log_in_as_admin(page, live.url)
    top_bar(page, "Enrollment")

    # Each bundle with its version, size and sum; the link out of the folder is named.
    row = page.get_by_role("row").filter(has_text=BUNDLE)
    expect(row).to_contain_text("Linux")
    expect(row).to_contain_text("0.1.0")
    expect(row).to_contain_text("latest")
    expect(row).to_contain_text("1.0 MB")
    expect(row).to_contain_text(sha((dist / BUNDLE).read_bytes()))
    expect(page.get_by_role("row").filter(has_text=WINDOWS)).to_contain_text("Windows")
    expect(page.locator("#downloads")).to_contain_text("No macOS bundle here yet:")
    expect(page.locator("#downloads")).to_contain_text("uninstall.sh: not a file inside the folder")
    with page.expect_download() as info:
        row.get_by_role("link", name=BUNDLE).click()
    assert Path(info.value.path()).read_bytes() == (dist / BUNDLE).read_bytes()

    # The commands, exactly as IT pastes them, for this server's address.
    commands = install_commands(live.url)
    assert clipboard_after(page, "Copy the Linux and macOS command") == commands.unix
    expect(page.locator("#cmd-unix-status")).to_have_text("Copied to the clipboard.")
    assert clipboard_after(page, "Copy the Windows command") == commands.windows
    # What the Linux command fetches first, as curl does: no login.
    script = httpx.get(live.url + "/agent/install.sh")
    assert script.content == (dist / "install.sh").read_bytes()
    assert script.headers["x-checksum-sha256"] == sha(script.content)
    tab.screenshot("admin-enrollment-downloads")

    # Bulk: two chatters picked, one CSV downloaded, both tokens enroll.
    before = token_rows(page)
    page.get_by_role("checkbox", name=re.compile("Alex Moreau")).check()
    page.get_by_role("checkbox", name=re.compile("Bea Santos")).check()
    rows = downloaded_csv(page, "Make tokens for those picked")
    assert [r["chatter"] for r in rows] == ["alex", "bea"]
    assert rows[0]["install_linux_macos"] == install_commands(live.url, rows[0]["token"]).unix_line
    assert all(enrolls(live, r["token"]) for r in rows)

    # A bad CSV: every wrong row named on the page, nothing made.
    page.reload()
    made = token_rows(page)
    assert made == before + 2
    page.get_by_label("CSV file", exact=True).set_input_files(
        {"name": "chatters.csv", "mimeType": "text/csv", "buffer": b"chatter\nalex\nghost\nalex\n"}
    )
    page.get_by_role("button", name="Make tokens from the file").click()
    alert = page.locator("#bulk-error")
    expect(alert).to_contain_text("Nothing was created: 2 problems in the CSV.")
    expect(alert).to_contain_text("Row 3: no chatter 'ghost'")
    expect(alert).to_contain_text("Row 4: repeats row 2")
    assert token_rows(page) == made

    # Excel's CSV from a European locale: BOM, semicolons, a label that looks like a formula.
    excel = '\ufeffChatter;Computer\r\nChen Wei;=HYPERLINK("x")\r\ndana;Büro 2\r\n'.encode()
    page.get_by_label("CSV file", exact=True).set_input_files(
        {"name": "chatters.csv", "mimeType": "text/csv", "buffer": excel}
    )
    rows = downloaded_csv(page, "Make tokens from the file")
    assert [(r["chatter"], r["computer"]) for r in rows] == [
        ("chen", '\'=HYPERLINK("x")'),
        ("dana", "Büro 2"),
    ]
    assert all(enrolls(live, r["token"]) for r in rows)
    assert tab.off_origin(live.url) == []


def test_the_page_on_a_phone(live: LiveCollector, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
        log_in_as_admin(page, live.url)
        page.goto(live.url + "/admin/enrollment")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px phone"
        for block in ("#cmd-unix", "#cmd-windows"):
            box = page.locator(block).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        button = page.get_by_role("button", name="Copy the Windows command")
        button.scroll_into_view_if_needed()
        expect(button).to_be_visible()
        assert (
            clipboard_after(page, "Copy the Windows command") == install_commands(live.url).windows
        )
        page.get_by_role("checkbox", name=re.compile("Eli Okafor")).check()
        rows = downloaded_csv(page, "Make tokens for those picked")
        assert [r["chatter"] for r in rows] == ["eli"]
        shot = Recorded(page).screenshot("phone-admin-enrollment")
        assert shot.stat().st_size > 0
    finally:
        context.close()
    assert errors == []


def test_a_token_made_on_the_page_comes_with_its_commands(
    live: LiveCollector, tab: Recorded
) -> None:
    page = tab.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    log_in_as_admin(page, live.url)
    page.goto(live.url + "/admin/enrollment")
    page.get_by_label("Chatter", exact=True).select_option("fran")
    page.get_by_role("button", name="Create token").click()
    token = page.locator(".secret").inner_text().strip()
    commands = install_commands(live.url, token)
    assert clipboard_after(page, "Copy the Linux and macOS commands") == commands.unix
    assert clipboard_after(page, "Copy the Windows commands") == commands.windows
    assert commands.unix.splitlines()[0].endswith(f"'{token}' > ~/chattertrack-token.txt)")


def raw_get(url: str, path: str) -> tuple[int, bytes]:
    """A GET with the path sent exactly as written (what curl --path-as-is does)."""
    where = urlsplit(url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer


@pytest.mark.parametrize(
    "path",
    [
        "/agent/downloads/../../secret.txt",
        "/agent/downloads/..%2f..%2fsecret.txt",
        "/agent/downloads/%2e%2e/secret.txt",
        "/agent/downloads/..%5csecret.txt",
        "/agent/downloads/uninstall.sh",
        "/agent/downloads/",
    ],
)
def test_paths_out_of_the_folder_reach_nothing(live: LiveCollector, path: str) -> None:
    status, answer = raw_get(live.url, path)
    assert status == 404, answer[:300]
    assert SECRET not in answer and b"application/json" in answer


def test_without_bundles_the_page_says_how_to_get_them(
    demo_database: Path, tmp_path: Path, tab: Recorded
) -> None:
    env = {"CHATTER_AGENT_DOWNLOADS": str(tmp_path / "dist")}
    with serving(demo_database, tmp_path, env) as bare:
        page = tab.page
        log_in_as_admin(page, bare.url)
        page.goto(bare.url + "/admin/enrollment")
        missing = page.locator("#downloads-missing")
        expect(missing).to_contain_text("This server offers no agent downloads yet.")
        expect(missing).to_contain_text(f"The folder {tmp_path / 'dist'}")
        expect(missing).to_contain_text("make agent-dist")
        reply = httpx.get(bare.url + "/agent/downloads/SHA256SUMS")
        assert reply.status_code == 404
        assert reply.json()["error"] == "agent_downloads_unavailable"
