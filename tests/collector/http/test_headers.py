"""Response headers set in one place (collector.http.headers and the error handlers).

Issue 12, finding 9: 405 answers lacked ``Allow``; the stats pages and stats JSON sent no
``Cache-Control``; no HSTS anywhere (pages, API or the nginx example).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from collector import create_app
from collector.http.database import db
from tests.collector.auth.test_accounts import PASSWORD, browser, login  # noqa: F401  (fixture)
from tests.collector.conftest import Collector

ROOT = Path(__file__).resolve().parents[3]
RANGE = {"start": "2026-11-20", "end": "2026-11-21", "tz": "UTC"}
NO_STORE = "private, no-store"
HSTS = "max-age=31536000; includeSubDomains"


def _allowed(response: httpx.Response) -> set[str]:
    return {method.strip() for method in response.headers["Allow"].split(",")}


def test_405_names_the_allowed_methods_on_api_and_pages(collector: Collector) -> None:
    api = collector.http.get("/api/v1/heartbeats")
    assert api.status_code == 405
    assert api.json()["error"] == "method_not_allowed"
    assert "POST" in _allowed(api) and "GET" not in _allowed(api)
    page = collector.http.put("/stats")
    assert page.status_code == 405
    assert page.headers["Content-Type"].startswith("text/html")
    assert {"GET", "HEAD"} <= _allowed(page) and "PUT" not in _allowed(page)
    login_form = collector.http.delete("/login")
    assert login_form.status_code == 405 and {"GET", "POST"} <= _allowed(login_form)


def test_authenticated_answers_are_not_stored(browser: Collector) -> None:  # noqa: F811
    manager = browser.token("manager")
    bearer = {"Authorization": f"Bearer {manager}"}
    http = browser.http
    for answer in (
        http.get("/api/v1/stats/chatters", params=RANGE, headers=bearer),
        http.get("/api/v1/stats/top", params=RANGE, headers=bearer),
        http.get("/api/v1/stats/chatters", params={**RANGE, "format": "csv"}, headers=bearer),
        http.get("/api/v1/stats/chatters", params={**RANGE, "format": "xlsx"}, headers=bearer),
        http.get("/api/v1/chatters", headers=bearer),
        http.get("/api/v1/stats/chatters", params=RANGE),  # 401: still no-store
    ):
        assert answer.headers["Cache-Control"] == NO_STORE, (answer.url, answer.status_code)

    assert login(http, "boss@agency.test", PASSWORD).status_code == 302
    for path, params in (
        ("/stats", {"preset": "custom", **RANGE}),
        ("/chatters/alice", {}),
        ("/conversations", {}),
        ("/api/v1/stats/chatters", RANGE),  # the dashboard's own session reading the API
        ("/api/v1/stats/chatters/alice/daily", {**RANGE, "format": "csv"}),
        ("/admin/", {}),  # 403 for a manager: also not stored
    ):
        answer = http.get(path, params=params)
        assert answer.status_code in (200, 403), (path, answer.status_code)
        assert answer.headers["Cache-Control"] == NO_STORE, path


def test_static_files_stay_cacheable(collector: Collector) -> None:
    for path in ("/static/app.css", "/assets/chart.js"):
        answer = collector.http.get(path)
        assert answer.status_code == 200, path
        assert "no-store" not in answer.headers.get("Cache-Control", ""), path


@pytest.mark.parametrize(
    ("hops", "base", "forwarded", "expected"),
    [
        (0, "https://collector.test", None, True),
        (0, "http://collector.test", None, False),
        # A client's own X-Forwarded-Proto is ignored without a trusted proxy in front.
        (0, "http://collector.test", "https", False),
        (1, "http://collector.test", "https", True),
        (1, "http://collector.test", "http", False),
    ],
)
def test_hsts_only_over_https(
    database_url: str, hops: int, base: str, forwarded: str | None, expected: bool
) -> None:
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "PROXY_HOPS": hops})
    headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
    try:
        with httpx.Client(transport=httpx.WSGITransport(app=app), base_url=base) as http:
            answers = [
                http.get("/login", headers=headers),  # a page
                http.get("/api/v1/chatters", headers=headers),  # the API (401)
                http.get("/healthz", headers=headers),
                http.get("/static/app.css", headers=headers),
            ]
    finally:
        with app.app_context():
            db.engine.dispose()
    for answer in answers:
        assert (answer.headers.get("Strict-Transport-Security") == HSTS) is expected, answer.url


def test_nginx_example_sends_hsts() -> None:
    config = (ROOT / "deploy" / "nginx-chattertrack.conf").read_text()
    https_server = config.split("listen 443", 1)[1].split("server {", 1)[0]
    assert f'add_header Strict-Transport-Security "{HSTS}" always;' in https_server
