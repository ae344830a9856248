"""A demo agency placed in the past, and every stats answer over its days."""

from __future__ import annotations

import datetime as dt
from typing import Any

from collector.db.engine import begin_write
from collector.demo.agency import CHATTERS, seed
from collector.http.database import db
from tests.collector.conftest import Collector

ZONES = ("UTC", "Asia/Kolkata", "America/New_York")


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def seed_past(collector: Collector, days_ago: int) -> dt.datetime:
    """The demo agency (seven days of slices and events) ending ``days_ago`` days back."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    with collector.app.app_context():
        session = db.session
        begin_write(session)
        assert seed(session, now)
        session.commit()
    return now


def answers(
    collector: Collector,
    token: str,
    first: dt.date,
    last: dt.date,
    chatters: tuple[str, ...] = tuple(key for key, _, _ in CHATTERS),
) -> dict[str, Any]:
    """Every stats report for each day from ``first`` to ``last`` and for the whole span."""
    headers = {"Authorization": f"Bearer {token}"}
    spans = [(first + dt.timedelta(days=i),) * 2 for i in range((last - first).days + 1)]
    spans.append((first, last))
    out: dict[str, Any] = {}

    def get(path: str, **params: str) -> None:
        reply = collector.http.get(path, params=params, headers=headers)
        assert reply.status_code == 200, (path, params, reply.text)
        out[f"{path}?{sorted(params.items())}"] = reply.json()

    for zone in ZONES:
        for start, end in spans:
            span = {"start": start.isoformat(), "end": end.isoformat(), "tz": zone}
            get("/api/v1/stats/chatters", **span, medians="true")
            get("/api/v1/stats/revenue", **span)
            get("/api/v1/stats/revenue", **span, interval="hour", creator="luna")
            for by in ("revenue", "activity", "messages", "response_time"):
                get("/api/v1/stats/top", **span, by=by)
        whole = {"start": first.isoformat(), "end": last.isoformat(), "tz": zone}
        for key in chatters:
            get(f"/api/v1/stats/chatters/{key}/daily", **whole)
    return out
