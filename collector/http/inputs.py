"""A request-level guard: a NUL character anywhere a handler reads text is a 400.

PostgreSQL refuses NUL in text, and a path, query or form value reaches the database in
many places (lookups by key, searches, names).  Refusing it here, before any handler
runs, keeps every one of them safe; the JSON bodies are checked by their schemas and by
``collector.db.text`` at the boundary of each write.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, request

from collector.errors import ApiError

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _where_nul() -> str | None:
    if "\x00" in request.path:
        return "the path"
    checks: list[tuple[str, Iterable[tuple[str, str]]]] = [
        ("query parameter", request.args.items(multi=True)),
        ("header", request.headers.items()),
    ]
    # The API reads its bodies itself (signed bytes); only the pages take forms.
    if request.mimetype in _FORMS and not request.path.startswith("/api/"):
        checks.append(("form field", request.form.items(multi=True)))
    for kind, items in checks:
        for name, value in items:
            if "\x00" in name or "\x00" in value:
                return f"{kind} {name.replace(chr(0), '?')!r}"
    return None


def register(app: Flask) -> None:
    @app.before_request
    def _refuse_nul() -> None:
        where = _where_nul()
        if where is not None:
            raise ApiError(
                400,
                "nul_character",
                f"{where} contains a NUL character, which cannot be stored",
                [{"field": where, "message": "must not contain NUL characters"}],
            )
