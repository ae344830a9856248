"""The reference computation on hand-worked fixtures (METRICS.md, "Conversation analytics")."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from collector.conversations import metrics as m
from collector.stats.periods import period
from tests.collector.conversations.fixtures import (
    SCENARIO,
    at,
    call,
    message,
    nps,
    order,
    request,
    to_row,
    widget,
)

DAY = period(dt.date(2026, 11, 20), dt.date(2026, 11, 20), "UTC")


def facts(events: list[dict[str, object]], **options: int) -> m.Facts:
    return m.derive([to_row(e) for e in events], **options)  # type: ignore[arg-type]


def test_conversations_requests_and_acceptance() -> None:
    s = m.summary(facts(SCENARIO), DAY)
    # r1, r2 (text) and r4 (video) are conversations; r3 and r5 are not.
    assert (s.requests, s.requests_agent_initiated, s.requests_visitor_initiated) == (5, 2, 3)
    assert (s.text_requests, s.video_requests) == (3, 2)
    assert (s.conversations, s.text_conversations, s.video_conversations) == (3, 2, 1)
    # From the first call or message: 10:02-10:05, 11:01-11:03, 13:01-13:11: 180 + 120 + 600
    # = 900 s over 3 (the requests at 10:00, 11:00 and 13:00 are left out).
    assert s.duration_total_seconds == 900 and s.avg_duration_seconds == 300.0
    assert s.unsuccessful_requests == 2 and s.unanswered_visitor_requests == 1
    assert s.agent_acceptance_rate == 0.5
    assert s.visitor_acceptance_rate == pytest.approx(2 / 3)


def test_orders_gmv_aov_and_conversion() -> None:
    s = m.summary(facts(SCENARIO), DAY)
    # o1 (50.00 - 5.00) and o2 (20.00 - 5.00) follow v1's chat with Alice; shipping and tax
    # are left out.  o3 (v5, never answered) and o4 (v4, before the call) earn nothing.
    assert (s.orders, s.attributed_gmv, s.aov) == (2, 6000, 3000)
    # v1, v2 and v4 were in conversations; v1 bought.
    assert (s.visitors_in_conversation, s.converted_visitors) == (3, 1)
    assert s.conversion_rate == pytest.approx(1 / 3)


def test_widget_and_request_rate() -> None:
    s = m.summary(facts(SCENARIO), DAY)
    assert (s.visitors_with_impression, s.visitors_with_click) == (4, 3)
    assert s.widget_ctr == 0.75  # v9 clicked without an impression: still a clicker
    # v1, v4 and v5 asked for a chat; four visitors saw the widget, v5 not among them:
    # the rate is of those who saw it, so never above 100 %.
    assert s.visitors_with_request == 2 and s.request_rate == 0.5
    assert s.auto_message_clicks == 4
    top = m.top_auto_messages(facts(SCENARIO), DAY)
    assert [(t.key, t.count, t.second) for t in top] == [("t1", 3, 2), ("t2", 1, 1)]


def test_nps() -> None:
    f = facts(SCENARIO)
    s = m.summary(f, DAY)
    assert (s.nps_responses, s.nps_rated, s.nps_rating_total) == (4, 3, 11)
    assert s.nps_average == pytest.approx(11 / 3)
    assert m.nps_distribution(f, DAY) == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1, None: 1}
    feedback = m.nps_feedback(f, DAY)
    assert [(x.event_id, x.agent, x.rating, x.feedback) for x in feedback] == [
        ("n4", "bob", 2, "Too pushy"),  # newest first
        ("n1", "alice", 5, "Great help"),  # r1's agent
    ]
    assert feedback[0].date == dt.date(2026, 11, 20)


def test_leaderboard() -> None:
    rows = m.agents(facts(SCENARIO), DAY)
    assert sorted(rows) == ["alice", "bob"]  # r5 has no agent
    alice, bob = rows["alice"], rows["bob"]
    assert (alice.requests, alice.agent_initiated_requests, alice.conversations) == (2, 0, 2)
    assert alice.acceptance_rate is None
    assert (alice.attributed_orders, alice.attributed_sales, alice.avg_rating) == (2, 6000, 5.0)
    assert (bob.requests, bob.agent_initiated_requests, bob.conversations) == (2, 2, 1)
    assert bob.acceptance_rate == 0.5
    assert (bob.attributed_orders, bob.attributed_sales, bob.avg_rating) == (0, 0, 3.0)


def test_breakdown_and_urls() -> None:
    f = facts(SCENARIO)
    cells = {
        (b.initiator, b.channel): (b.requests, b.conversations, b.unsuccessful)
        for b in m.breakdown(f, DAY)
    }
    assert cells == {
        ("agent", "text"): (1, 1, 0),
        ("agent", "video"): (1, 0, 1),
        ("visitor", "text"): (2, 1, 1),
        ("visitor", "video"): (1, 1, 0),
    }
    urls = m.top_urls(f, DAY)
    assert [(u.key, u.count, u.second) for u in urls] == [
        ("https://shop.test/a", 3, 3),
        ("https://shop.test/b", 1, 0),
        ("https://shop.test/c", 1, 0),
    ]
    hours = m.hours_of_day(f, DAY)
    assert [
        (h.hour, h.text_requests, h.video_requests)
        for h in hours
        if h.text_requests or h.video_requests
    ] == [(10, 1, 0), (11, 1, 0), (12, 0, 1), (13, 0, 1), (14, 1, 0)]


def test_duration_runs_from_the_first_call_or_message() -> None:
    events = [
        # Waited five minutes for an answer: the wait is not part of the conversation.
        request("q1", at(10), "r1", "visitor", "text", "v1"),
        message("m1", at(10, 5), "r1", "agent", agent="alice"),
        message("m2", at(10, 6, 30), "r1", "visitor"),
        # The visitor wrote again before the answer: that message starts the duration.
        request("q2", at(11), "r2", "visitor", "text", "v2"),
        message("m3", at(11, 2), "r2", "visitor"),
        message("m4", at(11, 3), "r2", "agent", agent="bob"),
        # A call: from its start to its end, however long it rang.
        request("q3", at(12), "r3", "visitor", "video", "v3"),
        call("c1", at(12, 4), "r3", agent="alice"),
        call("c2", at(12, 9, 59), "r3", ended=True),
        # One answer and nothing after it: a conversation of 0 s.
        request("q4", at(13), "r4", "agent", "text", "v4", agent="bob"),
        message("m5", at(13, 7), "r4", "visitor"),
    ]
    f = facts(events)
    assert {r.request_id: r.duration_seconds for r in f.requests} == {
        "r1": 90,
        "r2": 60,
        "r3": 359,
        "r4": 0,
    }
    s = m.summary(f, DAY)
    assert s.conversations == 4 and s.duration_total_seconds == 509


def test_arrival_order_does_not_matter() -> None:
    rows = [to_row(e) for e in SCENARIO]
    expected = m.derive(rows)
    for seed in range(5):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        assert m.derive(shuffled) == expected


def test_what_makes_a_conversation() -> None:
    events = [
        # The initiator's own messages answer nothing.
        request("q1", at(10), "r1", "visitor", "text", "v1"),
        message("m1", at(10, 1), "r1", "visitor"),
        # A call that ended without starting (never connected) is no conversation either.
        request("q2", at(10), "r2", "visitor", "video", "v2"),
        call("c1", at(10, 5), "r2", ended=True),
        # A started call is: both sides are on it, even for a text request.
        request("q3", at(10), "r3", "agent", "text", "v3", agent="alice"),
        call("c2", at(10, 2), "r3"),
        # Messages of an unknown request count for nothing.
        message("m2", at(10, 3), "ghost", "agent", agent="bob"),
        # A repeated request id: the first event is the request, the second is ignored.
        request("q4", at(11), "r4", "visitor", "text", "v4"),
        request("q5", at(12), "r4", "agent", "video", "v4", agent="bob"),
        message("m3", at(11, 30), "r4", "agent", agent="bob"),
    ]
    f = facts(events)
    by_id = {q.request_id: q for q in f.requests}
    assert sorted(by_id) == ["r1", "r2", "r3", "r4"]
    assert [by_id[r].conversation for r in ("r1", "r2", "r3", "r4")] == [
        False,
        False,
        True,
        True,
    ]
    assert by_id["r4"].initiator == "visitor" and by_id["r4"].agent == "bob"
    # One message (r4) or one call start (r3): from the first to the last of one event, 0 s.
    assert by_id["r4"].duration_seconds == 0 and by_id["r3"].duration_seconds == 0
    assert by_id["r1"].duration_seconds is None


def test_request_agent_and_nps_agent() -> None:
    events = [
        request("q1", at(10), "r1", "visitor", "text", "v1"),
        message("m1", at(10, 1), "r1", "agent"),  # names nobody
        message("m2", at(10, 2), "r1", "agent", agent="bob"),
        message("m3", at(10, 3), "r1", "agent", agent="alice"),
        nps("n1", at(11), "v1", "submitted", 3, request_id="r1"),
        nps("n2", at(11), "v1", "submitted", 5, request_id="r1", agent="alice"),
        nps("n3", at(11), "v1", "closed", 1, request_id="nowhere"),
    ]
    f = facts(events)
    assert f.requests[0].agent == "bob"  # the first agent message that names one
    assert [(n.event_id, n.agent) for n in f.nps] == [("n1", "bob"), ("n2", "alice"), ("n3", None)]
    rows = m.agents(f, DAY)
    assert rows["bob"].avg_rating == 3.0 and rows["alice"].avg_rating == 5.0


def test_attribution_window_and_latest_conversation() -> None:
    events = [
        request("q1", at(9, day=1), "r1", "visitor", "text", "v1"),
        message("m1", at(10, day=1), "r1", "agent", agent="alice"),
        request("q2", at(9, day=5), "r2", "agent", "text", "v1", agent="bob"),
        message("m2", at(10, day=5), "r2", "visitor"),
        # Both conversations are in the window: the latest (Bob's) earns it.
        order("o1", at(10, day=8), "A-1", "v1", "10.00"),
        # Exactly seven days after Bob's conversation connected: still in.
        order("o2", at(10, day=12), "A-2", "v1", "20.00"),
        # One second later: out.
        order("o3", at(10, 0, 1, day=12), "A-3", "v1", "40.00"),
        # The same order id again (another event id): counted once, the first.
        order("o4", at(10, day=9), "A-1", "v1", "99.00"),
        # Asked before the order, answered after it: the order came first, not earned.
        request("q3", at(10, day=20), "r3", "visitor", "text", "v2"),
        order("o5", at(10, 5, day=20), "A-5", "v2", "15.00"),
        message("m3", at(10, 10, day=20), "r3", "agent", agent="alice"),
    ]
    month = period(dt.date(2026, 11, 1), dt.date(2026, 11, 30), "UTC")
    f = facts(events)
    earned = {o.order_id: (o.request_id, o.agent) for o in f.orders}
    assert earned == {
        "A-1": ("r2", "bob"),
        "A-2": ("r2", "bob"),
        "A-3": (None, None),
        "A-5": (None, None),
    }
    s = m.summary(f, month)
    assert (s.orders, s.attributed_gmv, s.aov) == (2, 3000, 1500)
    assert m.agents(f, month)["bob"].attributed_sales == 3000
    # A 3-day window: the order three days after Bob's chat is in, the one of the 12th out.
    short = m.derive([to_row(e) for e in events], window_days=3)
    assert {o.order_id: o.agent for o in short.orders if o.attributed} == {"A-1": "bob"}


def test_aov_rounds_half_to_even() -> None:
    base = [
        request("q1", at(9), "r1", "visitor", "text", "v1"),
        message("m1", at(9, 1), "r1", "agent", agent="alice"),
    ]
    # 10.00 + 10.01 = 20.01 over two orders: 10.005 -> 10.00 (half to even).
    s = m.summary(
        facts(
            base
            + [order("o1", at(10), "A", "v1", "10.00"), order("o2", at(11), "B", "v1", "10.01")]
        ),
        DAY,
    )
    assert (s.attributed_gmv, s.aov) == (2001, 1000)
    # 10.00 + 10.03 = 20.03: 10.015 -> 10.02.
    s = m.summary(
        facts(
            base
            + [order("o1", at(10), "A", "v1", "10.00"), order("o2", at(11), "B", "v1", "10.03")]
        ),
        DAY,
    )
    assert s.aov == 1002


def test_dst_days_in_berlin() -> None:
    autumn = period(dt.date(2026, 10, 25), dt.date(2026, 10, 25), "Europe/Berlin")
    assert autumn.end - autumn.start == dt.timedelta(hours=25)
    events = [
        # 02:30 summer time and 02:30 winter time: the repeated hour, twice.
        request(
            "q1", dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC), "r1", "visitor", "text", "v1"
        ),
        request(
            "q2", dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC), "r2", "visitor", "video", "v2"
        ),
        # 22:50 local; the answer comes at 00:10 the next local day: still the 25th's.
        request(
            "q3", dt.datetime(2026, 10, 25, 21, 50, tzinfo=dt.UTC), "r3", "visitor", "text", "v3"
        ),
        message(
            "m1", dt.datetime(2026, 10, 25, 23, 10, tzinfo=dt.UTC), "r3", "agent", agent="alice"
        ),
        message("m2", dt.datetime(2026, 10, 25, 23, 30, tzinfo=dt.UTC), "r3", "visitor"),
        # 00:00 local on the 26th: the next day.
        request(
            "q4", dt.datetime(2026, 10, 25, 23, 0, tzinfo=dt.UTC), "r4", "visitor", "text", "v4"
        ),
    ]
    f = facts(events)
    s = m.summary(f, autumn)
    # The conversation runs 00:10-00:30 local on the 26th (not from the request's 22:50).
    assert (s.requests, s.conversations, s.duration_total_seconds) == (3, 1, 1200)
    hours = m.hourly(f, autumn)
    assert len(hours) == 25
    labels = [label.isoformat() for label, _ in hours]
    assert labels[2:4] == ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"]
    assert [(h.text_requests, h.video_requests) for _, h in hours[2:4]] == [(1, 0), (0, 1)]
    assert m.hours_of_day(f, autumn)[2].text_requests == 1
    assert m.hours_of_day(f, autumn)[2].video_requests == 1
    two_days = period(dt.date(2026, 10, 25), dt.date(2026, 10, 26), "Europe/Berlin")
    assert [(d.isoformat(), x.requests) for d, x in m.daily(f, two_days)] == [
        ("2026-10-25", 3),
        ("2026-10-26", 1),
    ]
    spring = period(dt.date(2026, 3, 29), dt.date(2026, 3, 29), "Europe/Berlin")
    assert len(m.hourly(f, spring)) == 23


def test_kathmandu_days_start_at_quarter_past() -> None:
    day = period(dt.date(2026, 11, 20), dt.date(2026, 11, 20), "Asia/Kathmandu")
    assert day.start == dt.datetime(2026, 11, 19, 18, 15, tzinfo=dt.UTC)
    events = [
        request(
            "q1", dt.datetime(2026, 11, 19, 18, 14, tzinfo=dt.UTC), "r1", "visitor", "text", "v1"
        ),
        request(
            "q2", dt.datetime(2026, 11, 19, 18, 15, tzinfo=dt.UTC), "r2", "visitor", "text", "v2"
        ),
        widget("w1", dt.datetime(2026, 11, 19, 18, 14, tzinfo=dt.UTC), "v1"),
        widget("w2", dt.datetime(2026, 11, 20, 18, 14, 59, tzinfo=dt.UTC), "v2"),
    ]
    f = facts(events)
    s = m.summary(f, day)
    assert (s.requests, s.visitors_with_impression) == (1, 1)
    hours = m.hourly(f, day)
    assert len(hours) == 24 and hours[0][0].isoformat() == "2026-11-20T00:00:00+05:45"
    assert hours[0][1].requests == 1 and m.hours_of_day(f, day)[0].text_requests == 1


def test_daily_trends_and_previous_period() -> None:
    events = SCENARIO + [
        # The day before: one visitor sees the widget and clicks, and asks; nobody answers.
        widget("w9", at(10, day=19), "v7"),
        widget("k9", at(10, 1, day=19), "v7", click="widget"),
        request("q9", at(10, 2, day=19), "r9", "visitor", "text", "v7"),
    ]
    f = facts(events)
    two = period(dt.date(2026, 11, 19), dt.date(2026, 11, 20), "UTC")
    days = m.daily(f, two)
    assert [(d.isoformat(), x.widget_ctr, x.visitor_acceptance_rate) for d, x in days] == [
        ("2026-11-19", 1.0, 0.0),
        ("2026-11-20", 0.75, pytest.approx(2 / 3)),
    ]
    compared = m.compare(f, DAY)
    assert compared.before.requests == 1 and compared.now.requests == 5
    change = compared.change
    assert change["requests"] == 4 and change["conversations"] == 3
    assert change["widget_ctr"] == -0.25
    assert change["avg_duration_seconds"] is None  # no conversation the day before
    assert change["attributed_gmv"] == 6000
    trends = m.agent_daily(f, two)
    assert [(d.isoformat(), x.conversations) for d, x in trends["alice"]] == [
        ("2026-11-19", 0),
        ("2026-11-20", 2),
    ]
