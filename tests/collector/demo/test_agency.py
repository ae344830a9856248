"""The demo agency: its statistics rebuild is audited like every other."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from collector.db.models import AuditEntry
from collector.demo import agency
from tests.collector.conftest import Collector

NOW = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)


def test_demo_rebuild_is_audited(collector: Collector) -> None:
    engine = create_engine(collector.database_url)
    with Session(engine) as session:
        assert agency.seed(session, NOW)
        session.commit()
        entries = session.execute(
            select(AuditEntry.actor, AuditEntry.detail).where(AuditEntry.action == "rebuild_stats")
        ).all()
    engine.dispose()
    assert [(actor, detail["dropped_slices"]) for actor, detail in entries] == [("system", 0)]
