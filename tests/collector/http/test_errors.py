"""One JSON error shape everywhere, and no input that makes a 500 (both databases)."""

from __future__ import annotations

import time

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.collector.conftest import Agent, Collector


def assert_error_shape(body: dict[str, object]) -> None:
    assert set(body) == {"error", "message", "details"}
    assert isinstance(body["message"], str) and body["message"]


def test_unknown_route_and_method(collector: Collector) -> None:
    missing = collector.http.get("/api/v1/nothing")
    assert missing.status_code == 404
    assert_error_shape(missing.json())
    wrong = collector.http.get("/api/v1/heartbeats")
    assert wrong.status_code == 405
    assert_error_shape(wrong.json())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)
slice_like = st.fixed_dictionaries(
    {
        "seq": st.integers(-5, 2**64),
        "start": st.sampled_from(
            ["2026-11-20T10:00:00Z", "2026-11-20T10:00:07Z", "x", "2026-13-45T99:00:00Z"]
        ),
        "duration": st.integers(-10, 5000),
        "active_seconds": st.integers(-10, 5000),
        "input_seconds": st.integers(-10, 5000),
        "keystrokes": st.integers(-10, 2**63),
        "mouse_events": st.integers(-10, 2**40),
    }
)
batch_like = st.fixed_dictionaries(
    {
        "batch_id": st.text(max_size=70),
        "sent_at": st.sampled_from(["2026-11-20T10:00:00Z", "yesterday"]),
        "heartbeats": st.lists(slice_like, max_size=4),
    }
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(json_values, batch_like))
def test_random_signed_bodies_never_500(agent: Agent, body: object) -> None:
    raw = msgspec.json.encode(body)
    reply = agent.signed_post("/api/v1/heartbeats", raw, timestamp=int(time.time()))
    assert reply.status_code in {200, 400, 422}, reply.text
    if reply.status_code != 200:
        assert_error_shape(reply.json())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values)
def test_random_event_bodies_never_500(agency: Collector, integration: str, body: object) -> None:
    reply = agency.http.post(
        "/api/v1/events",
        content=msgspec.json.encode(body),
        headers={"Authorization": f"Bearer {integration}"},
    )
    assert reply.status_code in {400, 413, 422}, reply.text
    assert_error_shape(reply.json())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(["token", "hostname", "platform", "agent_version"]), json_values
    )
)
def test_random_enroll_bodies_never_500(collector: Collector, body: object) -> None:
    reply = collector.http.post("/api/v1/agents/enroll", content=msgspec.json.encode(body))
    assert reply.status_code in {400, 401, 422}, reply.text
    assert_error_shape(reply.json())
