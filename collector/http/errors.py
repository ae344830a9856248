"""One JSON error shape for every API failure: {error, message, details}.

Pages answer their errors in HTML (error.html); the API, health and asset routes in JSON.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from collector.errors import DomainError
from collector.http.jsonio import json_response

log = logging.getLogger(__name__)


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"error": code, "message": message, "details": details or []}
    response = json_response(body, status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _code_for(exc: HTTPException) -> str:
    name = (exc.name or "error").lower()
    return "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")


def _is_page(path: str) -> bool:
    """Dashboard pages answer errors in HTML; the API, health, metrics, static files and
    the agent downloads (fetched by curl and installers) in JSON."""
    return not path.startswith(("/api/", "/healthz", "/metrics", "/static/", "/assets/", "/agent/"))


def sentence(message: str) -> str:
    """An error page's message as a sentence: its first letter capitalised (the API's
    messages start in lower case, "no chatter 'x'"; a page shows them as a line)."""
    return message[:1].upper() + message[1:]


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Response | tuple[str, int]:
        if _is_page(request.path):
            title = HTTP_STATUS_CODES.get(exc.status, "Error")
            page = render_template(
                "error.html", status=exc.status, title=title, message=sentence(exc.message)
            )
            return page, exc.status
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | tuple[str, int, dict[str, str]]:
        status = exc.code or 500
        message = exc.description or exc.name
        # The exception's own headers (Allow on a 405, RFC 9110 15.5.6), not its body's type.
        extra = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        if _is_page(request.path):
            page = render_template(
                "error.html", status=status, title=exc.name, message=sentence(message)
            )
            return page, status, extra
        if status == 413:
            limit = request.max_content_length
            message = f"request body is larger than {limit} bytes" if limit else message
        return error_response(status, _code_for(exc), message, headers=extra)

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError) -> Response:
        # Busy or unreachable database: the client should retry; a write stored nothing.
        log.warning("database unavailable: %s", exc.orig)
        stored = "" if request.method in ("GET", "HEAD") else "nothing was stored, "
        return error_response(
            503,
            "database_unavailable",
            f"the database is busy or unreachable; {stored}retry later",
            headers={"Retry-After": "2"},
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "unexpected server error; it was logged")
