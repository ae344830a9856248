"""The one error type with a status: raised by the domain, answered by the HTTP layer.

``DomainError`` is input or a state the caller can fix: the API answers it as JSON
(``{error, message, details}``), a page shows its message beside the form, the command
line prints it and exits non-zero.  It carries no Flask: the domain packages raise it,
``collector.http.errors`` turns it into a response.
"""

from __future__ import annotations

from typing import Any

# The machine-readable code of an error that names none, by status.
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "too_large",
    422: "unprocessable",
}


class DomainError(Exception):
    """Something the caller can act on: a message for people, a status for HTTP."""

    def __init__(
        self,
        message: str,
        status: int = 400,
        *,
        code: str | None = None,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.details = details or []
        self.headers = headers or {}


class ApiError(DomainError):
    """A DomainError written the API's way round: status and machine code first."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, status, code=code, details=details, headers=headers)
