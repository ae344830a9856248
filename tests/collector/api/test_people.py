"""The read-only people and devices API: what managers see, who may ask (both databases)."""

from __future__ import annotations

import pytest

from tests.collector.conftest import Collector


def _get(collector: Collector, path: str, token: str | None) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    reply = collector.http.get(path, headers=headers)
    return reply.status_code, reply.json()


def test_creators_and_chatters_for_a_manager(agency: Collector) -> None:
    manager = agency.token("manager")
    status, body = _get(agency, "/api/v1/creators", manager)
    assert status == 200
    assert body == {
        "creators": [
            {"key": "luna", "name": "Luna", "active": True},
            {"key": "nova", "name": "Nova", "active": True},
        ]
    }
    status, body = _get(agency, "/api/v1/chatters", manager)
    assert status == 200
    assert body == {
        "chatters": [
            {"key": "alice", "name": "Alice", "active": True, "creators": ["luna"]},
            {"key": "bob", "name": "Bob", "active": True, "creators": ["luna", "nova"]},
        ]
    }


def test_devices_in_enrollment_order_with_their_health(agency: Collector) -> None:
    first = agency.enroll("bob")
    second = agency.enroll("alice")
    assert first.send(first.slices(2)).status_code == 200
    agency.cli("revoke-device", second.device_id)
    status, body = _get(agency, "/api/v1/devices", agency.token("admin"))
    assert status == 200
    devices = body["devices"]
    assert isinstance(devices, list)
    assert [d["device_id"] for d in devices] == [first.device_id, second.device_id]
    assert devices[0]["chatter"] == "bob" and devices[0]["slices_received"] == 2
    assert devices[0]["revoked_at"] is None and devices[1]["revoked_at"] is not None
    assert devices[0]["missing_slices"] == 0


@pytest.mark.parametrize("path", ["/api/v1/creators", "/api/v1/chatters", "/api/v1/devices"])
def test_only_managers_and_admins(agency: Collector, path: str) -> None:
    assert _get(agency, path, None)[0] == 401
    assert _get(agency, path, "ctk_not_a_token")[0] == 401
    for role, chatter in (("integration", None), ("chatter", "alice")):
        status, body = _get(agency, path, agency.token(role, chatter))
        assert status == 403 and body["error"] == "forbidden", (role, body)
