"""The demo's website-chat traffic: plausible, and its rollups equal the reference."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from collector.conversations import metrics as m
from collector.conversations import queries
from collector.conversations.rows import load_rows
from collector.demo import agency
from collector.stats.periods import period
from tests.collector.conftest import Collector
from tests.collector.conversations.checks import check_period

NOW = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)


def test_demo_seeds_conversations(collector: Collector) -> None:
    engine = create_engine(collector.database_url)
    with Session(engine) as session:
        assert agency.seed(session, NOW)
        session.commit()
    with engine.connect() as conn:
        facts = m.derive(load_rows(conn))
        week = period(dt.date(2026, 11, 17), dt.date(2026, 11, 24), "Europe/Paris")
        s = queries.summary(conn, week)
        assert s.requests > 200 and s.conversations > 100 and s.orders > 10
        assert s.visitors_with_impression > 1000 and s.nps_rated > 20
        check_period(conn, facts, week, deep=False)
    engine.dispose()
