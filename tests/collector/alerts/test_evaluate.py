"""Each kind of rule with an injected clock, on SQLite and PostgreSQL: opened once,
kept open while the condition lasts, resolved when it clears."""

from __future__ import annotations

import datetime as dt

from collector.alerts import lifecycle
from collector.db.engine import begin_write
from collector.db.models import Chatter, Creator, Device
from tests.collector.alerts.conftest import NOW, Hook, World
from tests.collector.conftest import Collector
from tests.collector.stats.test_api import SCENARIO

MIN = dt.timedelta(minutes=1)


def test_no_rules_no_alerts(world: World) -> None:
    world.shift("alice", "luna")
    assert world.evaluate(NOW).as_dict()["opened"] == 0
    assert world.alerts() == []


def test_no_presence_opens_once_and_resolves(world: World) -> None:
    world.shift("alice", "luna", "09:00", "17:00")
    world.rule("no_presence", 15)
    world.presence("alice", "active", NOW - 10 * MIN)
    assert world.evaluate(NOW).opened == []  # silent 10 min: under the threshold
    later = NOW + 5 * MIN
    assert len(world.evaluate(later).opened) == 1
    for step in range(1, 10):  # the condition persists: the same alert, nothing new
        result = world.evaluate(later + step * MIN)
        assert result.opened == [] and result.still_open == 1
    [alert] = world.alerts()
    assert alert.chatter_id == world.id_of(Chatter, "alice")
    assert alert.creator_id == world.id_of(Creator, "luna")
    assert alert.occurrence_start == NOW.replace(hour=9)
    assert "no presence for 15 min" in alert.message and "Luna shift" in alert.message
    # Back: resolved by the system.
    world.presence("alice", "active", later + 10 * MIN)
    assert len(world.evaluate(later + 10 * MIN).resolved) == 1
    [alert] = world.alerts()
    assert alert.resolved_by == "system" and alert.open_key is None
    # Silent again for long enough: a new opening (a new alert, sent again).
    assert len(world.evaluate(later + 40 * MIN).opened) == 1
    assert len(world.alerts()) == 2


def test_presence_of_a_device_no_longer_in_use_does_not_count(world: World) -> None:
    """An uninstalled or revoked computer's last "active" is not the chatter being there:
    the rules read presence as the Now page does (``presence.state.in_use``)."""
    world.shift("alice", "luna", "09:00", "17:00")
    world.rule("no_presence", 15)
    world.rule("no_show", 10)
    world.presence("alice", "active", NOW + 14 * MIN)
    assert world.evaluate(NOW + 15 * MIN).opened == []  # fresh presence: all quiet
    device_id = world.device("alice")
    with world.session() as s:
        row = s.get(Device, device_id)
        assert row is not None
        row.retired_at = NOW - dt.timedelta(hours=2)
        s.commit()
    assert len(world.evaluate(NOW + 16 * MIN).opened) == 2
    assert sorted(a.kind for a in world.open_alerts()) == ["no_presence", "no_show"]


def test_no_presence_counts_the_last_batch_as_the_now_page_does(world: World) -> None:
    """An agent sending slices but no presence (an older one, the demo) is heard from:
    the last batch (``Device.last_seen_at``) counts, as on the Now page; a revoked
    device's does not."""
    world.shift("alice", "luna", "09:00", "17:00")
    world.rule("no_presence", 15)
    device_id = world.device("alice")

    def last_batch(at: dt.datetime) -> None:
        with world.session() as s:
            row = s.get(Device, device_id)
            assert row is not None
            row.last_seen_at = at
            s.commit()

    last_batch(NOW - 10 * MIN)
    assert world.evaluate(NOW).opened == []  # a batch 10 min ago: under the threshold
    assert len(world.evaluate(NOW + 5 * MIN).opened) == 1  # silent 15 min
    last_batch(NOW + 6 * MIN)
    assert len(world.evaluate(NOW + 7 * MIN).resolved) == 1
    with world.session() as s:
        row = s.get(Device, device_id)
        assert row is not None
        row.revoked_at = NOW + 8 * MIN
        s.commit()
    assert len(world.evaluate(NOW + 9 * MIN).opened) == 1  # revoked: its batch is not her


def test_no_presence_counts_from_the_shift_start(world: World) -> None:
    world.shift("alice", "luna", "10:00", "12:00")
    world.rule("no_presence", 15)
    world.presence("alice", "active", NOW - dt.timedelta(hours=5))  # yesterday evening
    assert world.evaluate(NOW + 14 * MIN).opened == []
    assert len(world.evaluate(NOW + 15 * MIN).opened) == 1
    # The shift ends: no longer "during a scheduled shift", resolved.
    assert len(world.evaluate(NOW + dt.timedelta(hours=2)).resolved) == 1


def test_no_presence_outside_shifts_and_scope(world: World) -> None:
    world.shift("alice", "luna", "12:00", "14:00")  # later today
    world.shift("bob", "nova", "09:00", "17:00")
    world.rule("no_presence", 5, creator="luna", creator_given=True)
    assert world.evaluate(NOW + 30 * MIN).opened == []  # bob's shift is nova's: out of scope


def test_idle(world: World) -> None:
    world.shift("alice", "luna")
    world.rule("idle", 10)
    world.presence("alice", "idle", NOW, idle_seconds=300)
    assert world.evaluate(NOW).opened == []  # 5 min idle
    # Still idle 5 minutes later (the agent's count plus the time since it arrived).
    world.presence("alice", "idle", NOW + 5 * MIN - dt.timedelta(seconds=20), idle_seconds=580)
    assert len(world.evaluate(NOW + 5 * MIN).opened) == 1
    # A second device active: not idle any more.
    world.presence("alice", "active", NOW + 6 * MIN, device="laptop")
    assert len(world.evaluate(NOW + 6 * MIN).resolved) == 1
    # Paused is not idle; offline is not idle either (that is no_presence's).
    world.presence("alice", "paused", NOW + 7 * MIN, device="laptop")
    world.presence("alice", "paused", NOW + 7 * MIN, idle_seconds=3000)
    assert world.evaluate(NOW + 7 * MIN).opened == []
    world.presence("alice", "idle", NOW + 8 * MIN, idle_seconds=3000)
    assert world.evaluate(NOW + 20 * MIN).opened == []  # its message is 12 min old: offline


def test_no_show_and_showing_up(world: World) -> None:
    world.shift("alice", "luna", "10:00", "18:00")
    world.shift("bob", "luna", "10:00", "18:00")
    world.rule("no_show", 10)
    world.presence("bob", "active", NOW - 30 * MIN)  # before the shift: does not count
    assert world.evaluate(NOW + 9 * MIN).opened == []
    assert len(world.evaluate(NOW + 10 * MIN).opened) == 2
    # alice's agent sends a slice (no presence): she showed up; bob sends presence.
    world.slice("alice", NOW + 11 * MIN)
    world.presence("bob", "active", NOW + 12 * MIN)
    assert len(world.evaluate(NOW + 13 * MIN).resolved) == 2


def test_no_show_stays_open_after_the_shift(world: World) -> None:
    world.shift("alice", "luna", "10:00", "11:00")
    world.rule("no_show", 10)
    assert len(world.evaluate(NOW + 30 * MIN).opened) == 1
    # The shift is over and she never came: the alert stays until someone resolves it.
    result = world.evaluate(NOW + dt.timedelta(hours=3))
    assert result.resolved == [] and result.still_open == 1


def test_no_show_overnight_shift_in_a_zone(world: World) -> None:
    # 22:00-06:00 in Paris (UTC+1 in March before the change): started 21:00 UTC yesterday.
    world.shift(
        "alice",
        "luna",
        "22:00",
        "06:00",
        zone="Europe/Paris",
        day=NOW.date() - dt.timedelta(days=1),
    )
    world.rule("no_show", 30)
    start = dt.datetime(2026, 3, 9, 21, 0, tzinfo=dt.UTC)
    assert world.evaluate(start + 29 * MIN).opened == []
    assert len(world.evaluate(start + 30 * MIN).opened) == 1
    [alert] = world.alerts()
    assert alert.occurrence_start == start and alert.occurrence_end == start + dt.timedelta(hours=8)


def test_coverage(world: World) -> None:
    world.coverage("luna", 2)
    world.shift("alice", "luna")
    world.shift("bob", "nova")  # bob is scheduled for nova now: does not count for luna
    world.rule("coverage", 1)
    world.presence("alice", "active", NOW)
    world.presence("bob", "active", NOW)
    assert len(world.evaluate(NOW).opened) == 1
    [alert] = world.alerts()
    assert alert.creator_id == world.id_of(Creator, "luna") and "1 chatter online," in alert.message
    assert world.evaluate(NOW + MIN).opened == []  # persists: one alert
    # bob's shift moves to luna: two online, covered, resolved.
    with world.session() as s:
        from collector.db.schedule_models import Shift

        for shift in s.query(Shift).filter(Shift.chatter_id == world.id_of(Chatter, "bob")):
            shift.creator_id = world.id_of(Creator, "luna")
        s.commit()
    world.presence("alice", "active", NOW + 2 * MIN)
    world.presence("bob", "active", NOW + 2 * MIN)
    assert len(world.evaluate(NOW + 2 * MIN).resolved) == 1


def test_coverage_unscheduled_linked_chatters_count(world: World) -> None:
    world.coverage("nova", 1)
    world.rule("coverage", 1)
    assert len(world.evaluate(NOW).opened) == 1  # nobody online for nova
    world.presence("bob", "idle", NOW + MIN, idle_seconds=60)  # unscheduled, linked to nova
    assert len(world.evaluate(NOW + MIN).resolved) == 1
    world.presence("bob", "paused", NOW + 2 * MIN)  # paused is not online
    assert len(world.evaluate(NOW + 2 * MIN).opened) == 1
    # alice is online but linked to luna only.
    world.presence("alice", "active", NOW + 3 * MIN)
    assert world.evaluate(NOW + 3 * MIN).opened == [] and len(world.open_alerts()) == 1


def test_coverage_threshold_is_the_shortfall(world: World) -> None:
    world.coverage("luna", 3)
    world.rule("coverage", 3)  # alert when at least 3 are missing
    world.presence("alice", "active", NOW)
    assert world.evaluate(NOW).opened == []  # 1 online, 3 required: short by 2
    world.presence("alice", "active", NOW - 5 * MIN)
    assert len(world.evaluate(NOW).opened) == 1  # nobody: short by 3


def test_response_time_of_the_day(world: World, agency: Collector, integration: str) -> None:
    # The stats scenario: alice answers f3 after 600 s on 2026-11-20 (METRICS.md).
    assert agency.post_events(SCENARIO, integration).status_code == 200
    day = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
    world.rule("response_time", 600)
    assert world.evaluate(day).opened == []  # 600 is not above 600
    rule = world.rule("response_time", 599)
    result = world.evaluate(day)
    assert len(result.opened) == 1
    [alert] = world.open_alerts()
    assert alert.rule_id == rule and alert.day == dt.date(2026, 11, 20)
    assert alert.chatter_id == world.id_of(Chatter, "alice") and "10 min 00 s" in alert.message
    assert world.evaluate(day + MIN).opened == []
    # The next day: a past day's average stays what it was; the alert stays open.
    result = world.evaluate(day + dt.timedelta(days=1))
    assert result.resolved == [] and result.opened == []
    # Scoped to a creator with no replies: nothing.
    world.rule("response_time", 1, creator="nova", creator_given=True)
    assert world.evaluate(day).opened == []


def test_resolved_by_hand_stays_quiet_for_the_episode(world: World, hook: Hook) -> None:
    """Resolving by hand while the condition holds: no reopening, nothing sent, however many
    rounds; the condition clearing ends the episode; coming back is a new alert, sent."""
    world.shift("alice", "luna", "09:00", "17:00")
    world.rule("no_presence", 15, webhook_url=hook.url)
    world.presence("alice", "active", NOW)
    assert len(world.evaluate(NOW + 15 * MIN).opened) == 1
    world.send(now=NOW + 15 * MIN)
    [first] = world.alerts()
    with world.session() as s:
        begin_write(s)
        lifecycle.resolve(lifecycle.get(s, first.id), "boss@agency.test", NOW + 16 * MIN)
        s.commit()
    for minute in range(16, 30):  # still silent: quiet, round after round
        result = world.evaluate(NOW + minute * MIN)
        assert (result.opened, result.still_open, result.quiet) == ([], 0, 1)
        world.send(now=NOW + minute * MIN)
    [first] = world.alerts()
    assert (first.resolved_by, first.quiet_key) == ("boss@agency.test", first.dedupe_key)
    assert len(world.deliveries()) == 1 and len(hook.received) == 1
    # Back: the condition cleared; the quiet ends (nothing else happens).
    world.presence("alice", "active", NOW + 30 * MIN)
    result = world.evaluate(NOW + 30 * MIN)
    assert (result.opened, result.resolved, result.quiet) == ([], [], 0)
    assert world.alerts()[0].quiet_key is None
    # Silent again: a new episode, a new alert, sent.
    assert len(world.evaluate(NOW + 50 * MIN).opened) == 1
    world.send(now=NOW + 50 * MIN)
    assert len(world.alerts()) == 2 and len(hook.received) == 2


def test_resolved_by_the_system_is_not_quiet(world: World) -> None:
    world.shift("alice", "luna", "09:00", "17:00")
    world.rule("no_presence", 15)
    world.presence("alice", "active", NOW)
    world.evaluate(NOW + 15 * MIN)
    world.presence("alice", "active", NOW + 20 * MIN)
    assert len(world.evaluate(NOW + 20 * MIN).resolved) == 1
    [alert] = world.alerts()
    assert alert.resolved_by == "system" and alert.quiet_key is None


def test_quiet_coverage_ends_when_covered(world: World) -> None:
    """A creator's coverage alert resolved by hand stays quiet while coverage stays short,
    and opens again after coverage was met once and fell short again."""
    world.coverage("luna", 1)
    world.rule("coverage", 1)
    assert len(world.evaluate(NOW).opened) == 1
    [alert] = world.alerts()
    with world.session() as s:
        begin_write(s)
        lifecycle.resolve(lifecycle.get(s, alert.id), "boss@agency.test", NOW + MIN)
        s.commit()
    assert world.evaluate(NOW + 2 * MIN).quiet == 1
    world.presence("alice", "active", NOW + 3 * MIN)  # linked to luna, scheduled nowhere
    assert world.evaluate(NOW + 3 * MIN).quiet == 0
    assert len(world.evaluate(NOW + 10 * MIN).opened) == 1  # her presence is stale again
