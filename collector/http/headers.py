"""Browser security headers on every response.

The content policy is also the product's promise in executable form: a page may
load scripts, styles, images and connections from the collector's own origin
only, so nothing a manager or chatter opens talks to another site.  Inline
styles stay allowed (colour swatches, Chart.js); inline scripts do not.
"""

from __future__ import annotations

from flask import Flask, Response

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def register(app: Flask) -> None:
    @app.after_request
    def _secure(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        return response
