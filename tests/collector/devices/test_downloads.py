"""The agent downloads: only the bundles and scripts of the folder, with their true sums.

The sums are checked against hashlib, computed once per version of a file (in a process
and across processes), and computed again when a file changes.  Nothing outside the
folder is reachable: not by ``..``, not by a link out of it, not by a name that is not
served; there is no listing but SHA256SUMS.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from werkzeug.test import Client as RawClient

from collector import create_app
from collector.devices import downloads

BUNDLE = "chattertrack-agent-0.1.0-linux-x86_64.tar.gz"
OLDER = "chattertrack-agent-0.0.9-linux-x86_64.tar.gz"
WINDOWS = "chattertrack-agent-0.1.0-windows-x86_64.zip"
MAC = "chattertrack-agent-0.1.0-macos-arm64.tar.gz"
SECRET = b"the collector's own secret, outside the folder\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A downloads folder as make agent-dist and IT fill it, plus things never served."""
    served = tmp_path / "dist"
    served.mkdir()
    (served / BUNDLE).write_bytes(os.urandom(3 << 20))  # several read chunks
    (served / OLDER).write_bytes(b"older bundle")
    (served / WINDOWS).write_bytes(b"PK\x03\x04 windows bundle")
    (served / "install.sh").write_text("#!/usr/bin/env bash\necho install\n")
    (served / "uninstall.sh").write_text("#!/usr/bin/env bash\necho uninstall\n")
    (served / "install.ps1").write_text("Write-Host install\r\n")
    # Never served: other files, a wheel and sdist that python -m build also puts in dist/,
    # a link out of the folder under a served name, a folder under a served name.
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (served / "notes.txt").write_text("IT's notes")
    (served / "chattertrack-0.1.0-py3-none-any.whl").write_bytes(b"wheel")
    (served / "chattertrack-0.1.0.tar.gz").write_bytes(b"sdist")
    (served / "uninstall.ps1").symlink_to(tmp_path / "secret.txt")
    (served / MAC).mkdir()
    return served


def make_app(tmp_path: Path, downloads_folder: Path | str | None, **extra: Any) -> Flask:
    config: dict[str, Any] = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",  # the downloads read none
        "TESTING": True,
        "AGENT_DOWNLOADS": str(downloads_folder) if downloads_folder else None,
        "AGENT_DOWNLOADS_CACHE": str(tmp_path / "sums-cache"),
        **extra,
    }
    return create_app(config)


@pytest.fixture
def app(tmp_path: Path, folder: Path) -> Flask:
    return make_app(tmp_path, folder)


@pytest.fixture
def http(app: Flask) -> Iterator[httpx.Client]:
    """A stranger: no login, no token (as curl on a chatter's computer)."""
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://c.test") as client:
        yield client


def computed(app: Flask) -> int:
    cache: downloads.Sha256Cache = app.extensions["chattertrack.download_sums"]
    return cache.computed


def served_files(folder: Path) -> dict[str, bytes]:
    names = [BUNDLE, OLDER, WINDOWS, "install.sh", "uninstall.sh", "install.ps1"]
    return {name: (folder / name).read_bytes() for name in names}


def test_sha256sums_lists_every_served_file_with_hashlibs_sum(
    http: httpx.Client, folder: Path
) -> None:
    reply = http.get("/agent/downloads/SHA256SUMS")

    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.headers["cache-control"] == "no-cache"
    expected = "".join(
        f"{sha(data)}  {name}\n" for name, data in sorted(served_files(folder).items())
    )
    assert reply.text == expected
    # sha256sum itself agrees: the file is in its format.
    check = subprocess.run(
        ["sha256sum", "--check", "--strict", "-"],
        input=reply.content,
        cwd=folder,
        capture_output=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    again = http.get(
        "/agent/downloads/SHA256SUMS", headers={"If-None-Match": reply.headers["etag"]}
    )
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        (BUNDLE, "application/gzip"),
        (WINDOWS, "application/zip"),
        ("install.sh", "text/plain; charset=utf-8"),
        ("install.ps1", "text/plain; charset=utf-8"),
        ("uninstall.sh", "text/plain; charset=utf-8"),
    ],
)
def test_a_file_comes_with_its_type_length_and_sum(
    http: httpx.Client, folder: Path, name: str, content_type: str
) -> None:
    data = (folder / name).read_bytes()

    reply = http.get(f"/agent/downloads/{name}")

    assert reply.status_code == 200
    assert reply.content == data
    assert reply.headers["content-type"] == content_type
    assert reply.headers["content-length"] == str(len(data))
    assert reply.headers["etag"] == f'"{sha(data)}"'
    assert reply.headers["x-checksum-sha256"] == sha(data)
    disposition = "attachment" if name.startswith("chattertrack-agent") else "inline"
    assert reply.headers["content-disposition"] == f"{disposition}; filename={name}"
    assert reply.headers["cache-control"] == "no-cache"
    head = http.head(f"/agent/downloads/{name}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(data))
    unchanged = http.get(f"/agent/downloads/{name}", headers={"If-None-Match": f'"{sha(data)}"'})
    assert unchanged.status_code == 304 and unchanged.content == b""
    # curl -C - resumes a cut download.
    rest = http.get(f"/agent/downloads/{name}", headers={"Range": "bytes=5-"})
    assert rest.status_code == 206 and rest.content == data[5:]


def test_the_short_install_urls_are_the_scripts(http: httpx.Client) -> None:
    for script in ("install.sh", "install.ps1"):
        short = http.get(f"/agent/{script}")
        full = http.get(f"/agent/downloads/{script}")
        assert short.status_code == full.status_code == 200
        assert short.content == full.content
        for header in ("content-type", "content-length", "etag", "x-checksum-sha256"):
            assert short.headers[header] == full.headers[header], header


def test_only_the_downloads_are_open_to_strangers(http: httpx.Client) -> None:
    assert http.get("/admin/enrollment").status_code == 302  # to the login form
    assert http.get("/api/v1/devices").status_code == 401
    assert http.get("/stats").status_code == 302


def nothing_there(reply: Any, code: str = "not_found") -> dict[str, Any]:
    """A 404 in the API's JSON shape, never the secret, never kept by a cache."""
    assert reply.status_code == 404, (reply.status_code, reply.data[:200])
    assert reply.headers["Content-Type"] == "application/json"
    assert SECRET not in reply.data
    assert "no-store" in reply.headers["Cache-Control"]
    body: dict[str, Any] = json.loads(reply.data)
    assert body["error"] == code, body
    return body


@pytest.mark.parametrize(
    "path",
    [
        "/agent/downloads/../secret.txt",
        "/agent/downloads/..%2Fsecret.txt",
        "/agent/downloads/%2e%2e/secret.txt",
        "/agent/downloads/..\\secret.txt",
        "/agent/downloads/..",
        "/agent/downloads/.",
        "/agent/downloads/",
        "/agent/downloads",
        "/agent/downloads/notes.txt",
        "/agent/downloads/chattertrack-0.1.0.tar.gz",
        "/agent/downloads/chattertrack-0.1.0-py3-none-any.whl",
        "/agent/downloads/INSTALL.SH",
        "/agent/downloads/install.sh.bak",
        f"/agent/downloads/{BUNDLE}/",
        f"/agent/downloads/{BUNDLE}/x",
        "/agent/downloads/chattertrack-agent-0.1.0-linux-x86_64.tar.gz.partial",
        "/agent/downloads/chattertrack-agent-9.9.9-linux-x86_64.tar.gz",  # well named, absent
        "/agent/downloads/uninstall.ps1",  # a link out of the folder
        f"/agent/downloads/{MAC}",  # a folder
        "/agent/downloads/" + "a" * 5000,
        "/agent/install.bat",
        "/agent/",
    ],
)
def test_nothing_outside_the_served_names_is_reachable(app: Flask, path: str) -> None:
    # The raw path, as a WSGI server hands it over (no client tidies it first).
    raw = RawClient(app).get("/", environ_overrides={"PATH_INFO": path})
    nothing_there(raw)


def test_a_nul_in_the_name_is_refused(app: Flask) -> None:
    reply = RawClient(app).get(
        "/", environ_overrides={"PATH_INFO": "/agent/downloads/install.sh\x00"}
    )
    assert reply.status_code == 400 and json.loads(reply.data)["error"] == "nul_character"


def test_a_link_inside_the_folder_is_served_and_one_out_of_it_is_not(
    tmp_path: Path, folder: Path, http: httpx.Client
) -> None:
    real = folder / "builds" / "agent.tar.gz"
    real.parent.mkdir()
    real.write_bytes(b"linked bundle")
    link = "chattertrack-agent-0.2.0-linux-x86_64.tar.gz"
    (folder / link).symlink_to(Path("builds") / "agent.tar.gz")

    sums = http.get("/agent/downloads/SHA256SUMS").text
    reply = http.get(f"/agent/downloads/{link}")

    assert reply.status_code == 200 and reply.content == b"linked bundle"
    assert f"{sha(b'linked bundle')}  {link}\n" in sums
    assert "uninstall.ps1" not in sums and MAC not in sums
    assert "notes.txt" not in sums and ".whl" not in sums


def test_missing_unset_or_empty_folders_answer_a_clear_404(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.txt").write_text("not served")
    paths = ("/agent/downloads/SHA256SUMS", "/agent/install.sh", f"/agent/downloads/{BUNDLE}")
    for where in (None, tmp_path / "nowhere", empty / "README.txt", empty):
        app = make_app(tmp_path, where)
        for path in paths:
            reply = RawClient(app).get(path)
            if where == empty and "SUMS" not in path:  # the folder is there, the file is not
                body = nothing_there(reply)
                assert "SHA256SUMS" in body["message"]
            else:
                body = nothing_there(reply, "agent_downloads_unavailable")
                assert "no agent downloads yet" in body["message"]
                assert "CHATTER_AGENT_DOWNLOADS" in body["message"]
            assert str(tmp_path) not in body["message"]  # strangers learn no server path


def test_sums_are_computed_once_per_version_and_again_after_a_change(
    app: Flask, http: httpx.Client, folder: Path
) -> None:
    http.get("/agent/downloads/SHA256SUMS")
    first = computed(app)
    assert first == len(served_files(folder))

    for _ in range(3):
        assert http.get("/agent/downloads/SHA256SUMS").status_code == 200
        assert http.get(f"/agent/downloads/{BUNDLE}").status_code == 200
    assert computed(app) == first

    # A new build under the same name: same size, new bytes; then replaced by a rename.
    new = os.urandom(3 << 20)
    (folder / BUNDLE).write_bytes(new)
    stat = (folder / BUNDLE).stat()
    os.utime(folder / BUNDLE, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert f"{sha(new)}  {BUNDLE}\n" in http.get("/agent/downloads/SHA256SUMS").text
    reply = http.get(f"/agent/downloads/{BUNDLE}")
    assert reply.headers["x-checksum-sha256"] == sha(new) == sha(reply.content)
    assert computed(app) == first + 1

    (folder / ".install.sh.partial").write_text("echo new\n")
    os.replace(folder / ".install.sh.partial", folder / "install.sh")
    reply = http.get("/agent/install.sh")
    new_script = b"echo new\n"
    assert reply.content == new_script and reply.headers["etag"] == f'"{sha(new_script)}"'
    assert computed(app) == first + 2


def test_the_sums_are_shared_by_the_collector_processes(
    tmp_path: Path, app: Flask, http: httpx.Client, folder: Path
) -> None:
    sums = http.get("/agent/downloads/SHA256SUMS").text
    assert computed(app) > 0

    # Another process of the host (a second gunicorn worker) finds them all computed.
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from collector.devices import downloads as d; "
            "c = d.Sha256Cache(Path(sys.argv[2])); f = d.folder(sys.argv[1], c); "
            "print(c.computed); print(d.sums(f), end='')",
            str(folder),
            str(tmp_path / "sums-cache"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    count, _, listed = other.stdout.partition("\n")
    assert count == "0" and listed == sums


def test_a_cache_entry_that_is_not_a_sum_is_ignored(
    tmp_path: Path, app: Flask, http: httpx.Client, folder: Path
) -> None:
    http.get("/agent/downloads/SHA256SUMS")
    for entry in (tmp_path / "sums-cache").iterdir():
        entry.write_text("0" * 63 + "\n")  # one digit short: not a sum
    fresh = make_app(tmp_path, folder)
    listed = RawClient(fresh).get("/agent/downloads/SHA256SUMS").get_data(as_text=True)
    expected = "".join(
        f"{sha(data)}  {name}\n" for name, data in sorted(served_files(folder).items())
    )
    assert listed == expected
    assert computed(fresh) == len(served_files(folder))


def test_a_cache_directory_others_may_write_is_not_trusted(
    tmp_path: Path, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    fake = "f" * 64
    app = make_app(tmp_path, folder, AGENT_DOWNLOADS_CACHE=str(shared))
    with caplog.at_level(logging.WARNING, logger="collector.devices.downloads"):
        listed = RawClient(app).get("/agent/downloads/SHA256SUMS").get_data(as_text=True)
    assert (
        fake not in listed and f"{sha((folder / 'install.sh').read_bytes())}  install.sh" in listed
    )
    assert list(shared.iterdir()) == []
    assert "memory only" in caplog.text


def test_a_file_changing_while_it_is_hashed_is_refused_for_a_moment(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(downloads, "_same", lambda _real, _version: False)  # renamed over
    reply = RawClient(app).get("/agent/install.sh")
    assert reply.status_code == 503 and reply.headers["Retry-After"] == "30"
    assert json.loads(reply.data)["error"] == "download_changing"
    sums = RawClient(app).get("/agent/downloads/SHA256SUMS")
    assert sums.status_code == 503


def test_the_folder_as_the_enrollment_page_reads_it(tmp_path: Path, folder: Path) -> None:
    found = downloads.folder(folder, downloads.Sha256Cache(None))
    assert [f.name for f in found.bundles] == [BUNDLE, OLDER, WINDOWS]  # newest first per OS
    assert found.latest() == {BUNDLE, WINDOWS}
    assert sorted(found.scripts) == ["install.ps1", "install.sh", "uninstall.sh"]
    assert dict(found.ignored).keys() == {MAC, "uninstall.ps1"}
    assert downloads.version_key("0.10.0") > downloads.version_key("0.9.1")
    assert downloads.version_key("1.0.0rc1") < downloads.version_key("1.0.0")
    assert downloads.version_key("1.0.0.1") > downloads.version_key("1.0.0")


# Named pipes, sockets and devices under a served name ------------------------------------

PIPE = "chattertrack-agent-0.2.0-linux-x86_64.tar.gz"  # newer than BUNDLE: it would be picked


def unblock(path: Path) -> None:
    """Let any request stuck opening the pipe ``path`` go (a reader waits for a writer)."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_NONBLOCK))
    except OSError:
        pass


def answered_within(seconds: float, call: Any) -> Any:
    """What ``call()`` returns, failing the test (not hanging it) after ``seconds``."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # reported in the test's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"no answer within {seconds} s: blocked opening a pipe?"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (os.mkfifo, "a named pipe (FIFO), not a regular file"),
        (lambda path: os.mknod(path, stat.S_IFSOCK | 0o600), "a socket, not a regular file"),
    ],
)
def test_a_pipe_or_socket_under_a_served_name_is_refused_at_once(
    app: Flask, folder: Path, make: Any, why: str
) -> None:
    """Finding: a FIFO named like a bundle blocked every request reading the folder in
    os.open (waiting for a writer), until the server had no thread left."""
    make(folder / PIPE)
    make(folder / "uninstall.ps1.new")  # not a served name: never looked at
    (folder / "uninstall.ps1").unlink()
    make(folder / "uninstall.ps1")
    try:
        client = RawClient(app)
        for _ in range(3):  # more than once: nothing is left waiting
            sums = answered_within(10, lambda: client.get("/agent/downloads/SHA256SUMS"))
            assert sums.status_code == 200
            listed = sums.get_data(as_text=True)
            assert PIPE not in listed and "uninstall.ps1" not in listed
            assert f"{sha((folder / BUNDLE).read_bytes())}  {BUNDLE}\n" in listed
            for name in (PIPE, "uninstall.ps1"):
                reply = answered_within(10, lambda n=name: client.get(f"/agent/downloads/{n}"))
                nothing_there(reply)
        found = answered_within(10, lambda: downloads.folder(folder, downloads.Sha256Cache(None)))
        assert dict(found.ignored)[PIPE] == why
        assert dict(found.ignored)["uninstall.ps1"] == why
        assert found.latest() == {BUNDLE, WINDOWS}
    finally:
        unblock(folder / PIPE)
        unblock(folder / "uninstall.ps1")


def test_a_pipe_swapped_in_after_the_check_cannot_hang_the_open(
    app: Flask, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name is checked (lstat) and then opened: a pipe renamed over it in between is
    opened without waiting (O_NONBLOCK) and refused by its fstat."""
    os.mkfifo(folder / PIPE)
    monkeypatch.setattr(downloads, "not_regular", lambda _path: "")  # the check saw a file
    try:
        reply = answered_within(10, lambda: RawClient(app).get(f"/agent/downloads/{PIPE}"))
        nothing_there(reply)
        sums = answered_within(10, lambda: RawClient(app).get("/agent/downloads/SHA256SUMS"))
        assert sums.status_code == 200 and PIPE not in sums.get_data(as_text=True)
    finally:
        unblock(folder / PIPE)


def test_a_pipe_in_the_sum_cache_is_not_waited_on(tmp_path: Path, app: Flask, folder: Path) -> None:
    RawClient(app).get("/agent/downloads/SHA256SUMS")
    entries = list((tmp_path / "sums-cache").iterdir())
    for entry in entries:
        entry.unlink()
        os.mkfifo(entry)
    fresh = make_app(tmp_path, folder)
    try:
        reply = answered_within(10, lambda: RawClient(fresh).get("/agent/downloads/SHA256SUMS"))
        assert reply.status_code == 200
        assert computed(fresh) == len(served_files(folder))  # hashed again, not read
    finally:
        for entry in entries:
            unblock(entry)


# Ranges ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "status", "start", "end"),
    [
        ("bytes=5-", 206, 5, None),
        ("bytes=0-0", 206, 0, 1),
        ("bytes=-7", 206, -7, None),
        ("bytes=10-20", 206, 10, 21),
        ("bytes=10-99999999", 206, 10, None),  # the end past the file is the file's end
        # Ignored (RFC 9110 14.2): the whole file, as if no Range had been sent.
        ("bytes=0-1,3-4", 200, 0, None),  # several ranges: not supported, ignored
        ("bytes=0-1, 0-1, 0-1", 200, 0, None),
        ("items=0-1", 200, 0, None),  # another unit
        ("bytes=abc", 200, 0, None),  # invalid: must be ignored
        ("bytes=5-2", 200, 0, None),
        ("bytes 5-", 200, 0, None),
        ("", 200, 0, None),
    ],
)
def test_one_byte_range_is_served_and_any_other_range_header_gets_the_whole_file(
    http: httpx.Client, folder: Path, header: str, status: int, start: int, end: int | None
) -> None:
    data = (folder / "install.sh").read_bytes()

    reply = http.get("/agent/downloads/install.sh", headers={"Range": header})

    assert reply.status_code == status, reply.text
    assert reply.content == data[start:end]
    assert reply.headers["content-length"] == str(len(data[start:end]))
    assert reply.headers["accept-ranges"] == "bytes"
    assert reply.headers["x-checksum-sha256"] == sha(data)
    if status == 200:
        assert "content-range" not in reply.headers


def test_only_one_byte_range_that_misses_the_file_is_416(http: httpx.Client, folder: Path) -> None:
    size = len((folder / "install.sh").read_bytes())
    for header in (f"bytes={size}-", f"bytes={size + 100}-{size + 200}"):
        reply = http.get("/agent/downloads/install.sh", headers={"Range": header})
        assert reply.status_code == 416, (header, reply.status_code)
        assert reply.headers["content-range"] == f"bytes */{size}"
        assert "no-store" in reply.headers["cache-control"]
