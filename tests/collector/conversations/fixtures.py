"""Hand-worked conversation-commerce scenarios, as reference rows and as API events.

``SCENARIO`` is the worked example of METRICS.md ("Conversation analytics"): one
UTC day, 2026-11-20, with five requests, orders, widget traffic and surveys.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from collector.conversations.metrics import Row

DAY = dt.date(2026, 11, 20)


def at(hour: int, minute: int = 0, second: int = 0, day: int = 20, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=dt.UTC)


def z(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def request(
    eid: str,
    when: dt.datetime,
    request_id: str,
    initiator: str,
    channel: str,
    visitor: str,
    url: str = "https://shop.test/a",
    agent: str | None = None,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": eid,
        "type": "request",
        "occurred_at": z(when),
        "request_id": request_id,
        "initiator": initiator,
        "channel": channel,
        "visitor": visitor,
        "url": url,
    }
    if agent:
        event["agent"] = agent
    if trigger_id:
        event["trigger_id"] = trigger_id
    return event


def message(
    eid: str, when: dt.datetime, request_id: str, side: str, agent: str | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": eid,
        "type": "conversation_message",
        "occurred_at": z(when),
        "request_id": request_id,
        "side": side,
        "channel": "text",
    }
    if agent:
        event["agent"] = agent
    return event


def call(
    eid: str, when: dt.datetime, request_id: str, ended: bool = False, agent: str | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": eid,
        "type": "call_ended" if ended else "call_started",
        "occurred_at": z(when),
        "request_id": request_id,
    }
    if agent:
        event["agent"] = agent
    return event


def order(
    eid: str,
    when: dt.datetime,
    order_id: str,
    visitor: str,
    subtotal: str,
    discount: str = "0.00",
    shipping: str = "4.90",
    tax: str = "1.00",
) -> dict[str, Any]:
    return {
        "id": eid,
        "type": "order",
        "occurred_at": z(when),
        "order_id": order_id,
        "visitor": visitor,
        "subtotal": subtotal,
        "discount": discount,
        "shipping": shipping,
        "tax": tax,
        "currency": "USD",
    }


def widget(
    eid: str,
    when: dt.datetime,
    visitor: str,
    click: str | None = None,
    url: str = "https://shop.test/a",
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": eid,
        "type": "widget_click" if click else "widget_impression",
        "occurred_at": z(when),
        "visitor": visitor,
        "url": url,
    }
    if click:
        event["source"] = click
    return event


def auto_click(eid: str, when: dt.datetime, visitor: str, trigger: str) -> dict[str, Any]:
    return {
        "id": eid,
        "type": "auto_message_click",
        "occurred_at": z(when),
        "visitor": visitor,
        "trigger_id": trigger,
        "url": "https://shop.test/a",
    }


def nps(
    eid: str,
    when: dt.datetime,
    visitor: str,
    status: str,
    rating: int | None,
    *,
    request_id: str | None = None,
    agent: str | None = None,
    feedback: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": eid,
        "type": "nps_response",
        "occurred_at": z(when),
        "visitor": visitor,
        "status": status,
        "rating": rating,
    }
    for name, value in (("request_id", request_id), ("agent", agent), ("feedback", feedback)):
        if value is not None:
            event[name] = value
    return event


def to_row(event: dict[str, Any], exponent: int = 2) -> Row:
    """An API event as the reference row the collector stores for it."""
    kind = {
        "widget_click": "source",
        "request": "initiator",
        "conversation_message": "side",
        "nps_response": "status",
    }.get(event["type"])
    ref = {
        "auto_message_click": "trigger_id",
        "request": "request_id",
        "conversation_message": "request_id",
        "call_started": "request_id",
        "call_ended": "request_id",
        "order": "order_id",
        "nps_response": "request_id",
    }.get(event["type"])
    amount = 0
    if event["type"] == "order":
        value = Decimal(event["subtotal"]) - Decimal(event["discount"])
        amount = int(value.scaleb(exponent))
    return Row(
        event_id=event["id"],
        type=event["type"],
        occurred_at=dt.datetime.fromisoformat(event["occurred_at"]),
        visitor=event.get("visitor"),
        agent=event.get("agent"),
        kind=event.get(kind) if kind else None,
        ref=event.get(ref) if ref else None,
        channel=event.get("channel"),
        url=event.get("url"),
        amount=amount,
        rating=event.get("rating"),
        trigger_id=event.get("trigger_id") if event["type"] == "request" else None,
        feedback=event.get("feedback"),
    )


SCENARIO: list[dict[str, Any]] = [
    # r1: v1 asks by text at 10:00, Alice answers at 10:02, v1 writes again at 10:05.
    request("q1", at(10), "r1", "visitor", "text", "v1", agent=None),
    message("m1", at(10, 2), "r1", "agent", agent="alice"),
    message("m2", at(10, 5), "r1", "visitor"),
    # r2: Bob writes to v2 at 11:00; v2 answers at 11:01, Bob again at 11:03.
    request("q2", at(11), "r2", "agent", "text", "v2", agent="bob"),
    message("m3", at(11, 1), "r2", "visitor"),
    message("m4", at(11, 3), "r2", "agent", agent="bob"),
    # r3: Bob calls v3 at 12:00 and writes at 12:01; v3 never answers.
    request("q3", at(12), "r3", "agent", "video", "v3", url="https://shop.test/b", agent="bob"),
    message("m5", at(12, 1), "r3", "agent", agent="bob"),
    # r4: v4 asks for a video call at 13:00; Alice picks up at 13:01, hangs up at 13:11.
    request("q4", at(13), "r4", "visitor", "video", "v4"),
    call("c1", at(13, 1), "r4", agent="alice"),
    call("c2", at(13, 11), "r4", ended=True),
    # r5: v5 asks by text at 14:00 and writes again; no agent ever answers.
    request("q5", at(14), "r5", "visitor", "text", "v5", url="https://shop.test/c"),
    message("m6", at(14, 0, 30), "r5", "visitor"),
    # Orders: v1 buys twice after talking to Alice; v5 (unanswered) and v4 (before the call) too.
    order("o1", at(15), "A-1", "v1", "50.00", discount="5.00"),
    order("o2", at(16), "A-2", "v1", "20.00", discount="5.00"),
    order("o3", at(15), "A-3", "v5", "80.00"),
    order("o4", at(12), "A-4", "v4", "30.00"),
    # The widget: v1 (twice), v2, v3, v4 see it; v1, v2 (notification) and v9 click.
    widget("w1", at(9), "v1"),
    widget("w2", at(9, 30), "v1"),
    widget("w3", at(10, 30), "v2"),
    widget("w4", at(11, 30), "v3"),
    widget("w5", at(12, 30), "v4"),
    widget("k1", at(9, 59), "v1", click="widget"),
    widget("k2", at(10, 59), "v2", click="notification"),
    widget("k3", at(17), "v9", click="widget"),
    auto_click("a1", at(9, 58), "v1", "t1"),
    auto_click("a2", at(10, 58), "v2", "t1"),
    auto_click("a3", at(11, 58), "v1", "t1"),
    auto_click("a4", at(12, 58), "v3", "t2"),
    # Surveys: about r1 (Alice), about Bob, about r4 (no rating), about Bob again.
    nps("n1", at(10, 10), "v1", "submitted", 5, request_id="r1", feedback="Great help"),
    nps("n2", at(11, 10), "v2", "closed", 4, agent="bob"),
    nps("n3", at(13, 20), "v4", "closed", None, request_id="r4"),
    nps("n4", at(12, 10), "v3", "submitted", 2, agent="bob", feedback="Too pushy"),
]
