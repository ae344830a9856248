"""Every rollup-backed view compared with the reference on the stored rows."""

from __future__ import annotations

from sqlalchemy import Connection, create_engine, select

from collector.conversations import metrics as m
from collector.conversations import queries
from collector.conversations.rows import load_rows
from collector.db.models import Chatter
from collector.stats.periods import Period


def _keys(conn: Connection) -> dict[int, str]:
    return {i: k for i, k in conn.execute(select(Chatter.id, Chatter.key))}


def check_period(conn: Connection, facts: m.Facts, p: Period, *, deep: bool = True) -> None:
    keys = _keys(conn)
    bounds = queries.period_bounds(p)
    assert queries.summary(conn, p) == m.summary(facts, p), p
    slot = queries.sums(conn, bounds)[0]
    got_agents = {keys[a]: row for a, row in queries.agents(slot).items()}
    assert got_agents == m.agents(facts, p), p
    all_sums = queries.total(slot)
    assert queries.distribution(all_sums) == m.nps_distribution(facts, p), p
    assert queries.breakdown(all_sums) == m.breakdown(facts, p), p
    assert queries.top_urls(conn, p) == m.top_urls(facts, p), p
    assert queries.auto_messages(conn, p) == m.top_auto_messages(facts, p), p
    assert queries.hours_of_day(conn, p) == m.hours_of_day(facts, p), p
    if not deep:
        return
    daily = queries.summaries(conn, queries.day_bounds(p))
    assert [(d, s) for d, s in zip(p.days(), daily, strict=True)] == m.daily(facts, p), p
    hourly = queries.summaries(conn, queries.hour_bounds(p))
    assert hourly == [s for _, s in m.hourly(facts, p)], p
    per_day = queries.sums(conn, queries.day_bounds(p))
    expected = m.agent_daily(facts, p)
    for name, days in expected.items():
        for (day, row), slot_rows in zip(days, per_day, strict=True):
            got = {keys[a]: r for a, r in queries.agents(slot_rows).items()}
            assert got.get(name, m.AgentMetrics()) == row, (p, name, day)


def check_database(url: str, periods: list[Period], window_days: int = 7) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        facts = m.derive(load_rows(conn), window_days=window_days)
        for p in periods:
            check_period(conn, facts, p)
            check_period(conn, facts, p.previous(), deep=False)
    engine.dispose()
