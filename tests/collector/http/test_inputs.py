"""Input no handler can store is refused with a 4xx, never a 500 (issue 12, findings 4 and 5).

PostgreSQL refuses NUL characters in text and strings longer than their column (SQLite
takes both); both databases failed on JSON nested a thousand deep and on integers beyond
64 bits.  Every case runs on SQLite and PostgreSQL and checks that nothing was stored.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.collector.auth.test_accounts import form_token, login
from tests.collector.conftest import Agent, Collector
from tests.collector.pages.admin.test_admin import refused_field

PASSWORD = "correct horse battery"
DEEP = b"[" * 1000 + b"]" * 1000


def rows(collector: Collector, table: str) -> int:
    engine = create_engine(collector.database_url)
    with engine.connect() as conn:
        count = conn.scalar(text(f"SELECT count(*) FROM {table}"))
    engine.dispose()
    return int(count or 0)


def json_error(reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, (reply.status_code, reply.text[:500])
    body: dict[str, Any] = reply.json()
    assert set(body) == {"error", "message", "details"}
    return body


def event(**fields: Any) -> dict[str, Any]:
    return {
        "type": "tip",
        "id": f"ev-{uuid.uuid4().hex}",
        "occurred_at": "2026-01-05T10:00:00Z",
        "creator": "luna",
        "fan": "fan-1",
        "amount": "5.00",
        **fields,
    }


# Finding 4: NUL and over-long strings ----------------------------------------------------


def test_nul_in_the_login_email_is_a_form_error(agency: Collector) -> None:
    agency.app.config["SESSION_COOKIE_SECURE"] = False
    reply = login(agency.http, "boss\x00@agency.test", "whatever-password")
    assert reply.status_code == 422, reply.text[-500:]
    refused_field(reply.text, "email", "the email must not contain NUL characters")
    assert rows(agency, "login_failures") == 0


def test_nul_in_the_login_password_is_a_form_error(agency: Collector) -> None:
    agency.app.config["SESSION_COOKIE_SECURE"] = False
    agency.cli("add-user", "boss@agency.test", "--role", "manager", input=PASSWORD + "\n")
    reply = login(agency.http, "boss@agency.test", PASSWORD + "\x00")
    assert reply.status_code == 422, reply.text[-500:]
    refused_field(reply.text, "password", "contains a character that cannot be used")
    assert 'value="boss@agency.test"' in reply.text  # the email is kept
    assert rows(agency, "login_failures") == 0  # no password holds a NUL: not a guess
    # Another control character may be in a password set before the policy refused
    # them: an ordinary wrong password, counted.
    assert login(agency.http, "boss@agency.test", PASSWORD + "\x07").status_code == 401
    assert rows(agency, "login_failures") == 1


def test_an_over_long_login_email_is_a_form_error(agency: Collector) -> None:
    agency.app.config["SESSION_COOKIE_SECURE"] = False
    email = "a" * 300 + "@agency.test"
    reply = login(agency.http, email, "whatever-password")
    assert reply.status_code == 422, reply.text[-500:]
    assert "longer than 254 characters" in reply.text
    assert 'name="email"' in reply.text  # the form again, with its message
    assert rows(agency, "login_failures") == 0


def test_enroll_refuses_nul_and_names_the_field(agency: Collector) -> None:
    token = agency.enroll_token("alice")
    body = {"token": token, "hostname": "pc\x00", "platform": "Linux", "agent_version": "1"}
    error = json_error(agency.http.post("/api/v1/agents/enroll", json=body), 422)
    assert "hostname" in error["message"]
    assert rows(agency, "devices") == 0


def test_heartbeat_agent_version_with_nul_is_refused(agent: Agent, agency: Collector) -> None:
    reply = agent.send(agent.slices(1), agent_version="1.0\x00")
    assert "agent_version" in json_error(reply, 422)["message"]
    assert rows(agency, "slices") == 0


def test_a_batch_id_longer_than_its_column_is_refused(agent: Agent, agency: Collector) -> None:
    # The schema's pattern ends in "$", which lets one trailing newline through.
    body = agent.batch_body(agent.slices(1), batch_id="b" * 64 + "\n")
    reply = agent.signed_post("/api/v1/heartbeats", body)
    assert "batch_id" in str(json_error(reply, 422)["details"])
    assert rows(agency, "slices") == 0


def test_the_cli_refuses_a_key_with_a_trailing_newline(agency: Collector) -> None:
    result = agency.cli("add-creator", "z" * 63 + "\n", "--name", "Zed", expect=2)
    assert "lowercase letters" in result.output
    assert rows(agency, "creators") == 2


@pytest.mark.parametrize(
    "fields",
    [
        {"id": "ev-\x00"},
        {"fan": "fan\x00"},
        {"creator": "luna\x00"},
    ],
)
def test_events_with_nul_are_refused(
    agency: Collector, integration: str, fields: dict[str, Any]
) -> None:
    error = json_error(agency.post_events([event(**fields)], integration), 422)
    assert error["details"] and error["details"][0]["index"] == 0
    assert rows(agency, "events") == 0


def test_a_widget_url_with_nul_is_refused(agency: Collector, integration: str) -> None:
    impression = {
        "type": "widget_impression",
        "id": "w-1",
        "occurred_at": "2026-01-05T10:00:00Z",
        "visitor": "v-1",
        "url": "https://shop.test/a\x00b",
    }
    json_error(agency.post_events([impression], integration), 422)
    assert rows(agency, "events") == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/stats/chatters?start=2026-01-01&end=2026-01-02&creator=%00",
        "/api/v1/stats/chatters?start=2026-01-01&end=2026-01-02&q=a%00b",
        "/api/v1/stats/chatters/ali%00ce/daily?start=2026-01-01&end=2026-01-02",
        "/api/v1/sales/ev%00",
    ],
)
def test_nul_in_the_path_or_query_is_a_400(agency: Collector, path: str) -> None:
    manager = agency.token("manager")
    reply = agency.http.get(path, headers={"Authorization": f"Bearer {manager}"})
    assert "NUL" in json_error(reply, 400)["message"]


def test_nul_in_an_admin_form_is_a_400(agency: Collector) -> None:
    agency.app.config["SESSION_COOKIE_SECURE"] = False
    agency.cli("add-user", "root@agency.test", "--role", "admin", input=PASSWORD + "\n")
    assert login(agency.http, "root@agency.test", PASSWORD).status_code == 302
    token = form_token(agency.http)
    data = {"creator_key": "zed", "creator_name": "Z\x00", "csrf_token": token}
    reply = agency.http.post("/admin/creators", data=data)
    assert reply.status_code == 400 and "NUL" in reply.text
    assert rows(agency, "creators") == 2


def test_an_over_long_admin_name_is_a_form_error(agency: Collector) -> None:
    agency.app.config["SESSION_COOKIE_SECURE"] = False
    agency.cli("add-user", "root@agency.test", "--role", "admin", input=PASSWORD + "\n")
    assert login(agency.http, "root@agency.test", PASSWORD).status_code == 302
    token = form_token(agency.http)
    data = {"creator_key": "zed", "creator_name": "Z" * 201, "csrf_token": token}
    reply = agency.http.post("/admin/creators", data=data)
    assert reply.status_code == 422 and "longer than 200 characters" in reply.text
    assert rows(agency, "creators") == 2


def test_an_over_long_admin_email_is_a_form_error(agency: Collector) -> None:
    agency.app.config["SESSION_COOKIE_SECURE"] = False
    agency.cli("add-user", "root@agency.test", "--role", "admin", input=PASSWORD + "\n")
    assert login(agency.http, "root@agency.test", PASSWORD).status_code == 302
    data = {
        "email": "a" * 250 + "@x.test",
        "role": "manager",
        "password": PASSWORD,
        "csrf_token": form_token(agency.http),
    }
    reply = agency.http.post("/admin/users", data=data)
    assert reply.status_code == 422 and "longer than 254 characters" in reply.text
    assert rows(agency, "users") == 1


def test_a_longest_named_integration_token_can_post_events(agency: Collector) -> None:
    """A 100-character token name used to overflow events.source ("api:" + name)."""
    token = agency.cli("api-token", "n" * 100, "--role", "integration").output.strip()
    reply = agency.post_events([event()], token)
    assert reply.status_code == 200, reply.text
    assert rows(agency, "events") == 1


def test_the_cli_refuses_a_token_name_longer_than_its_column(agency: Collector) -> None:
    result = agency.cli("api-token", "n" * 101, "--role", "integration", expect=1)
    assert "longer than 100 characters" in result.output
    assert rows(agency, "api_tokens") == 0


def test_the_cli_refuses_text_that_is_not_unicode(agency: Collector) -> None:
    # A command-line argument that is not UTF-8 reaches Python as lone surrogates.
    result = agency.cli("add-creator", "zed", "--name", "Z\udcff", expect=1)
    assert "not valid text" in result.output
    assert rows(agency, "creators") == 2


def test_reassign_reason_with_nul_is_refused(agency: Collector, integration: str) -> None:
    sale = event()
    assert agency.post_events([sale], integration).status_code == 200
    manager = agency.token("manager")
    reply = agency.http.post(
        f"/api/v1/sales/{sale['id']}/reassign",
        json={"chatter": "bob", "reason": "because\x00"},
        headers={"Authorization": f"Bearer {manager}"},
    )
    assert "reason" in json_error(reply, 422)["message"]
    assert rows(agency, "sale_reassignments") == 0


# Finding 5: deep nesting and integers beyond 64 bits -------------------------------------


def test_deep_json_on_enroll_is_a_400(collector: Collector) -> None:
    body = b'{"x": ' + DEEP + b', "token": "t"}'
    reply = collector.http.post(
        "/api/v1/agents/enroll", content=body, headers={"Content-Type": "application/json"}
    )
    assert "nested" in json_error(reply, 400)["message"]


def test_deep_json_in_a_heartbeat_batch_is_a_400(agent: Agent, agency: Collector) -> None:
    body = agent.batch_body(agent.slices(1), extra=None)[:-1] + b', "x": ' + DEEP + b"}"
    json_error(agent.signed_post("/api/v1/heartbeats", body), 400)
    assert rows(agency, "slices") == 0


@pytest.mark.parametrize("ndjson", [False, True])
def test_deep_json_in_events_is_a_400(agency: Collector, integration: str, ndjson: bool) -> None:
    inner = b'{"type": "tip", "id": ' + DEEP + b"}"
    body = inner if ndjson else b"[" + inner + b"]"
    reply = agency.http.post(
        "/api/v1/events",
        content=body,
        headers={
            "Authorization": f"Bearer {integration}",
            "Content-Type": "application/x-ndjson" if ndjson else "application/json",
        },
    )
    json_error(reply, 400)
    assert rows(agency, "events") == 0


@pytest.mark.parametrize("seq", [2**63, 2**64, 10**30])
def test_a_seq_beyond_bigint_is_a_422(agent: Agent, agency: Collector, seq: int) -> None:
    reply = agent.send(agent.slices(1, seq=seq))
    assert "seq" in json_error(reply, 422)["message"]
    assert rows(agency, "slices") == 0


def test_the_largest_seq_is_stored(agent: Agent, agency: Collector) -> None:
    reply = agent.send(agent.slices(1, seq=2**63 - 1))
    assert reply.status_code == 200, reply.text
    assert rows(agency, "slices") == 1


@pytest.mark.parametrize("queued", [-1, 2**63])
def test_queue_counts_are_bounded(agent: Agent, agency: Collector, queued: int) -> None:
    reply = agent.send(agent.slices(1), queue={"queued": queued})
    assert "queued" in json_error(reply, 422)["message"]


@pytest.mark.parametrize(
    "start", ["9999-12-31T23:59:00Z", "9999-12-31T23:59:00-01:00", "0001-01-01T00:59:00+01:00"]
)
def test_a_start_at_the_ends_of_time_is_a_422(agent: Agent, agency: Collector, start: str) -> None:
    reply = agent.send([{**agent.slices(1)[0], "start": start}])
    problems = json_error(reply, 422)["details"]
    assert [p["field"] for p in problems] == ["heartbeats[0].start"]
    assert "out of range" in problems[0]["message"]
    assert rows(agency, "slices") == 0
