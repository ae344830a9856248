"""The rollup views equal the reference on ingested rows, whatever the arrival order (both DBs)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from sqlalchemy import create_engine

from collector.conversations import queries
from collector.stats.periods import Period, period
from tests.collector.conftest import Collector
from tests.collector.conversations.checks import check_database
from tests.collector.conversations.fixtures import (
    SCENARIO,
    auto_click,
    call,
    message,
    nps,
    order,
    request,
    widget,
)

START = dt.datetime(2026, 10, 20, tzinfo=dt.UTC)


def random_events(seed: int, count: int = 400) -> list[dict[str, Any]]:
    """Traffic over 10 days around the Berlin autumn DST change, with repeats and orphans."""
    rnd = random.Random(seed)
    visitors = [f"v{i}" for i in range(12)]
    requests = [f"r{i}" for i in range(40)]
    events: list[dict[str, Any]] = []

    def when() -> dt.datetime:
        return START + dt.timedelta(seconds=rnd.randrange(10 * 86_400))

    for i in range(count):
        eid = f"x{seed}-{i}"
        v = rnd.choice(visitors)
        agent = rnd.choice(["alice", "bob", None])
        pick = rnd.random()
        if pick < 0.15:
            initiator = rnd.choice(["agent", "visitor"])
            events.append(
                request(
                    eid,
                    when(),
                    rnd.choice(requests),
                    initiator,
                    rnd.choice(["text", "video"]),
                    v,
                    url=f"https://shop.test/{rnd.randrange(4)}",
                    agent=agent or "alice" if initiator == "agent" else agent,
                )
            )
        elif pick < 0.45:
            side = rnd.choice(["agent", "visitor"])
            events.append(
                message(eid, when(), rnd.choice(requests), side, agent if side == "agent" else None)
            )
        elif pick < 0.55:
            ended = rnd.random() < 0.5
            events.append(
                call(eid, when(), rnd.choice(requests), ended=ended, agent=None if ended else agent)
            )
        elif pick < 0.65:
            cents = rnd.randrange(100, 10_000)
            events.append(
                order(
                    eid,
                    when(),
                    f"A-{rnd.randrange(30)}",
                    v,
                    f"{cents // 100}.{cents % 100:02d}",
                    discount=f"0.{rnd.randrange(100):02d}",
                )
            )
        elif pick < 0.85:
            click = rnd.choice([None, None, "widget", "notification"])
            events.append(widget(eid, when(), v, click=click))
        elif pick < 0.9:
            events.append(auto_click(eid, when(), v, rnd.choice(["t1", "t2", "t3"])))
        else:
            events.append(
                nps(
                    eid,
                    when(),
                    v,
                    rnd.choice(["submitted", "closed"]),
                    rnd.choice([None, 1, 2, 3, 4, 5]),
                    request_id=rnd.choice(requests),
                    agent=agent,
                    feedback=rnd.choice([None, "ok"]),
                )
            )
    return events


def periods() -> list[Period]:
    return [
        period(dt.date(2026, 10, 20), dt.date(2026, 10, 29), "UTC"),
        period(dt.date(2026, 10, 25), dt.date(2026, 10, 25), "Europe/Berlin"),
        period(dt.date(2026, 10, 22), dt.date(2026, 10, 26), "Asia/Kathmandu"),
        period(dt.date(2026, 10, 27), dt.date(2026, 10, 28), "America/New_York"),
        period(dt.date(2026, 11, 20), dt.date(2026, 11, 20), "UTC"),
    ]


def check(collector: Collector, window_days: int = 7) -> None:
    check_database(collector.database_url, periods(), window_days)


def test_scenario(agency: Collector, integration: str) -> None:
    assert agency.post_events(SCENARIO, integration).status_code == 200
    check(agency)
    engine = create_engine(agency.database_url)
    with engine.connect() as conn:
        day = period(dt.date(2026, 11, 20), dt.date(2026, 11, 20), "UTC")
        s = queries.summary(conn, day)
    engine.dispose()
    assert (s.conversations, s.orders, s.attributed_gmv, s.visitors_with_impression) == (
        3,
        2,
        6000,
        4,
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_random_traffic_in_random_batches(agency: Collector, integration: str, seed: int) -> None:
    events = random_events(seed)
    rnd = random.Random(seed)
    rnd.shuffle(events)
    i = 0
    while i < len(events):
        size = rnd.randrange(1, 80)
        reply = agency.post_events(events[i : i + size], integration)
        assert reply.status_code == 200, reply.text
        i += size
    check(agency)
    agency.cli("settings", "set", "attribution_window_days", "1")
    check(agency, window_days=1)
    agency.cli("settings", "unset", "attribution_window_days")
    check(agency)
