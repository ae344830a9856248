"""The input timing fields of a heartbeat: stored when sound, refused (422, nothing stored)
when impossible, on both databases; a batch without them is stored as before."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from collector.db.engine import configure_engine
from collector.db.models import Slice
from collector.stats.rebuild import rebuild_all
from tests.collector.conftest import Agent, Collector
from tests.collector.ingest.test_processes import two_servers  # noqa: F401  (fixture)

JIGGLE = {
    "keystrokes": 0,
    "bursts": 2,
    "keyed_bursts": 0,
    "gaps": 2,
    "gap_ms_sum": 60_000,
    "gap_ms_sum_sq": 2 * 30_000**2,
}


def _stored(collector: Collector) -> list[tuple[Any, ...]]:
    engine = create_engine(collector.database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Slice.bursts,
                Slice.keyed_bursts,
                Slice.gaps,
                Slice.gap_ms_sum,
                Slice.gap_ms_sum_sq,
                Slice.regular,
            ).order_by(Slice.start)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_timing_is_stored_and_old_agents_send_none(agency: Collector, agent: Agent) -> None:
    assert agent.send(agent.slices(1)).status_code == 200
    assert agent.send(agent.slices(1, **JIGGLE)).status_code == 200
    assert _stored(agency) == [
        (None, None, None, None, None, False),
        (2, 0, 2, 60_000, 2 * 30_000**2, False),
    ]


def test_a_jiggler_for_five_minutes_is_regular_and_a_key_breaks_the_run(
    agency: Collector, agent: Agent
) -> None:
    assert agent.send(agent.slices(4, **JIGGLE)).status_code == 200
    assert [r[-1] for r in _stored(agency)] == [False] * 4  # four minutes: not yet
    typed = {**JIGGLE, "keystrokes": 3, "keyed_bursts": 1}
    assert agent.send(agent.slices(1, **typed)).status_code == 200
    assert [r[-1] for r in _stored(agency)] == [False] * 5
    assert agent.send(agent.slices(5, **JIGGLE)).status_code == 200
    assert [r[-1] for r in _stored(agency)] == [False] * 5 + [True] * 5
    # The run's first minutes arriving late join it: the earlier flags change too.
    early = agent.slices(3, start=agent.cursor, **JIGGLE)
    assert agent.send(early).status_code == 200
    assert [r[-1] for r in _stored(agency)] == [False] * 5 + [True] * 8


TOO_BIG = 2**63
INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("huge sum", {"gap_ms_sum": TOO_BIG}, "<= 9223372036854775807"),
    ("huge squares", {"gap_ms_sum_sq": 10**30}, "<= 9223372036854775807"),
    ("huge bursts", {"bursts": 2**31}, "<= 2147483647"),
    ("negative gaps", {"gaps": -1}, ">= 0"),
    ("negative sum", {"gap_ms_sum": -30_000}, ">= 0"),
    ("fractional", {"gap_ms_sum": 60_000.5}, "Expected `int | null`, got `float`"),
    ("only some fields", {"gap_ms_sum_sq": None}, "come together"),
    ("more bursts than seconds", {"bursts": 61}, "at most 60"),
    ("keyed over bursts", {"keyed_bursts": 3}, "more than bursts"),
    (
        "gaps over bursts",
        {"gaps": 3, "gap_ms_sum": 90_000, "gap_ms_sum_sq": 3 * 30_000**2},
        "more than bursts",
    ),
    ("sum without gaps", {"gaps": 0}, "must be 0"),
    ("sum too long", {"gap_ms_sum": 10**12, "gap_ms_sum_sq": 10**18}, "longer than"),
    # Two intervals summing to 60 s have squares of at least 2 x 30 s².
    ("squares below sum²/count", {"gap_ms_sum_sq": 2 * 30_000**2 - 1}, "no sum of squares"),
    ("squares above sum x longest", {"gap_ms_sum_sq": 60_000 * 86_400_001}, "no sum of squares"),
    # Found by review: two intervals summing to nothing were taken (each is at least 1 ms).
    ("gaps summing to nothing", {"gap_ms_sum": 0, "gap_ms_sum_sq": 0}, "at least 1 ms each"),
    ("gaps under 1 ms each", {"gap_ms_sum": 1, "gap_ms_sum_sq": 1}, "shorter than 2 gap(s)"),
    # Two intervals summing to 60 s: squares at most 59 999² + 1² (the rest of 1 ms).
    ("squares of one interval for two", {"gap_ms_sum_sq": 60_000**2}, "no sum of squares"),
]


@pytest.mark.parametrize(("case", "change", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_impossible_timing_refuses_the_batch(
    agency: Collector, agent: Agent, case: str, change: dict[str, Any], message: str
) -> None:
    good = agent.slices(3, **JIGGLE)
    bad = {k: v for k, v in {**good[1], **change}.items() if v is not None}
    reply = agent.send([good[0], bad, good[2]])
    assert reply.status_code == 422, (case, reply.text)
    body = reply.json()
    assert body["error"] == "invalid_batch"
    assert message in body["message"] + str(body["details"]), body
    assert _stored(agency) == []  # all or nothing


def test_racing_batches_through_two_processes_keep_flags_and_sums_exact(
    agency: Collector,
    two_servers: list[str],  # noqa: F811
) -> None:
    """A jiggler's 20 minutes and a person's 20 minutes of one chatter, one slice a batch,
    shuffled, sent at once through two collector processes: the flags and the rollups
    are those a rebuild computes from the stored slices."""
    devices = [agency.enroll("alice"), agency.enroll("alice")]
    clients = [httpx.Client(base_url=url, timeout=30) for url in two_servers]
    start = devices[0].cursor
    person = {
        **JIGGLE,
        "active_seconds": 20,
        "gap_ms_sum": 41_000,
        "gap_ms_sum_sq": 38_000**2 + 3_000**2,
    }
    plans = []
    for n, (device, fields) in enumerate(((devices[0], JIGGLE), (devices[1], person))):
        for i, s in enumerate(device.slices(20, start=start, **fields)):
            plans.append((device, device.batch_body([s]), clients[(i + n) % 2]))
    random.Random(7).shuffle(plans)

    def send(plan: tuple[Agent, bytes, httpx.Client]) -> int:
        device, body, client = plan
        remote = Agent(client, device.device_id, device.key_id, device.secret)
        return remote.signed_post("/api/v1/heartbeats", body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(send, plans)) == {200}
    for client in clients:
        client.close()
    before = _rollups(agency)
    flags = _flags(agency)
    assert flags == [True] * 20 + [False] * 20
    # Per minute 30 s active (the jiggled computer), 20 of them on the person's: 10 s
    # regular a minute, counted in the quarters and again in the days.
    assert sum(r[-1] for r in before) == 2 * 20 * 10
    engine = create_engine(agency.database_url)
    configure_engine(engine)
    with engine.begin() as conn:
        rebuild_all(conn)
    engine.dispose()
    assert _rollups(agency) == before and _flags(agency) == flags


def _flags(collector: Collector) -> list[bool]:
    engine = create_engine(collector.database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(Slice.regular).order_by(Slice.device_id, Slice.start)).scalars()
        found = [bool(r) for r in rows]
    engine.dispose()
    return found


def _rollups(collector: Collector) -> list[tuple[Any, ...]]:
    engine = create_engine(collector.database_url)
    with engine.connect() as conn:
        found = [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT bucket, active_seconds, regular_seconds FROM activity_quarters "
                    "UNION ALL SELECT day, active_seconds, regular_seconds FROM activity_days"
                )
            )
        ]
    engine.dispose()
    return sorted(found)
