"""Believable website-chat traffic for the demo agency (``make run``).

Seven days of widget impressions and clicks, auto-message clicks, text and
video requests answered (or not) by the demo chatters as agents, the orders
they earn and the visitors' ratings.  Rows go straight into the events table,
as collector/demo/agency.py does for creator events; ``seed_conversations`` then
builds the conversation facts and rollups.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from collector.conversations.rebuild import rebuild
from collector.db.models import Chatter, Event

DAYS = 7
PAGES = ["/", "/shop", "/shop/rings", "/shop/necklaces", "/product/aurora-ring", "/checkout"]
TRIGGERS = ["welcome-back", "free-shipping", "size-help"]
FEEDBACK = ["Great help, thank you!", "Quick and friendly", "Took a while to answer", ""]


def seed_conversations(session: Session, now: dt.datetime, seed: int = 20261125) -> int:
    """Add the demo's website-chat events and build their rollups; returns the event count."""
    rng = random.Random(seed)
    agents = [cid for (cid,) in session.execute(select(Chatter.id).order_by(Chatter.id))]
    rows: list[dict[str, Any]] = []

    def add(type_: str, at: dt.datetime, **cols: Any) -> None:
        if at > now:
            return
        event_id = f"demo-chat-{len(rows)}"
        rows.append(
            {
                "event_id": event_id,
                "type": type_,
                "occurred_at": at,
                "creator_id": None,
                "chatter_id": cols.get("agent"),
                "contact": cols.get("visitor"),
                "kind": cols.get("kind"),
                "ref": cols.get("ref"),
                "amount_minor": cols.get("amount"),
                "attrs": cols.get("attrs"),
                "channel": cols.get("channel"),
                "url": cols.get("url"),
                "rating": cols.get("rating"),
                "source": "demo",
                "content_hash": hashlib.sha256(event_id.encode()).hexdigest(),
                "received_at": now,
            }
        )

    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(DAYS, -1, -1):
        start = today - dt.timedelta(days=day)
        for _ in range(rng.randint(350, 500)):
            at = start + dt.timedelta(seconds=rng.randrange(8 * 3600, 23 * 3600))
            visitor = f"visitor-{rng.randint(1, 1500)}"
            url = "https://shop.demo.test" + rng.choice(PAGES)
            add("widget_impression", at, visitor=visitor, url=url)
            if rng.random() < 0.15:
                source = "widget" if rng.random() < 0.8 else "notification"
                add("widget_click", at + dt.timedelta(seconds=20), visitor=visitor, kind=source,
                    url=url)  # fmt: skip
            if rng.random() < 0.05:
                add("auto_message_click", at + dt.timedelta(seconds=40), visitor=visitor,
                    ref=rng.choice(TRIGGERS), url=url)  # fmt: skip
        for n in range(rng.randint(35, 60)):
            _request(rng, add, start, day, n, agents)
    session.execute(insert(Event), rows)
    rebuild(session.connection())
    return len(rows)


def _request(
    rng: random.Random, add: Any, start: dt.datetime, day: int, n: int, agents: list[int]
) -> None:
    rid = f"demo-req-{day}-{n}"
    at = start + dt.timedelta(seconds=rng.randrange(9 * 3600, 22 * 3600))
    visitor = f"visitor-{rng.randint(1, 1500)}"
    agent = rng.choice(agents)
    by_agent = rng.random() < 0.35
    channel = "text" if rng.random() < 0.75 else "video"
    add("request", at, agent=agent if by_agent else None, visitor=visitor,
        kind="agent" if by_agent else "visitor", ref=rid, channel=channel,
        url="https://shop.demo.test" + rng.choice(PAGES))  # fmt: skip
    if rng.random() > (0.6 if by_agent else 0.8):
        return  # nobody answered
    moment = at + dt.timedelta(seconds=rng.randint(15, 120))
    if channel == "video":
        add("call_started", moment, agent=agent, ref=rid)
        moment += dt.timedelta(seconds=rng.randint(90, 900))
        add("call_ended", moment, ref=rid)
    else:
        responder = "visitor" if by_agent else "agent"
        for i in range(rng.randint(2, 6)):
            side = responder if i % 2 == 0 else ("agent" if by_agent else "visitor")
            add("conversation_message", moment, agent=agent if side == "agent" else None,
                kind=side, ref=rid, channel="text")  # fmt: skip
            moment += dt.timedelta(seconds=rng.randint(20, 180))
    if rng.random() < 0.25:
        subtotal = rng.choice([2900, 4900, 8900, 12900, 19900])
        discount = rng.choice([0, 0, 500])
        parts = {"subtotal": subtotal, "discount": discount, "shipping": 490, "tax": 0}
        add("order", moment + dt.timedelta(minutes=rng.randint(5, 600)), visitor=visitor,
            ref=f"demo-order-{day}-{n}", amount=subtotal - discount, attrs=parts)  # fmt: skip
    if rng.random() < 0.4:
        rating = rng.choice([3, 4, 4, 5, 5, 5, None])
        text = rng.choice(FEEDBACK)
        add("nps_response", moment + dt.timedelta(minutes=2), visitor=visitor,
            kind="submitted" if rating else "closed", ref=rid, rating=rating,
            attrs={"feedback": text} if text else None)  # fmt: skip
