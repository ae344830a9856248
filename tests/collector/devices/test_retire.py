"""Uninstall: the agent's signed "retired" message marks the device; sending again clears it."""

from __future__ import annotations

import json

import pytest

from tests.collector.conftest import Agent, Collector

RETIRE = "/api/v1/agents/retire"


def summary(agency: Collector, agent: Agent) -> dict[str, object]:
    listed = json.loads(agency.cli("devices", "--json").output)
    return dict(next(d for d in listed if d["device_id"] == agent.device_id))


def test_a_retired_device_shows_as_uninstalled_until_it_sends_again(
    agency: Collector, agent: Agent
) -> None:
    reply = agent.signed_post(RETIRE, b'{"unsent_slices": 7}')
    assert reply.status_code == 200, reply.text
    assert reply.json()["device_id"] == agent.device_id
    device = summary(agency, agent)
    assert device["retired_at"] == reply.json()["retired_at"]
    assert device["retired_unsent"] == 7
    # Reinstalled with its data kept: the next batch makes it current again.
    assert agent.send(agent.slices(1)).status_code == 200
    device = summary(agency, agent)
    assert device["retired_at"] is None and device["retired_unsent"] is None


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b'{"unsent_slices": -1}', 422, "invalid_request"),
        (b'{"unsent_slices": 99999999999999999999999}', 422, "invalid_request"),
        (b'{"unsent_slices": "7"}', 422, "invalid_request"),
        (b"<html>not json</html>", 400, "malformed_json"),
        (b'{"unsent_slices": 1, "x": "\\u0000"}', 200, None),  # unknown fields are ignored
    ],
)
def test_bad_retire_bodies_get_a_clear_error_and_change_nothing(
    agency: Collector, agent: Agent, body: bytes, status: int, error: str | None
) -> None:
    reply = agent.signed_post(RETIRE, body)
    assert reply.status_code == status, reply.text
    if error is not None:
        assert reply.json()["error"] == error
        assert summary(agency, agent)["retired_at"] is None


def test_an_unsigned_or_revoked_device_cannot_retire(agency: Collector, agent: Agent) -> None:
    unsigned = agency.http.post(RETIRE, content=b'{"unsent_slices": 0}')
    assert unsigned.status_code == 401
    agency.cli("revoke-device", agent.device_id)
    revoked = agent.signed_post(RETIRE, b'{"unsent_slices": 0}')
    assert revoked.status_code == 403 and revoked.json()["error"] == "device_revoked"
    assert summary(agency, agent)["retired_at"] is None
