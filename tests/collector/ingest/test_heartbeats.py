"""Heartbeat ingestion: exactly-once storage and every validation rule (both databases)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from collector.db.models import Slice
from shared.protocol import format_time
from tests.collector.conftest import Agent, Collector
from tests.collector.devices.test_retire import RETIRE, summary


def stored(collector: Collector) -> list[tuple[Any, ...]]:
    engine = create_engine(collector.database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Slice.start, Slice.seq, Slice.keystrokes).order_by(Slice.start)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def count(collector: Collector) -> int:
    engine = create_engine(collector.database_url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(Slice))
    engine.dispose()
    return int(n or 0)


def test_batch_is_stored_with_counts(agency: Collector, agent: Agent) -> None:
    slices = agent.slices(5)
    reply = agent.send(slices)
    assert reply.status_code == 200
    data = reply.json()
    assert data["accepted"] == 5 and data["duplicates"] == 0 and data["gaps"] == []
    assert data["settings"]["slice_seconds"] == 60
    assert "server_time" in data
    rows = stored(agency)
    assert [r[1] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0][0] == dt.datetime.fromisoformat(slices[0]["start"])
    assert rows[0][0].tzinfo is not None


def test_resent_and_overlapping_batches_store_once(agency: Collector, agent: Agent) -> None:
    first = agent.slices(6)
    assert agent.send(first[:4], batch_id="b1").json()["accepted"] == 4
    again = agent.send(first[:4], batch_id="b1").json()
    assert (again["accepted"], again["duplicates"]) == (0, 4)
    overlap = agent.send(first[2:], batch_id="b2").json()
    assert (overlap["accepted"], overlap["duplicates"]) == (2, 2)
    assert count(agency) == 6


def test_gaps_in_seq_are_reported(agent: Agent) -> None:
    slices = agent.slices(6)
    assert agent.send(slices[:2]).json()["gaps"] == []
    reply = agent.send([slices[3], slices[5]]).json()
    assert reply["gaps"] == [[3, 3], [5, 5]]


def test_settings_changes_reach_the_agent(agency: Collector, agent: Agent) -> None:
    agency.cli("settings", "set", "idle_threshold_seconds", "300")
    assert agent.send([]).json()["settings"]["idle_threshold_seconds"] == 300
    agency.cli("settings", "set", "idle_threshold_seconds", "120", "--chatter", "alice")
    assert agent.send([]).json()["settings"]["idle_threshold_seconds"] == 120
    agency.cli("settings", "unset", "idle_threshold_seconds", "--chatter", "alice")
    assert agent.send([]).json()["settings"]["idle_threshold_seconds"] == 300


def test_slice_length_stated_by_the_batch(agency: Collector, agent: Agent) -> None:
    """Slices queued at an old slice length stay valid after the setting changes."""
    agency.cli("settings", "set", "slice_seconds", "60")
    ten = agent.slices(3, slice_seconds=10)
    reply = agent.send(ten, slice_seconds=10)
    assert reply.status_code == 200, reply.text
    assert reply.json()["accepted"] == 3
    # Without slice_seconds the device's setting (60) applies, and :10 is misaligned.
    at_ten_past = dt.datetime.fromtimestamp(int(time.time()) // 60 * 60 - 3590, dt.UTC)
    reply = agent.send(agent.slices(1, slice_seconds=10, start=at_ten_past))
    assert reply.status_code == 422 and "not aligned" in str(reply.json()["details"])


def _aligned(seconds_ago: int) -> str:
    now = int(time.time())
    return format_time(dt.datetime.fromtimestamp((now - seconds_ago) // 60 * 60, dt.UTC))


# Times are computed when a case runs, not when the module is collected: a long test
# session must not turn "15 minutes ahead" into the past.
Change = Callable[[], dict[str, Any]]

INVALID: list[tuple[str, Change, str]] = [
    ("misaligned start", lambda: {"start": _aligned(600)[:-3] + "07Z"}, "not aligned"),
    ("zero duration", lambda: {"duration": 0}, "outside 1..3600"),
    ("huge duration", lambda: {"duration": 3601}, "outside 1..3600"),
    ("duration past slice", lambda: {"duration": 61}, "longer than the 60-second slice"),
    ("active over duration", lambda: {"active_seconds": 61, "duration": 60}, "active_seconds"),
    ("input over duration", lambda: {"input_seconds": 70}, "input_seconds"),
    ("negative keystrokes", lambda: {"keystrokes": -1}, ">= 0"),
    ("negative mouse", lambda: {"mouse_events": -5}, ">= 0"),
    ("implausible keystrokes", lambda: {"keystrokes": 3001}, "implausible"),
    ("implausible mouse", lambda: {"mouse_events": 12001}, "implausible"),
    ("future start", lambda: {"start": _aligned(-900)}, "future"),
    ("too old", lambda: {"start": _aligned(36 * 86400)}, "older than 35 days"),
    ("paused plus active", lambda: {"paused_seconds": 40, "active_seconds": 30}, "exceed"),
    ("naive time", lambda: {"start": _aligned(600)[:-1]}, "timezone"),
    ("string count", lambda: {"keystrokes": "12"}, "Expected `int`"),
]


@pytest.mark.parametrize(("case", "change", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_slice_rejects_whole_batch(
    agency: Collector, agent: Agent, case: str, change: Change, message: str
) -> None:
    good = agent.slices(3)
    bad = {**good[1], **change()}
    reply = agent.send([good[0], bad, good[2]])
    assert reply.status_code == 422, (case, reply.text)
    body = reply.json()
    assert body["error"] == "invalid_batch"
    assert message in (body["message"] + str(body["details"])), body
    assert count(agency) == 0  # all or nothing


def test_every_problem_is_listed(agent: Agent) -> None:
    slices = agent.slices(2)
    slices[0]["duration"] = 0
    slices[1]["input_seconds"] = 99
    details = agent.send(slices).json()["details"]
    fields = {d["field"] for d in details}
    assert {"heartbeats[0].duration", "heartbeats[1].input_seconds"} <= fields


@pytest.mark.parametrize("field", ["batch_id", "agent_version"])
def test_a_final_line_break_is_refused(agency: Collector, agent: Agent, field: str) -> None:
    """The schema's pattern ends in "$", which matches before a final line break too."""
    reply = agent.send(agent.slices(1), **{field: "ab12\n"})
    assert reply.status_code == 422, reply.text
    assert {"field": field, "message": "must not end with a line break"} in reply.json()["details"]
    assert count(agency) == 0


def test_duplicate_start_in_one_batch(agent: Agent) -> None:
    one = agent.slices(1)[0]
    reply = agent.send([one, {**one, "seq": one["seq"] + 1}])
    assert reply.status_code == 422 and "appears twice" in str(reply.json()["details"])


def test_more_than_1000_slices(agency: Collector, agent: Agent) -> None:
    reply = agent.send(agent.slices(1001))
    assert reply.status_code == 422 and "at most 1000" in str(reply.json()["details"])
    assert count(agency) == 0
    assert agent.send(agent.slices(1000)).json()["accepted"] == 1000


def test_body_over_one_mebibyte(agent: Agent) -> None:
    body = agent.batch_body(agent.slices(1), agent_version="x" * 10, padding="y" * (1 << 20))
    reply = agent.signed_post("/api/v1/heartbeats", body)
    assert reply.status_code == 413
    assert reply.json()["error"] == "request_entity_too_large"


def test_malformed_json(agent: Agent) -> None:
    reply = agent.signed_post("/api/v1/heartbeats", b'{"batch_id": "x", ')
    assert reply.status_code == 400 and reply.json()["error"] == "malformed_json"


def test_offline_for_thirty_days_is_accepted(agency: Collector, agent: Agent) -> None:
    start = dt.datetime.fromtimestamp((int(time.time()) - 30 * 86400) // 60 * 60, dt.UTC)
    reply = agent.send(agent.slices(3, start=start))
    assert reply.status_code == 200 and reply.json()["accepted"] == 3


def test_agent_reports_queue_health(agency: Collector, agent: Agent) -> None:
    agent.send(
        agent.slices(1), agent_version="0.2.0", queue={"queued": 7, "parked": 1, "dropped": 2}
    )
    devices = agency.cli("devices", "--json").output
    assert (
        '"queued": 7' in devices
        and '"dropped": 2' in devices
        and '"agent_version": "0.2.0"' in devices
    )


def test_agent_reports_slices_it_lost(agency: Collector, agent: Agent) -> None:
    """queue.lost/lost_reason are optional: older agents omit them, and a bad value refuses
    the batch like any other field (the agent limits and checks them before sending)."""
    reason = "outbox damaged (file is not a database); moved aside"
    queue = {"queued": 0, "parked": 0, "dropped": 0, "lost": 5, "lost_reason": reason}
    assert agent.send(agent.slices(1), queue=queue).status_code == 200
    device = json.loads(agency.cli("devices", "--json").output)[0]
    assert device["queue"]["lost"] == 5 and device["queue"]["lost_reason"] == reason
    assert agent.send(agent.slices(1), queue={"queued": 0}).status_code == 200
    assert json.loads(agency.cli("devices", "--json").output)[0]["queue"]["lost"] == 0
    refused = agent.send(agent.slices(1), queue={"lost": -1})
    assert refused.status_code == 422


def test_problem_list_is_capped(agent: Agent) -> None:
    slices = agent.slices(150, keystrokes=5000)  # one problem each
    body = agent.send(slices).json()
    assert len(body["details"]) == 100
    assert "150 problems" in body["message"] and "first 100 listed" in body["message"]


# One device, one slice length at a time: stored slices never overlap (issue 12, finding 1).


def _minute(minutes_ago: int) -> dt.datetime:
    """A minute boundary this many minutes ago (whole minutes: every length is aligned)."""
    return dt.datetime.fromtimestamp((int(time.time()) // 60 - minutes_ago) * 60, dt.UTC)


def _online(agency: Collector, chatter: str = "alice") -> tuple[int, int]:
    """(online, active) seconds of the chatter today and yesterday, as the stats API says."""
    token = agency.token("manager")
    today = dt.datetime.now(dt.UTC).date()
    params = {
        "start": str(today - dt.timedelta(days=1)),
        "end": str(today),
        "tz": "UTC",
        "compare": "false",
    }
    rows = agency.http.get(
        "/api/v1/stats/chatters", params=params, headers={"Authorization": f"Bearer {token}"}
    ).json()["chatters"]
    row = next(r for r in rows if r["key"] == chatter)
    return row["online_seconds"], row["active_seconds"]


def _spans(collector: Collector) -> list[tuple[dt.datetime, int]]:
    engine = create_engine(collector.database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(Slice.start, Slice.slice_seconds).order_by(Slice.start)).all()
    engine.dispose()
    return [(start, seconds) for start, seconds in rows]


def _full(agent: Agent, count: int, start: dt.datetime, seconds: int) -> list[dict[str, Any]]:
    """Slices that were fully running and fully active."""
    return agent.slices(
        count,
        start=start,
        slice_seconds=seconds,
        active_seconds=seconds,
        input_seconds=seconds,
        keystrokes=0,
        mouse_events=0,
    )


def test_shorter_slices_inside_a_stored_slice_are_refused(agency: Collector, agent: Agent) -> None:
    """The issue's case: a 60 s slice plus 59 one-second slices in one minute."""
    minute = _minute(30)
    assert agent.send(_full(agent, 1, minute, 60)).status_code == 200
    inside = _full(agent, 59, minute + dt.timedelta(seconds=1), 1)
    reply = agent.send(inside, slice_seconds=1)
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["error"] == "overlapping_slices"
    assert "nothing was stored" in body["message"]
    assert len(body["details"]) == 59
    first = body["details"][0]
    assert first["field"] == "heartbeats[0].start"
    assert f"{format_time(minute)} (60 s)" in first["message"]
    assert count(agency) == 1
    assert _online(agency) == (60, 60)


def test_a_longer_slice_over_stored_ones_is_refused(agency: Collector, agent: Agent) -> None:
    minute = _minute(30)
    ones = _full(agent, 3, minute + dt.timedelta(seconds=10), 1)
    assert agent.send(ones, slice_seconds=1).status_code == 200
    reply = agent.send(_full(agent, 1, minute, 60))
    assert reply.status_code == 422, reply.text
    message = reply.json()["details"][0]["message"]
    for second in (10, 11, 12):
        assert f"{format_time(minute + dt.timedelta(seconds=second))} (1 s)" in message
    assert count(agency) == 3
    assert _online(agency) == (3, 3)


def test_every_length_in_one_minute_counts_once(agency: Collector, agent: Agent) -> None:
    """Up to 360 s in one minute were possible with every allowed length; now 60."""
    minute = _minute(30)
    accepted = 0
    for seconds in (60, 30, 20, 15, 12, 10, 6, 5, 4, 3, 2, 1):
        reply = agent.send(_full(agent, 60 // seconds, minute, seconds), slice_seconds=seconds)
        assert reply.status_code in (200, 422), reply.text
        accepted += reply.status_code == 200
    assert accepted == 1
    assert _online(agency) == (60, 60)


def test_the_same_start_with_another_length_is_refused(agency: Collector, agent: Agent) -> None:
    minute = _minute(30)
    assert agent.send(_full(agent, 1, minute, 60)).status_code == 200
    reply = agent.send(_full(agent, 1, minute, 30), slice_seconds=30)
    assert reply.status_code == 422, reply.text
    assert _spans(agency) == [(minute, 60)]


def test_an_exact_resend_is_a_duplicate(agency: Collector, agent: Agent) -> None:
    minute = _minute(30)
    ones = _full(agent, 5, minute, 1)
    assert agent.send(ones, slice_seconds=1).json()["accepted"] == 5
    again = agent.send(ones, slice_seconds=1)
    assert again.status_code == 200, again.text
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 5)
    # Half known, half new: the new half is stored, the known half counted as duplicates.
    more = ones[3:] + _full(agent, 2, minute + dt.timedelta(seconds=5), 1)
    reply = agent.send(more, slice_seconds=1).json()
    assert (reply["accepted"], reply["duplicates"]) == (2, 2)


def test_a_new_length_from_a_boundary_of_both(agency: Collector, agent: Agent) -> None:
    minute = _minute(30)
    assert agent.send(_full(agent, 1, minute, 60)).status_code == 200
    after = _full(agent, 60, minute + dt.timedelta(seconds=60), 1)
    assert agent.send(after, slice_seconds=1).status_code == 200
    halves = _full(agent, 2, minute + dt.timedelta(seconds=120), 30)
    assert agent.send(halves, slice_seconds=30).status_code == 200
    # Back to one second at a 30 s boundary (a boundary of both lengths).
    tail = _full(agent, 30, minute + dt.timedelta(seconds=180), 1)
    assert agent.send(tail[:10], slice_seconds=1).status_code == 200
    assert count(agency) == 1 + 60 + 2 + 10
    assert _online(agency) == (60 + 60 + 60 + 10, 60 + 60 + 60 + 10)


def test_one_overlapping_slice_refuses_the_whole_batch(agency: Collector, agent: Agent) -> None:
    minute = _minute(30)
    assert agent.send(_full(agent, 1, minute + dt.timedelta(seconds=120), 60)).status_code == 200
    batch = _full(agent, 4, minute + dt.timedelta(seconds=100), 10)
    reply = agent.send(batch, slice_seconds=10)
    assert reply.status_code == 422, reply.text
    details = reply.json()["details"]
    assert [d["field"] for d in details] == ["heartbeats[2].start", "heartbeats[3].start"]
    assert count(agency) == 1


# One chatter, several devices: stored slices overlap only in the same slot (issue 12,
# the attacker's follow-up to finding 1).


def test_two_devices_of_one_chatter_in_the_same_slot_count_once(
    agency: Collector, agent: Agent
) -> None:
    """Two computers of one chatter at the same time, same start and length: both
    stored, the minute counted once (the most of the two)."""
    minute = _minute(30)
    other = agency.enroll("alice")
    assert agent.send(_full(agent, 1, minute, 60)).json()["accepted"] == 1
    reply = other.send(_full(other, 1, minute, 60))
    assert reply.status_code == 200, reply.text
    assert reply.json()["accepted"] == 1
    assert _spans(agency) == [(minute, 60), (minute, 60)]
    assert _online(agency) == (60, 60)
    # Each device's exact re-send is still a duplicate.
    again = other.send(_full(other, 1, minute, 60))
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 1)


def test_another_device_of_the_chatter_cannot_overlap(agency: Collector, agent: Agent) -> None:
    """The attacker's case: device A sends a 60 s slice, device B sixty 1 s slices of
    the same minute; 119 s online before, now B's batch is refused whole."""
    minute = _minute(30)
    other = agency.enroll("alice")
    assert agent.send(_full(agent, 1, minute, 60)).status_code == 200
    reply = other.send(_full(other, 60, minute, 1), slice_seconds=1)
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["error"] == "overlapping_slices" and "nothing was stored" in body["message"]
    assert len(body["details"]) == 60
    assert f"{format_time(minute)} (60 s)" in body["details"][0]["message"]
    assert _spans(agency) == [(minute, 60)]
    assert _online(agency) == (60, 60)
    # The other way round: B's slices stored first, A's minute is refused.
    later = minute + dt.timedelta(minutes=2)
    assert other.send(_full(other, 60, later, 1), slice_seconds=1).status_code == 200
    assert agent.send(_full(agent, 1, later, 60)).status_code == 422
    # The same start with another length is not the same slot either.
    third = minute + dt.timedelta(minutes=4)
    assert agent.send(_full(agent, 2, third, 30), slice_seconds=30).status_code == 200
    assert other.send(_full(other, 1, third, 60)).status_code == 422
    assert _online(agency) == (180, 180)


def test_every_length_from_twelve_devices_counts_once(agency: Collector) -> None:
    """Up to 360 s in one minute were possible with twelve devices of one chatter."""
    minute = _minute(30)
    accepted = 0
    for seconds in (60, 30, 20, 15, 12, 10, 6, 5, 4, 3, 2, 1):
        device = agency.enroll("alice")
        reply = device.send(_full(device, 60 // seconds, minute, seconds), slice_seconds=seconds)
        assert reply.status_code in (200, 422), reply.text
        accepted += reply.status_code == 200
    assert accepted == 1
    assert _online(agency) == (60, 60)


def test_devices_of_other_chatters_may_overlap(agency: Collector, agent: Agent) -> None:
    minute = _minute(30)
    bob = agency.enroll("bob")
    assert agent.send(_full(agent, 1, minute, 60)).status_code == 200
    assert bob.send(_full(bob, 60, minute, 1), slice_seconds=1).status_code == 200
    assert _online(agency) == (60, 60) and _online(agency, "bob") == (60, 60)


def test_a_batch_signed_before_an_uninstall_leaves_the_device_uninstalled(
    agency: Collector, agent: Agent
) -> None:
    """A signature holds for 300 s: a batch signed before the agent's uninstall message,
    sent again after it (its slices duplicates, no slices, or slices never delivered), is
    taken as ever but does not bring the device back; the reinstalled agent's batch,
    signed after the uninstall, does."""
    before = int(time.time()) - 30
    captured = agent.batch_body(agent.slices(2))
    first = agent.signed_post("/api/v1/heartbeats", captured, timestamp=before)
    assert first.status_code == 200 and first.json()["accepted"] == 2, first.text
    assert agent.signed_post(RETIRE, b'{"unsent_slices": 1}').status_code == 200
    retired = summary(agency, agent)
    assert retired["state"] == "uninstalled"

    for body, accepted, duplicates in (
        (captured, 0, 2),  # the same batch again: duplicates only
        (agent.batch_body([]), 0, 0),  # a time check
        (agent.batch_body(agent.slices(1)), 1, 0),  # signed then, delivered only now
    ):
        replay = agent.signed_post("/api/v1/heartbeats", body, timestamp=before)
        assert replay.status_code == 200, replay.text
        assert (replay.json()["accepted"], replay.json()["duplicates"]) == (accepted, duplicates)
        device = summary(agency, agent)
        assert device["state"] == "uninstalled", device
        assert (device["retired_at"], device["retired_unsent"]) == (retired["retired_at"], 1)
    assert count(agency) == 3

    # Reinstalled: its first batch, a time check signed after the uninstall.
    assert agent.send([]).status_code == 200
    device = summary(agency, agent)
    assert (device["state"], device["retired_at"], device["retired_unsent"]) == (
        "active",
        None,
        None,
    )
