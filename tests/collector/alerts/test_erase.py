"""Erasing a chatter removes the alerts about them: their message and what was sent name
them (found by review: the name stayed in alerts.message and alert_deliveries.payload)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, func, select

from collector.db.alert_models import Alert, AlertDelivery, AlertDeliveryAttempt
from tests.collector.alerts.conftest import NOW, World
from tests.collector.conftest import Collector

MIN = dt.timedelta(minutes=1)


def test_erasing_a_chatter_removes_the_alerts_that_name_them(
    world: World, agency: Collector
) -> None:
    token = agency.token("admin")
    shift = {
        "chatter": "alice",
        "creator": "luna",
        "start": "10:00",
        "end": "18:00",
        "first_day": NOW.date().isoformat(),
        "zone": "UTC",
    }
    made = agency.http.post(
        "/api/v1/shifts", headers={"Authorization": f"Bearer {token}"}, json=shift
    )
    assert made.status_code == 201, made.text
    world.rule("no_show", 10, webhook_url="http://127.0.0.1:9/x", emails=["boss@agency.test"])
    world.evaluate(NOW + 20 * MIN)
    engine = create_engine(agency.database_url)

    def count(model: type) -> int:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(model)).scalar_one())

    assert count(Alert) == 1 and count(AlertDelivery) == 2
    agency.cli("chatter-erase", "alice", "--yes")
    assert (count(Alert), count(AlertDelivery), count(AlertDeliveryAttempt)) == (0, 0, 0)
    with engine.connect() as conn:
        left = [*conn.execute(select(AlertDelivery.payload)), *conn.execute(select(Alert.message))]
    engine.dispose()
    assert left == []
