"""Presence messages as the agent signs them, and shifts written straight to the tables."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import httpx
import msgspec
from sqlalchemy import create_engine, insert, select

from collector.db.models import Chatter, Creator
from collector.db.schedule_models import Presence, Shift
from shared.protocol import format_time
from tests.collector.conftest import Agent, Collector

PATH = "/api/v1/agents/presence"
# No least interval between two messages of a device: for tests of other things that
# send several in a row (the limit itself: test_limits.py).
UNLIMITED = {"PRESENCE_MIN_INTERVAL_SECONDS": 0}


def unlimited(collector: Collector) -> None:
    collector.app.config.update(UNLIMITED)


def body(
    state: str = "active", idle: int = 0, sent_at: dt.datetime | None = None, **extra: Any
) -> bytes:
    moment = sent_at or dt.datetime.now(dt.UTC).replace(microsecond=0)
    return msgspec.json.encode(
        {"state": state, "idle_seconds": idle, "sent_at": format_time(moment), **extra}
    )


def send(agent: Agent, state: str = "active", idle: int = 0, **kw: Any) -> httpx.Response:
    return agent.signed_post(PATH, body(state, idle, **kw))


def stored(collector: Collector) -> list[tuple[Any, ...]]:
    engine = create_engine(collector.database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Presence.state, Presence.idle_seconds, Presence.sent_at).order_by(
                Presence.device_id
            )
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def add_shift(
    collector: Collector,
    chatter: str,
    creator: str,
    start: dt.datetime,
    hours: int = 8,
    zone: str = "UTC",
) -> None:
    """A one-off shift starting at ``start`` (whole minutes, in ``zone``)."""
    local = start.astimezone(dt.UTC).astimezone(zoneinfo.ZoneInfo(zone))
    first = local.hour * 60 + local.minute
    engine = create_engine(collector.database_url)
    with engine.begin() as conn:
        chatter_id = conn.scalar(select(Chatter.id).where(Chatter.key == chatter))
        creator_id = conn.scalar(select(Creator.id).where(Creator.key == creator))
        now = dt.datetime.now(dt.UTC)
        conn.execute(
            insert(Shift).values(
                chatter_id=chatter_id,
                creator_id=creator_id,
                zone=zone,
                weekdays=0,
                start_minute=first,
                end_minute=(first + hours * 60) % 1440,
                first_day=local.date(),
                last_day=None,
                note="",
                created_at=now,
                updated_at=now,
            )
        )
    engine.dispose()


def board(collector: Collector, token: str) -> dict[str, Any]:
    reply = collector.http.get("/api/v1/presence", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    data: dict[str, Any] = reply.json()
    return data


def person(data: dict[str, Any], chatter: str) -> dict[str, Any]:
    (found,) = [p for p in data["chatters"] if p["chatter"] == chatter]
    return found


def creator(data: dict[str, Any], key: str) -> dict[str, Any]:
    (found,) = [c for c in data["creators"] if c["creator"] == key]
    return found
