"""Browser security headers on every response.

The content policy is also the product's promise in executable form: a page may
load scripts, styles, images and connections from the collector's own origin
only, so nothing a manager or chatter opens talks to another site.  Inline
styles stay allowed (colour swatches, Chart.js); inline scripts do not.

Caching: every answer the app computes (pages, API JSON, exports, errors) is
``Cache-Control: private, no-store``: they carry one account's statistics, CSRF
tokens or device state, and a shared proxy or the browser's disk must keep none of
them.  Only the static files and the vendored browser libraries, the same for
everyone, keep their own caching.  Over HTTPS (directly, or behind
``CHATTER_PROXY_HOPS`` proxies that say ``X-Forwarded-Proto: https``) the browser
is told to use HTTPS only from then on (HSTS, a year, subdomains included); over
plain HTTP the header would mean nothing and is left out (RFC 6797, 7.2).
"""

from __future__ import annotations

from flask import Flask, Response, request

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


NO_STORE = "private, no-store"
HSTS = "max-age=31536000; includeSubDomains"
# Endpoints whose files are the same for every visitor and may be cached (the agent
# downloads say themselves how: checked again each time, errors never kept).
CACHEABLE = frozenset(
    {
        "static",
        "pages.vendor_asset",
        "downloads.sums",
        "downloads.agent_file",
        "downloads.install_sh",
        "downloads.install_ps1",
    }
)


def register(app: Flask) -> None:
    @app.after_request
    def _secure(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint not in CACHEABLE:
            headers["Cache-Control"] = NO_STORE
        if request.is_secure:
            headers["Strict-Transport-Security"] = HSTS
        return response
