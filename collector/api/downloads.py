"""The agent downloads, open to anyone: a chatter's computer fetches them with curl.

They hold no secret (the enrollment token is the secret, and it never comes here).
``/agent/downloads/SHA256SUMS`` lists what is served; ``/agent/downloads/NAME`` is a
bundle or an install script (``collector.devices.downloads`` says which names);
``/agent/install.sh`` and ``/agent/install.ps1`` are the same scripts at short addresses
for the one-line install commands.  Each file carries its SHA-256 as its ETag and in
``X-Checksum-SHA256``; an answer may be kept by a cache but must be checked again
(``no-cache``), and errors are never kept.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.http import parse_range_header
from werkzeug.wsgi import wrap_file

from collector.devices import downloads
from collector.http.agent_files import agent_folder, configured_folder, sum_cache

bp = Blueprint("downloads", __name__, url_prefix="/agent")


@bp.after_request
def _cache_headers(response: Response) -> Response:
    if response.status_code in (200, 206, 304):
        response.headers["Cache-Control"] = "no-cache"
    else:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/downloads/SHA256SUMS")
def sums() -> Response:
    body = downloads.sums(agent_folder()).encode("ascii")
    response = Response(body, content_type="text/plain; charset=utf-8")
    response.set_etag(hashlib.sha256(body).hexdigest())
    response.make_conditional(request)
    return response


@bp.get("/downloads/<name>")
def agent_file(name: str) -> Response:
    # The bytes sent are the file that was hashed: the one open, even if renamed over.
    found, handle = downloads.open_file(configured_folder(), name, sum_cache())
    body = wrap_file(request.environ, handle)  # closed when the answer is done
    response = Response(body, content_type=found.content_type, direct_passthrough=True)
    response.content_length = found.size
    response.last_modified = found.mtime  # type: ignore[assignment]
    response.set_etag(found.sha256)
    response.headers["X-Checksum-SHA256"] = found.sha256
    # A script opens in the browser, so IT reads what it runs; a bundle is saved.
    disposition = "inline" if found.kind == "script" else "attachment"
    response.headers.set("Content-Disposition", disposition, filename=found.name)
    try:
        response.make_conditional(
            _one_range_or_none(), accept_ranges=True, complete_length=found.size
        )
    except BaseException:  # 416: the open file goes with the answer that is not sent
        response.close()
        raise
    return response


def _one_range_or_none() -> dict[str, Any]:
    """The request's environment, without its Range header unless that is one byte range.

    RFC 9110 (14.2): a server MAY ignore a Range header and MUST ignore one it cannot
    parse; then the answer is the whole file (200).  Several ranges, another unit or bad
    syntax are ignored so (werkzeug would answer 416 to them, which stops a client that
    would have taken the whole file); only one byte range that misses the file is 416.
    """
    environ: dict[str, Any] = request.environ
    header = environ.get("HTTP_RANGE")
    if header is None:
        return environ
    wanted = parse_range_header(header)
    if wanted is not None and wanted.units == "bytes" and len(wanted.ranges) == 1:
        return environ
    return {key: value for key, value in environ.items() if key != "HTTP_RANGE"}


@bp.get("/install.sh")
def install_sh() -> Response:
    return agent_file("install.sh")


@bp.get("/install.ps1")
def install_ps1() -> Response:
    return agent_file("install.ps1")
