"""Uninstall: the agent's signed "retired" message marks the device; sending again clears it."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from collector.cli.context import shown_time
from collector.db.models import Device
from collector.devices import management
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


def test_every_listing_says_uninstalled_the_same_way(agency: Collector, agent: Agent) -> None:
    """Finding: Admin → Devices said "uninstalled" while the command line said "active"."""
    other = agency.enroll("bob")
    reply = agent.signed_post(RETIRE, b'{"unsent_slices": 7}')
    assert reply.status_code == 200
    at = shown_time(reply.json()["retired_at"])
    agency.cli("revoke-device", other.device_id)

    table = {line.split()[0]: line for line in agency.cli("devices").output.splitlines()[1:]}
    assert table[agent.device_id].endswith(f"  uninstalled {at}, 7 slices unsent at uninstall")
    revoked = summary(agency, other)["revoked_at"]
    assert table[other.device_id].endswith(f"  revoked {shown_time(str(revoked))}")
    assert summary(agency, agent)["state"] == "uninstalled"
    assert summary(agency, other)["state"] == "revoked"
    token = agency.token("manager")
    listed = agency.http.get("/api/v1/devices", headers={"Authorization": f"Bearer {token}"})
    states = {d["device_id"]: d["state"] for d in listed.json()["devices"]}
    assert states == {agent.device_id: "uninstalled", other.device_id: "revoked"}

    # Back in use: active everywhere again.
    assert agent.send(agent.slices(1)).status_code == 200
    table = {line.split()[0]: line for line in agency.cli("devices").output.splitlines()[1:]}
    assert table[agent.device_id].endswith("  active")
    assert summary(agency, agent)["state"] == "active"


@pytest.mark.parametrize(
    ("unsent", "note"),
    [
        (0, "uninstalled T, nothing unsent at uninstall"),
        (1, "uninstalled T, 1 slice unsent at uninstall"),
        (12, "uninstalled T, 12 slices unsent at uninstall"),
    ],
)
def test_the_state_in_words(unsent: int, note: str) -> None:
    now = dt.datetime(2026, 11, 24, 14, 5, tzinfo=dt.UTC)
    device = Device(revoked_at=None, retired_at=now, retired_unsent=unsent)
    assert management.state(device).describe(lambda _moment: "T") == note
    assert management.state(device).badge == "warn"
    device.revoked_at = now  # revoked outranks what the agent said before
    assert management.state(device) == management.DeviceState("revoked", now)
    assert management.state(device).describe(lambda _moment: "T") == "revoked T"
    assert management.state(Device(revoked_at=None, retired_at=None)).describe(str) == "active"


def test_a_retire_sent_again_after_the_device_came_back_is_ignored(
    agency: Collector, agent: Agent
) -> None:
    """A signature holds for ±300 s: someone who saw an uninstall's request could send it
    again after a reinstall and mark the device uninstalled until its next batch."""
    signed = int(time.time()) - 60
    body = b'{"unsent_slices": 4}'
    assert agent.signed_post(RETIRE, body, timestamp=signed).status_code == 200
    assert summary(agency, agent)["state"] == "uninstalled"
    # Reinstalled: the agent's time check at start is a batch of no slices.
    assert agent.send([]).status_code == 200
    listed = agency.cli("devices", "--json").output

    replay = agent.signed_post(RETIRE, body, timestamp=signed)

    assert replay.status_code == 409, replay.text
    assert replay.json()["error"] == "stale_retire"
    assert "before the device's last batch arrived" in replay.json()["message"]
    assert summary(agency, agent)["state"] == "active"
    assert agency.cli("devices", "--json").output == listed  # nothing changed
    # A true uninstall, later: recorded.
    assert agent.signed_post(RETIRE, b'{"unsent_slices": 0}').status_code == 200
    assert summary(agency, agent)["state"] == "uninstalled"


def test_a_retire_signed_seconds_before_the_last_batch_still_counts(
    agency: Collector, agent: Agent
) -> None:
    """The agent signs with whole seconds and the offset it last saved: an uninstall just
    after a batch may read a few seconds earlier than the batch's arrival."""
    assert agent.send(agent.slices(1)).status_code == 200
    signed = int(time.time()) - 5
    reply = agent.signed_post(RETIRE, b'{"unsent_slices": 1}', timestamp=signed)
    assert reply.status_code == 200, reply.text
    assert summary(agency, agent)["state"] == "uninstalled"


def test_signed_after_the_retirement_reads_whole_seconds() -> None:
    """A signature's time is whole seconds: signed in the second the retirement arrived
    in counts as after it (a reinstalled agent's first request is never read as older
    than the uninstall); signed a second earlier is an old request sent again; a device
    in use has no retirement to end."""
    retired = dt.datetime(2026, 11, 24, 14, 5, 7, 600_000, tzinfo=dt.UTC)
    second = dt.datetime(2026, 11, 24, 14, 5, 7, tzinfo=dt.UTC)
    assert management.signed_after_retirement(retired, second)
    assert management.signed_after_retirement(retired, second + dt.timedelta(seconds=1))
    assert not management.signed_after_retirement(retired, second - dt.timedelta(seconds=1))
    assert not management.signed_after_retirement(None, second)
