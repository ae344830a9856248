"""Browser libraries served from the collector itself: nothing loads from another site.

Each library is the npm tarball named by collector/assets/package-lock.json, committed in
collector/assets/vendor/ (``make assets`` refreshes it), so a wheel carries it and no
install needs npm.  The tarball is checked against the lock's integrity hash before a
file is taken out of it: what the browser gets is exactly the locked release.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import tarfile
from pathlib import Path

from flask import abort, send_file
from werkzeug.wrappers import Response

from collector.pages import bp

ASSETS = Path(__file__).parents[1] / "assets"
# Name in the URL -> (npm package, file inside its tarball).
VENDOR = {"chart.js": ("chart.js", "package/dist/chart.umd.min.js")}


class VendorError(Exception):
    """The vendored tarball is missing or is not the locked one."""


def tarball(package: str) -> tuple[Path, str]:
    """The vendored tarball of an npm package and the lock's integrity string for it."""
    lock = json.loads((ASSETS / "package-lock.json").read_text(encoding="utf-8"))
    entry = lock["packages"][f"node_modules/{package}"]
    return ASSETS / "vendor" / f"{package}-{entry['version']}.tgz", str(entry["integrity"])


@functools.cache
def vendored(name: str) -> tuple[bytes, str]:
    """The file's bytes and its ETag; read and checked once per process."""
    package, member = VENDOR[name]
    path, integrity = tarball(package)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VendorError(f"{path.name} is missing: run make assets") from exc
    algorithm, _, expected = integrity.partition("-")
    if base64.b64encode(hashlib.new(algorithm, data).digest()).decode() != expected:
        raise VendorError(f"{path.name} does not match the integrity in package-lock.json")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        extracted = archive.extractfile(member)
        if extracted is None:
            raise VendorError(f"{path.name} has no {member}")
        body = extracted.read()
    return body, hashlib.sha256(body).hexdigest()


@bp.get("/assets/<name>")
def vendor_asset(name: str) -> Response:
    if name not in VENDOR:
        abort(404)
    try:
        body, etag = vendored(name)
    except VendorError as exc:
        abort(500, description=str(exc))
    return send_file(io.BytesIO(body), mimetype="text/javascript", max_age=3600, etag=etag)
