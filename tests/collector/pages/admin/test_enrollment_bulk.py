"""The Enrollment page's downloads, install commands and bulk tokens, on both databases.

The bulk form answers a CSV download (never stored by a cache) or the page with every
wrong row named and nothing written; the install commands use CHATTER_PUBLIC_URL, else
the address the page was opened at.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import os
import re
from pathlib import Path
from typing import Any

import httpx

from collector.devices.install import install_commands
from tests.collector.devices.test_downloads import answered_within, unblock
from tests.collector.pages.admin.test_admin import ADMIN, Site, refused, site  # noqa: F401

BUNDLE = "chattertrack-agent-0.1.0-linux-x86_64.tar.gz"


def once(admin_site: Site, form: str) -> str:
    """The one-time value of the page's form number ``form`` (0: single token, 1: CSV, 2: pick)."""
    page = admin_site.admin.get("/admin/enrollment").text
    return re.findall(r'name="once" value="([^"]+)"', page)[form]


def upload(admin_site: Site, content: bytes, **fields: str) -> httpx.Response:
    data = {"csrf_token": admin_site.admin.token(), "source": "csv", "ttl": "72h", **fields}
    files = {"csv": ("chatters.csv", content, "text/csv")}
    return admin_site.admin.http.post("/admin/enrollment/bulk", data=data, files=files)


def pick(admin_site: Site, *keys: str, **fields: str) -> httpx.Response:
    data: dict[str, Any] = {
        "csrf_token": admin_site.admin.token(),
        "source": "pick",
        "ttl": "24h",
        "chatters": list(keys),
        **fields,
    }
    return admin_site.admin.http.post("/admin/enrollment/bulk", data=data)


def csv_rows(reply: httpx.Response) -> list[dict[str, str]]:
    assert reply.status_code == 200, reply.text[-2000:]
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.headers["cache-control"] == "private, no-store"
    assert re.fullmatch(
        r"attachment; filename=enrollment-tokens-\d{8}-\d{6}Z\.csv",
        reply.headers["content-disposition"],
    )
    return list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"), newline="")))


def test_picked_chatters_get_a_csv_of_tokens_shown_once(site: Site) -> None:  # noqa: F811
    reply = pick(site, "alice", "bob")

    rows = csv_rows(reply)
    assert [r["chatter"] for r in rows] == ["alice", "bob"]
    # The commands use the address the admin opened the page at.
    commands = install_commands("http://collector.test", rows[0]["token"])
    assert rows[0]["install_linux_macos"] == commands.unix_line
    assert rows[0]["install_windows"] == commands.windows_line
    assert site.last_audit() == (ADMIN, "enroll_tokens", "2 tokens")
    listing = site.admin.get("/admin/enrollment").text
    assert rows[0]["token"] not in listing and listing.count(">unused<") == 2
    for row in rows:
        enrolled = site.collector.http.post(
            "/api/v1/agents/enroll",
            json={
                "token": row["token"],
                "hostname": "pc",
                "platform": "Windows-11",
                "agent_version": "1",
            },
        )
        assert enrolled.status_code == 201


def test_an_uploaded_csv_with_a_bom_and_semicolons(site: Site) -> None:  # noqa: F811
    reply = upload(site, "\ufeffchatter;computer;ttl\r\nAlice;Büro 1;1h\r\nbob;=1+1;\r\n".encode())
    rows = csv_rows(reply)
    assert [(r["chatter"], r["computer"]) for r in rows] == [("alice", "Büro 1"), ("bob", "'=1+1")]
    assert site.value("SELECT count(*) FROM enrollment_tokens") == 2


def test_a_bad_csv_names_every_wrong_row_and_writes_nothing(site: Site) -> None:  # noqa: F811
    before = site.snapshot()
    reply = upload(site, b"chatter,computer\nalice,pc\nghost,pc\nalice,PC\nbob,\x00\n")
    assert reply.status_code == 400 and "text/html" in reply.headers["content-type"]
    page = html.unescape(reply.text)
    assert 'role="alert" id="bulk-error"' in reply.text
    assert "Nothing was created: 1 problem in the CSV." in page
    assert "Row 5: a NUL character, which is not text" in page
    reply = upload(site, b"chatter,computer\nalice,pc\nghost,pc\nalice,PC\n")
    page = html.unescape(reply.text)
    assert "Nothing was created: 2 problems in the CSV." in page
    assert "Row 3: no chatter 'ghost'" in page and "Row 4: repeats row 2" in page
    assert site.snapshot() == before


def test_bulk_form_errors(site: Site) -> None:  # noqa: F811
    for fields, status, message in (
        ({"source": "pick"}, 400, "pick at least one chatter"),
        ({"source": "pick", "chatters": ["ghost"]}, 400, "no chatter &#39;ghost&#39;"),
        ({"source": "pick", "chatters": ["alice"], "ttl": "90d"}, 400, "how long the tokens"),
        ({"source": "other"}, 400, "upload a CSV file or pick chatters"),
        ({"source": "csv"}, 400, "choose the CSV file"),
    ):
        before = site.snapshot()
        data = {"csrf_token": site.admin.token(), "ttl": "24h", **fields}
        reply = site.admin.http.post("/admin/enrollment/bulk", data=data)
        assert reply.status_code == status and message in reply.text, (fields, reply.text[-1500:])
        assert site.snapshot() == before
    big = upload(site, b"chatter\n" + b"alice\n" * 200_000)
    assert big.status_code == 400 and "split it" in big.text
    utf16 = upload(site, "chatter\nalice\n".encode("utf-16"))
    assert utf16.status_code == 400 and "UTF-16" in utf16.text


def test_a_repeated_bulk_form_makes_no_second_batch(site: Site) -> None:  # noqa: F811
    value = once(site, 2)
    assert csv_rows(pick(site, "alice", once=value))
    before = site.snapshot()
    again = pick(site, "alice", once=value)
    assert again.status_code == 409 and "already sent" in again.text
    assert site.snapshot() == before


def test_only_admins_make_bulk_tokens(site: Site) -> None:  # noqa: F811
    others = [site.client(email) for email in ("boss@agency.test", "alice@agency.test")]
    before = site.snapshot()  # after their logins, which the snapshot holds
    for other in others:
        data = {"csrf_token": other.token(), "source": "pick", "ttl": "24h", "chatters": "alice"}
        assert other.http.post("/admin/enrollment/bulk", data=data).status_code == 403
    stranger = site.client()
    data = {"csrf_token": stranger.token(), "source": "pick", "ttl": "24h", "chatters": "alice"}
    assert stranger.http.post("/admin/enrollment/bulk", data=data).status_code == 302
    no_csrf = site.admin.http.post(
        "/admin/enrollment/bulk", data={"source": "pick", "ttl": "24h", "chatters": "alice"}
    )
    assert no_csrf.status_code == 400
    assert site.snapshot() == before


def test_the_page_says_where_to_put_the_bundles(site: Site, tmp_path: Path) -> None:  # noqa: F811
    site.collector.app.config["AGENT_DOWNLOADS"] = str(tmp_path / "agent-downloads")
    page = html.unescape(site.admin.get("/admin/enrollment").text)
    assert "This server offers no agent downloads yet." in page
    assert (
        f"The folder {tmp_path / 'agent-downloads'} (CHATTER_AGENT_DOWNLOADS) does not exist"
        in re.sub(r"<[^>]+>", "", page)
    )
    assert "make agent-dist" in page

    site.collector.app.config["AGENT_DOWNLOADS"] = None
    page = site.admin.get("/admin/enrollment").text
    assert "Set <code>CHATTER_AGENT_DOWNLOADS</code> to a folder" in page


def test_the_page_offers_each_bundle_with_its_sum_and_commands(site: Site, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "dist"
    folder.mkdir()
    data = b"bundle bytes"
    (folder / BUNDLE).write_bytes(data)
    (folder / "install.sh").write_text("echo\n")
    (folder / "chattertrack-agent-linux.tar.gz").write_text("misnamed")
    app = site.collector.app
    app.config.update(AGENT_DOWNLOADS=str(folder), AGENT_DOWNLOADS_CACHE=str(tmp_path / "sums"))

    page = site.admin.get("/admin/enrollment").text
    text = html.unescape(page)
    assert f'href="/agent/downloads/{BUNDLE}"' in page
    assert hashlib.sha256(data).hexdigest() in page and "12 Bytes" in page
    assert "No macOS bundle here yet:" in text and "No Windows bundle here yet:" in text
    assert "install.ps1 is not in the folder yet" in text
    assert "chattertrack-agent-linux.tar.gz</code>: not a name that is served" in text
    commands = install_commands("http://collector.test")
    assert commands.unix in text and commands.windows in text
    assert "set <code>CHATTER_PUBLIC_URL</code>" in page

    app.config["PUBLIC_URL"] = "https://track.example-agency.com"
    text = html.unescape(site.admin.get("/admin/enrollment").text)
    assert install_commands("https://track.example-agency.com").unix in text
    assert "CHATTER_PUBLIC_URL" not in text
    # The page that shows a new token writes it into the token file first.
    reply = site.admin.post("/admin/enrollment", chatter="alice", ttl="24h")
    token = re.search(r'id="secret">([^<]+)<', reply.text)
    assert token
    shown = install_commands("https://track.example-agency.com", token.group(1))
    assert shown.unix in html.unescape(reply.text) and shown.windows in html.unescape(reply.text)


def test_a_pipe_under_a_served_name_is_listed_as_not_served(site: Site, tmp_path: Path) -> None:  # noqa: F811
    """Finding: the page read the folder and blocked forever opening a FIFO there."""
    folder = tmp_path / "dist"
    folder.mkdir()
    (folder / BUNDLE).write_bytes(b"bundle bytes")
    pipe = folder / "chattertrack-agent-0.2.0-linux-x86_64.tar.gz"
    os.mkfifo(pipe)
    app = site.collector.app
    app.config.update(AGENT_DOWNLOADS=str(folder), AGENT_DOWNLOADS_CACHE=str(tmp_path / "sums"))
    try:
        reply = answered_within(10, lambda: site.admin.get("/admin/enrollment"))
    finally:
        unblock(pipe)
    assert reply.status_code == 200
    text = html.unescape(reply.text)
    assert "1 file in the folder not served" in text
    assert f"{pipe.name}</code>: a named pipe (FIFO), not a regular file" in text
    assert f'href="/agent/downloads/{BUNDLE}"' in reply.text
    assert f'href="/agent/downloads/{pipe.name}"' not in reply.text
