"""Numbers in query strings, API and pages: "²", "①", other scripts' digits and more
digits than int() reads (4300) are refused (400) or ignored (pages), never a 500
(both databases).  One rule: ``collector.db.text.whole_number``."""

from __future__ import annotations

import pytest

from tests.collector.auth.test_accounts import PASSWORD, login
from tests.collector.conftest import Collector

BIG = "9" * 5000
RANGE = "start=2026-03-02&end=2026-03-08&tz=UTC"


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/stats/attendance?{RANGE}&page={BIG}",
        f"/api/v1/stats/attendance?{RANGE}&per_page={BIG}",
        f"/api/v1/stats/chatters/alice/attendance?{RANGE}&page={BIG}",
        f"/api/v1/stats/chatters/alice/shifts?days={BIG}",
        "/api/v1/stats/chatters/alice/shifts?days=%D9%A1",
        f"/api/v1/stats/top?{RANGE}&limit={BIG}",
        f"/api/v1/stats/top?{RANGE}&limit=%C2%B2",
        f"/api/v1/stats/chatters/alice/fans?{RANGE}&page={BIG}",
        f"/api/v1/stats/chatters/alice/fans?{RANGE}&per_page={BIG}",
        f"/api/v1/stats/conversations/nps?{RANGE}&page={BIG}",
        f"/api/v1/shifts?page={BIG}",
    ],
)
def test_the_api_refuses_numbers_it_cannot_read(agency: Collector, path: str) -> None:
    reply = agency.http.get(path, headers={"Authorization": f"Bearer {agency.token('admin')}"})
    if reply.status_code == 404:  # a path this build does not serve is not the point
        pytest.fail(f"{path[:60]} is not served")
    assert reply.status_code == 400, (path[:60], reply.text[:300])
    assert reply.json()["error"] == "bad_parameter"
    assert len(reply.text) < 1000  # the refusal does not echo 5000 digits


@pytest.mark.parametrize(
    "path",
    [
        "/now?refresh=%C2%B2",  # '²'.isdigit() is True; int('²') raises
        "/now?refresh=%E2%91%A0",  # '①'
        f"/now?refresh={BIG}",
        f"/attendance?{RANGE}&page={BIG}",
        f"/chatters/alice?{RANGE}&fans_page={BIG}",
        f"/conversations?{RANGE}&page={BIG}",
        f"/conversations?{RANGE}&per_page={BIG}",
    ],
)
def test_pages_ignore_numbers_they_cannot_read(agency: Collector, path: str) -> None:
    agency.app.config["SESSION_COOKIE_SECURE"] = False
    agency.cli("add-user", "boss@agency.test", "--role", "admin", input=PASSWORD + "\n")
    assert login(agency.http, "boss@agency.test", PASSWORD).status_code == 302
    assert agency.http.get(path).status_code == 200, path[:60]
