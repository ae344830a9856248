"""A request-level guard: a NUL character anywhere a handler reads text is a 400.

PostgreSQL refuses NUL in text, and a path, query or form value reaches the database in
many places (lookups by key, searches, names).  Refusing it here, before any handler
runs, keeps every one of them safe; the JSON bodies are checked by their schemas and by
``collector.db.text`` at the boundary of each write.

A page view may take some form fields out of the guard (``checks_own_text``) when it
checks them itself before they reach a query, so that its form can say which field is
wrong instead of showing an error page: the password fields, which are hashed and never
stored or looked up as text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from flask import Flask, current_app, request

from collector.errors import ApiError

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_OWN_TEXT = "checks_own_text"
View = TypeVar("View", bound=Callable[..., object])


def checks_own_text(*fields: str) -> Callable[[View], View]:
    """Mark a page view that checks these form fields for NUL itself (see above); put it
    right under the route decorator, so that the view registered carries the mark."""

    def mark(view: View) -> View:
        setattr(view, _OWN_TEXT, frozenset(fields))
        return view

    return mark


def _own_text() -> frozenset[str]:
    view = current_app.view_functions.get(request.endpoint or "")
    fields: frozenset[str] = getattr(view, _OWN_TEXT, frozenset())
    return fields


def _where_nul() -> str | None:
    if "\x00" in request.path:
        return "the path"
    checks: list[tuple[str, Iterable[tuple[str, str]]]] = [
        ("query parameter", request.args.items(multi=True)),
        ("header", request.headers.items()),
    ]
    # The API reads its bodies itself (signed bytes); only the pages take forms.
    if request.mimetype in _FORMS and not request.path.startswith("/api/"):
        own = _own_text()
        fields = [(n, v) for n, v in request.form.items(multi=True) if n not in own]
        checks.append(("form field", fields))
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
