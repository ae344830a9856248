"""The vendored chart library: exactly the npm release the lock names, served by the collector.

The checks here read the lock and the tarball themselves (json, hashlib, tarfile), not
through the module under test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from flask import Flask

from collector import create_app
from collector.pages import assets

ROOT = Path(__file__).resolve().parents[3]
ASSETS = ROOT / "collector" / "assets"


def _locked(package: str) -> dict[str, str]:
    lock = json.loads((ASSETS / "package-lock.json").read_text())
    entry: dict[str, str] = lock["packages"][f"node_modules/{package}"]
    return entry


def test_vendored_tarball_matches_the_lock_integrity() -> None:
    entry = _locked("chart.js")
    path = ASSETS / "vendor" / f"chart.js-{entry['version']}.tgz"
    digest = base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()
    assert entry["integrity"] == f"sha512-{digest}"
    # Its licence travels inside it.
    with tarfile.open(path) as archive:
        member = archive.extractfile("package/LICENSE.md")
        assert member is not None
        assert "MIT License" in member.read().decode()
    # Only locked tarballs are vendored (make assets removes old ones).
    assert [p.name for p in (ASSETS / "vendor").iterdir()] == [path.name]


def test_no_node_modules_tracked() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "collector/assets"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert tracked and not [name for name in tracked if "node_modules" in name]


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    assets.vendored.cache_clear()
    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "TESTING": True})


def test_served_file_is_the_one_in_the_tarball(app: Flask) -> None:
    entry = _locked("chart.js")
    with tarfile.open(ASSETS / "vendor" / f"chart.js-{entry['version']}.tgz") as archive:
        member = archive.extractfile("package/dist/chart.umd.min.js")
        assert member is not None
        expected = member.read()
    client = app.test_client()
    reply = client.get("/assets/chart.js")
    assert reply.status_code == 200
    assert reply.mimetype == "text/javascript"
    assert reply.data == expected
    again = client.get("/assets/chart.js", headers={"If-None-Match": reply.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/assets/nothing.js").status_code == 404


def test_a_tampered_tarball_is_not_served(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "assets"
    shutil.copytree(ASSETS, copy, ignore=shutil.ignore_patterns("node_modules"))
    tarball = next((copy / "vendor").glob("chart.js-*.tgz"))
    data = bytearray(tarball.read_bytes())
    data[-100] ^= 0xFF
    tarball.write_bytes(bytes(data))
    monkeypatch.setattr(assets, "ASSETS", copy)
    reply = app.test_client().get("/assets/chart.js")
    assert reply.status_code == 500
    assert b"does not match the integrity" in reply.data
    assets.vendored.cache_clear()
