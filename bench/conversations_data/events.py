"""The event generator: widget traffic, requests, conversations, calls, orders, surveys."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import Any

from bench.conversations_data.parameters import (
    AGENTS,
    DAYS,
    FIRST_DAY,
    HOUR_WEIGHTS,
    PAGES,
    REQUESTS_PER_DAY,
    SEED,
    TRIGGERS,
    TZ_NAME,
    VISITORS_PER_DAY,
    WIDGET_PER_DAY,
    EventRow,
)
from bench.datasets.rows import local_midnight


class EventGenerator:
    """The shop's traffic, day by day: rows of the events table."""

    def __init__(self, scale: float, seed: int = SEED) -> None:
        self.scale = scale
        self.rng = random.Random(seed)
        self.n = 0
        self.counts: dict[str, int] = {}

    def _id(self) -> str:
        self.n += 1
        return f"cv-{self.n:09d}"

    def _row(self, type_: str, at: int, **cols: Any) -> EventRow:
        self.counts[type_] = self.counts.get(type_, 0) + 1
        return (
            self._id(),
            type_,
            at,
            cols.get("agent"),
            cols.get("visitor"),
            cols.get("kind"),
            cols.get("ref"),
            cols.get("amount"),
            cols.get("attrs"),
            cols.get("channel"),
            cols.get("url"),
            cols.get("rating"),
        )

    def days(self) -> Iterator[list[EventRow]]:
        for index in range(DAYS):
            yield self._day(index)

    def _visitor(self, index: int) -> str:
        pool = int(VISITORS_PER_DAY * self.scale) or 1
        # Today's pool overlaps yesterday's by half: returning visitors.
        return f"vis-{index * pool // 2 + self.rng.randrange(pool)}"

    def _moment(self, start: int) -> int:
        # Busier in the afternoon and evening, local time.
        hour = self.rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        return start + hour * 3600 + self.rng.randrange(3600)

    def _day(self, index: int) -> list[EventRow]:
        r = self.rng
        day = FIRST_DAY + dt.timedelta(days=index)
        start = local_midnight(day, TZ_NAME)
        rows: list[EventRow] = []
        for _ in range(int(WIDGET_PER_DAY * self.scale)):
            at, visitor = self._moment(start), self._visitor(index)
            url = f"https://shop.test/p/{r.randrange(PAGES)}"
            pick = r.random()
            if pick < 0.84:
                rows.append(self._row("widget_impression", at, visitor=visitor, url=url))
            elif pick < 0.96:
                source = "widget" if r.random() < 0.8 else "notification"
                rows.append(self._row("widget_click", at, visitor=visitor, kind=source, url=url))
            else:
                trigger = f"trigger-{r.randrange(TRIGGERS)}"
                rows.append(
                    self._row("auto_message_click", at, visitor=visitor, ref=trigger, url=url)
                )
        for _ in range(int(REQUESTS_PER_DAY * self.scale)):
            rows += self._request(index, self._moment(start))
        return rows

    def _request(self, index: int, at: int) -> list[EventRow]:
        r = self.rng
        rid = f"req-{self.n + 1}"
        visitor = self._visitor(index)
        agent = 1 + r.randrange(AGENTS)
        by_agent = r.random() < 0.4
        channel = "text" if r.random() < 0.8 else "video"
        url = f"https://shop.test/p/{r.randrange(PAGES)}"
        attrs = (
            json.dumps({"trigger_id": f"trigger-{r.randrange(TRIGGERS)}"})
            if r.random() < 0.1
            else None
        )
        rows = [
            self._row(
                "request",
                at,
                agent=agent if by_agent or r.random() < 0.3 else None,
                visitor=visitor,
                kind="agent" if by_agent else "visitor",
                ref=rid,
                channel=channel,
                url=url,
                attrs=attrs,
            )
        ]
        answered = r.random() < (0.55 if by_agent else 0.75)
        moment = at
        if channel == "video" and answered:
            moment += r.randrange(5, 90)
            rows.append(self._row("call_started", moment, agent=agent, ref=rid))
            moment += r.randrange(60, 1200)
            rows.append(self._row("call_ended", moment, ref=rid))
        elif answered:
            for i in range(r.randrange(2, 5)):
                moment += r.randrange(10, 240)
                side = (
                    ("visitor" if by_agent else "agent")
                    if i % 2 == 0
                    else ("agent" if by_agent else "visitor")
                )
                rows.append(
                    self._row(
                        "conversation_message",
                        moment,
                        agent=agent if side == "agent" else None,
                        kind=side,
                        ref=rid,
                        channel="text",
                    )
                )
        elif not by_agent and r.random() < 0.3:
            moment += r.randrange(10, 120)
            rows.append(
                self._row("conversation_message", moment, kind="visitor", ref=rid, channel="text")
            )
        if answered and r.random() < 0.09:
            moment += r.randrange(60, 3 * 86_400)
            rows.append(self._order(moment, visitor))
        elif r.random() < 0.03:
            rows.append(self._order(at - r.randrange(60, 86_400), visitor))
        if answered and r.random() < 0.15:
            rating = r.choices([1, 2, 3, 4, 5, None], weights=[1, 1, 2, 4, 8, 2])[0]
            feedback = r.choice(["Great help", "Quick answer", "Too slow", "Thanks!"])
            rows.append(
                self._row(
                    "nps_response",
                    moment + r.randrange(30, 600),
                    visitor=visitor,
                    kind="submitted" if rating else "closed",
                    ref=rid,
                    rating=rating,
                    attrs=json.dumps({"feedback": feedback}) if r.random() < 0.3 else None,
                )
            )
        return rows

    def _order(self, at: int, visitor: str) -> EventRow:
        r = self.rng
        subtotal = r.randrange(1500, 25_000)
        discount = r.choice([0, 0, 0, subtotal // 10])
        parts = {"subtotal": subtotal, "discount": discount, "shipping": 490, "tax": subtotal // 5}
        return self._row(
            "order",
            at,
            visitor=visitor,
            ref=f"ord-{self.n + 1}",
            amount=subtotal - discount,
            attrs=json.dumps(parts),
        )
