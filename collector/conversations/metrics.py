"""Every conversation-analytics number of METRICS.md, computed straight from raw rows.

This is the reference: plain Python over the stored conversation-commerce
events (the website chat widget), no SQL.  Faster paths (SQL views, rollups)
must give exactly these numbers.  ``derive`` turns all rows into facts that do
not depend on the range asked for (which requests became conversations, when
and with whom; which orders a conversation earned); the functions after it
count those facts for a range.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from fractions import Fraction
from typing import Protocol

from collector.stats.periods import QUARTER_HOUR, Period, difference, period

# The setting ``attribution_window_days`` defaults to this.
ATTRIBUTION_WINDOW_DAYS = 7
INITIATORS = ("agent", "visitor")
CHANNELS = ("text", "video")
RATINGS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Row:
    """One stored conversation-commerce event (the events table's columns, by meaning)."""

    event_id: str
    type: str
    occurred_at: dt.datetime
    visitor: str | None = None  # contact
    agent: str | None = None  # the chatter's key
    kind: str | None = None  # click source, request initiator, message side, NPS status
    ref: str | None = None  # request id; the trigger of an auto-message click; order id
    channel: str | None = None  # text or video (requests, messages)
    url: str | None = None
    amount: int = 0  # an order's value, subtotal - discount, in minor units
    rating: int | None = None
    trigger_id: str | None = None  # a request's auto-message trigger
    feedback: str | None = None

    @property
    def order(self) -> tuple[dt.datetime, str]:
        """Ties at the same instant break on the event id (compared code point by code point)."""
        return (self.occurred_at, self.event_id)


class Span(Protocol):
    """A half-open UTC interval: a Period, a local hour, a day."""

    @property
    def start(self) -> dt.datetime: ...

    @property
    def end(self) -> dt.datetime: ...


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime


def _inside(span: Span, moment: dt.datetime) -> bool:
    return span.start <= moment < span.end


# Facts: what every row means, whatever the range.


@dataclass(frozen=True)
class Request:
    request_id: str
    event_id: str
    at: dt.datetime  # the request event's occurred_at: it puts the request in a day
    initiator: str
    channel: str
    visitor: str
    url: str
    trigger_id: str | None
    # Named on the request, else on the first agent message or call that names one.
    agent: str | None
    # The first response of the side that did not initiate (None: no conversation).
    connected_at: dt.datetime | None
    # First to last event of the conversation, whole seconds (conversations only).
    duration_seconds: int | None

    @property
    def conversation(self) -> bool:
        return self.connected_at is not None


@dataclass(frozen=True)
class Order:
    order_id: str
    event_id: str
    at: dt.datetime
    visitor: str
    value: int  # minor units
    # The conversation that earned the order (None: not attributed) and its agent.
    request_id: str | None
    agent: str | None

    @property
    def attributed(self) -> bool:
        return self.request_id is not None


@dataclass(frozen=True)
class NpsResponse:
    event_id: str
    at: dt.datetime
    visitor: str
    status: str
    rating: int | None
    feedback: str | None
    request_id: str | None
    agent: str | None  # named on the response, else the request's agent


@dataclass
class Facts:
    requests: list[Request] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    nps: list[NpsResponse] = field(default_factory=list)
    impressions: list[tuple[dt.datetime, str]] = field(default_factory=list)
    clicks: list[tuple[dt.datetime, str]] = field(default_factory=list)
    auto_clicks: list[tuple[dt.datetime, str, str]] = field(
        default_factory=list
    )  # visitor, trigger


def derive(rows: Iterable[Row], *, window_days: int = ATTRIBUTION_WINDOW_DAYS) -> Facts:
    """The facts of every request, order and response, from all rows (any arrival order)."""
    ordered = sorted(rows, key=lambda r: r.order)
    facts = Facts()
    request_rows: dict[str, Row] = {}
    follow_ups: dict[str, list[Row]] = defaultdict(list)
    order_rows: dict[str, Row] = {}
    for r in ordered:
        if r.type == "request" and r.ref is not None:
            request_rows.setdefault(r.ref, r)  # a repeated request id: the first one counts
        elif r.type in ("conversation_message", "call_started", "call_ended") and r.ref:
            follow_ups[r.ref].append(r)
        elif r.type == "order" and r.ref is not None:
            order_rows.setdefault(r.ref, r)  # a repeated order id: the first one counts
        elif r.type == "widget_impression" and r.visitor is not None:
            facts.impressions.append((r.occurred_at, r.visitor))
        elif r.type == "widget_click" and r.visitor is not None:
            facts.clicks.append((r.occurred_at, r.visitor))
        elif r.type == "auto_message_click" and r.visitor is not None and r.ref is not None:
            facts.auto_clicks.append((r.occurred_at, r.visitor, r.ref))

    requests: dict[str, Request] = {}
    for request_id, r in request_rows.items():
        requests[request_id] = _request(r, follow_ups.get(request_id, []))
    facts.requests = sorted(requests.values(), key=lambda q: (q.at, q.event_id))
    facts.orders = _attribute(
        sorted(order_rows.values(), key=lambda r: r.order),
        facts.requests,
        dt.timedelta(days=window_days),
    )
    for r in ordered:
        if r.type == "nps_response" and r.visitor is not None and r.kind is not None:
            request = requests.get(r.ref) if r.ref is not None else None
            agent = r.agent or (request.agent if request else None)
            facts.nps.append(
                NpsResponse(
                    r.event_id, r.occurred_at, r.visitor, r.kind, r.rating, r.feedback, r.ref, agent
                )
            )
    return facts


def _request(r: Row, follow_ups: list[Row]) -> Request:
    """One request with its messages and calls (already in time order)."""
    assert r.ref is not None and r.kind is not None and r.channel is not None
    responder = "visitor" if r.kind == "agent" else "agent"
    connected: dt.datetime | None = None
    agent = r.agent
    for f in follow_ups:
        if f.type == "call_started" or (f.type == "conversation_message" and f.kind == responder):
            if connected is None or f.occurred_at < connected:
                connected = f.occurred_at
        if agent is None and f.agent is not None:
            agent = f.agent
    duration = None
    if connected is not None:
        # The request itself is left out: only calls and messages make the conversation.
        moments = [f.occurred_at for f in follow_ups]
        duration = int((max(moments) - min(moments)).total_seconds())
    return Request(
        request_id=r.ref,
        event_id=r.event_id,
        at=r.occurred_at,
        initiator=r.kind,
        channel=r.channel,
        visitor=r.visitor or "",
        url=r.url or "",
        trigger_id=r.trigger_id,
        agent=agent,
        connected_at=connected,
        duration_seconds=duration,
    )


def _attribute(orders: list[Row], requests: list[Request], window: dt.timedelta) -> list[Order]:
    """Each order is earned by the visitor's latest conversation connected in the window before."""
    by_visitor: dict[str, list[Request]] = defaultdict(list)
    for q in requests:
        if q.connected_at is not None:
            by_visitor[q.visitor].append(q)
    result = []
    for o in orders:
        assert o.ref is not None and o.visitor is not None
        earning = [
            q
            for q in by_visitor.get(o.visitor, [])
            if q.connected_at is not None and o.occurred_at - window <= q.connected_at
            if q.connected_at <= o.occurred_at
        ]
        best = max(earning, key=lambda q: (q.connected_at, q.event_id), default=None)
        result.append(
            Order(
                o.ref,
                o.event_id,
                o.occurred_at,
                o.visitor,
                o.amount,
                best.request_id if best else None,
                best.agent if best else None,
            )
        )
    return result


# Counting facts for a range.


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


@dataclass
class Summary:
    """The range's key figures (the summary endpoint's fields)."""

    requests: int = 0
    requests_agent_initiated: int = 0
    requests_visitor_initiated: int = 0
    text_requests: int = 0
    video_requests: int = 0
    conversations: int = 0
    text_conversations: int = 0
    video_conversations: int = 0
    agent_initiated_conversations: int = 0
    visitor_initiated_conversations: int = 0
    duration_total_seconds: int = 0
    visitors_in_conversation: int = 0
    converted_visitors: int = 0
    orders: int = 0
    attributed_gmv: int = 0  # minor units
    visitors_with_impression: int = 0
    visitors_with_click: int = 0
    visitors_with_request: int = 0  # visitors who initiated a request
    auto_message_clicks: int = 0
    nps_responses: int = 0
    nps_rated: int = 0
    nps_rating_total: int = 0

    @property
    def unsuccessful_requests(self) -> int:
        return self.requests - self.conversations

    @property
    def unanswered_visitor_requests(self) -> int:
        return self.requests_visitor_initiated - self.visitor_initiated_conversations

    @property
    def avg_duration_seconds(self) -> float | None:
        return None if not self.conversations else self.duration_total_seconds / self.conversations

    @property
    def conversion_rate(self) -> float | None:
        return _ratio(self.converted_visitors, self.visitors_in_conversation)

    @property
    def aov(self) -> int | None:
        """Attributed GMV per attributed order, minor units rounded half to even."""
        return None if not self.orders else round(Fraction(self.attributed_gmv, self.orders))

    @property
    def widget_ctr(self) -> float | None:
        return _ratio(self.visitors_with_click, self.visitors_with_impression)

    @property
    def request_rate(self) -> float | None:
        return _ratio(self.visitors_with_request, self.visitors_with_impression)

    @property
    def agent_acceptance_rate(self) -> float | None:
        return _ratio(self.agent_initiated_conversations, self.requests_agent_initiated)

    @property
    def visitor_acceptance_rate(self) -> float | None:
        return _ratio(self.visitor_initiated_conversations, self.requests_visitor_initiated)

    @property
    def nps_average(self) -> float | None:
        return None if not self.nps_rated else self.nps_rating_total / self.nps_rated


SUMMARY_DERIVED = (
    "unsuccessful_requests",
    "unanswered_visitor_requests",
    "avg_duration_seconds",
    "conversion_rate",
    "aov",
    "widget_ctr",
    "request_rate",
    "agent_acceptance_rate",
    "visitor_acceptance_rate",
    "nps_average",
)
MONEY = frozenset({"attributed_gmv", "aov", "attributed_sales"})


def summary(facts: Facts, span: Span) -> Summary:
    s = Summary()
    in_conversation: set[str] = set()
    requesters: set[str] = set()
    for q in facts.requests:
        if not _inside(span, q.at):
            continue
        s.requests += 1
        if q.initiator == "agent":
            s.requests_agent_initiated += 1
        else:
            s.requests_visitor_initiated += 1
            requesters.add(q.visitor)
        if q.channel == "text":
            s.text_requests += 1
        else:
            s.video_requests += 1
        if not q.conversation:
            continue
        s.conversations += 1
        if q.channel == "text":
            s.text_conversations += 1
        else:
            s.video_conversations += 1
        if q.initiator == "agent":
            s.agent_initiated_conversations += 1
        else:
            s.visitor_initiated_conversations += 1
        s.duration_total_seconds += q.duration_seconds or 0
        in_conversation.add(q.visitor)
    buyers: set[str] = set()
    for o in facts.orders:
        if o.attributed and _inside(span, o.at):
            s.orders += 1
            s.attributed_gmv += o.value
            buyers.add(o.visitor)
    s.visitors_in_conversation = len(in_conversation)
    s.converted_visitors = len(buyers & in_conversation)
    saw = {v for at, v in facts.impressions if _inside(span, at)}
    # Of the visitors who saw the widget, those who asked: a rate, never above 100 %.
    s.visitors_with_request = len(requesters & saw)
    s.visitors_with_impression = len(saw)
    s.visitors_with_click = len({v for at, v in facts.clicks if _inside(span, at)})
    s.auto_message_clicks = sum(1 for at, _, _ in facts.auto_clicks if _inside(span, at))
    for n in facts.nps:
        if _inside(span, n.at):
            s.nps_responses += 1
            if n.rating is not None:
                s.nps_rated += 1
                s.nps_rating_total += n.rating
    return s


@dataclass
class AgentMetrics:
    """One agent's leaderboard row."""

    requests: int = 0  # every request of theirs, whoever initiated it
    agent_initiated_requests: int = 0
    agent_initiated_conversations: int = 0
    conversations: int = 0
    unanswered_visitor_requests: int = 0
    attributed_orders: int = 0
    attributed_sales: int = 0  # minor units
    nps_rated: int = 0
    nps_rating_total: int = 0

    @property
    def acceptance_rate(self) -> float | None:
        return _ratio(self.agent_initiated_conversations, self.agent_initiated_requests)

    @property
    def avg_rating(self) -> float | None:
        return None if not self.nps_rated else self.nps_rating_total / self.nps_rated


AGENT_DERIVED = ("acceptance_rate", "avg_rating")


def agents(facts: Facts, span: Span) -> dict[str, AgentMetrics]:
    """Leaderboard rows per agent key, for agents with anything in the range."""
    rows: dict[str, AgentMetrics] = defaultdict(AgentMetrics)
    for q in facts.requests:
        if q.agent is None or not _inside(span, q.at):
            continue
        row = rows[q.agent]
        row.requests += 1
        if q.initiator == "agent":
            row.agent_initiated_requests += 1
            row.agent_initiated_conversations += q.conversation
        elif not q.conversation:
            row.unanswered_visitor_requests += 1
        row.conversations += q.conversation
    for o in facts.orders:
        if o.agent is not None and _inside(span, o.at):
            rows[o.agent].attributed_orders += 1
            rows[o.agent].attributed_sales += o.value
    for n in facts.nps:
        if n.agent is not None and n.rating is not None and _inside(span, n.at):
            rows[n.agent].nps_rated += 1
            rows[n.agent].nps_rating_total += n.rating
    return dict(rows)


# Trends: every local day, or every local hour, of a period.


def day_spans(p: Period) -> list[tuple[dt.date, Period]]:
    return [(day, period(day, day, p.tz.key)) for day in p.days()]


def hour_spans(p: Period) -> list[tuple[dt.datetime, Window]]:
    """Each local hour of the period: (its local start with offset, its UTC interval).

    An autumn DST day has 25 (the repeated hour twice, with its two offsets), a
    spring day 23.  Found per quarter hour so an offset that moves by half an
    hour (Lord Howe) still gives whole local hours.
    """
    starts: list[dt.datetime] = []
    previous: tuple[dt.datetime, dt.timedelta | None] | None = None
    moment = p.start
    while moment < p.end:
        local = moment.astimezone(p.tz)
        key = (local.replace(minute=0, second=0, microsecond=0, tzinfo=None), local.utcoffset())
        if key != previous:
            starts.append(moment)
            previous = key
        moment += dt.timedelta(seconds=QUARTER_HOUR)
    bounds = [*starts, p.end]
    return [
        (bounds[i].astimezone(p.tz), Window(bounds[i], bounds[i + 1])) for i in range(len(starts))
    ]


def daily(facts: Facts, p: Period) -> list[tuple[dt.date, Summary]]:
    """The summary of each local day (a day's CTR, NPS, acceptance rates...)."""
    return [(day, summary(facts, span)) for day, span in day_spans(p)]


def hourly(facts: Facts, p: Period) -> list[tuple[dt.datetime, Summary]]:
    return [(label, summary(facts, span)) for label, span in hour_spans(p)]


def agent_daily(facts: Facts, p: Period) -> dict[str, list[tuple[dt.date, AgentMetrics]]]:
    """Per agent with anything in the period, their row for every local day."""
    days = [(day, agents(facts, span)) for day, span in day_spans(p)]
    names = sorted({name for _, rows in days for name in rows})
    return {name: [(day, rows.get(name, AgentMetrics())) for day, rows in days] for name in names}


@dataclass
class HourOfDay:
    hour: int  # local wall-clock hour, 0..23
    text_requests: int = 0
    video_requests: int = 0


def hours_of_day(facts: Facts, p: Period) -> list[HourOfDay]:
    """Requests by local hour of the day over the whole period (a repeated hour adds up)."""
    hours = [HourOfDay(h) for h in range(24)]
    for q in facts.requests:
        if _inside(p, q.at):
            slot = hours[q.at.astimezone(p.tz).hour]
            if q.channel == "text":
                slot.text_requests += 1
            else:
                slot.video_requests += 1
    return hours


# Breakdowns and lists.


@dataclass
class Breakdown:
    initiator: str
    channel: str
    requests: int = 0
    conversations: int = 0

    @property
    def unsuccessful(self) -> int:
        return self.requests - self.conversations


def breakdown(facts: Facts, span: Span) -> list[Breakdown]:
    """Requests and conversations per initiator and channel (all four present)."""
    cells = {(i, c): Breakdown(i, c) for i in INITIATORS for c in CHANNELS}
    for q in facts.requests:
        if _inside(span, q.at):
            cell = cells[(q.initiator, q.channel)]
            cell.requests += 1
            cell.conversations += q.conversation
    return list(cells.values())


@dataclass(frozen=True)
class Counted:
    key: str
    count: int
    second: int  # top_urls: conversations; top_auto_messages: unique visitors


def top_urls(facts: Facts, span: Span, limit: int = 10) -> list[Counted]:
    """Pages by number of requests started on them (the URL exactly as sent)."""
    requests: dict[str, int] = defaultdict(int)
    conversations: dict[str, int] = defaultdict(int)
    for q in facts.requests:
        if _inside(span, q.at):
            requests[q.url] += 1
            conversations[q.url] += q.conversation
    ranked = sorted(requests, key=lambda url: (-requests[url], url))
    return [Counted(url, requests[url], conversations[url]) for url in ranked[:limit]]


def top_auto_messages(facts: Facts, span: Span, limit: int = 10) -> list[Counted]:
    """Auto-message triggers by clicks, with their unique clicking visitors."""
    clicks: dict[str, int] = defaultdict(int)
    visitors: dict[str, set[str]] = defaultdict(set)
    for at, visitor, trigger in facts.auto_clicks:
        if _inside(span, at):
            clicks[trigger] += 1
            visitors[trigger].add(visitor)
    ranked = sorted(clicks, key=lambda t: (-clicks[t], t))
    return [Counted(t, clicks[t], len(visitors[t])) for t in ranked[:limit]]


def nps_distribution(facts: Facts, span: Span) -> dict[int | None, int]:
    """Responses per rating 1..5 (all present) and without a rating (None)."""
    counts: dict[int | None, int] = {r: 0 for r in RATINGS}
    counts[None] = 0
    for n in facts.nps:
        if _inside(span, n.at):
            counts[n.rating] += 1
    return counts


@dataclass(frozen=True)
class Feedback:
    date: dt.date  # local
    at: dt.datetime
    event_id: str
    agent: str | None
    rating: int | None
    feedback: str
    status: str
    visitor: str
    request_id: str | None


def nps_feedback(facts: Facts, p: Period) -> list[Feedback]:
    """Responses in the period that carry feedback text, newest first."""
    found = [
        Feedback(
            n.at.astimezone(p.tz).date(),
            n.at,
            n.event_id,
            n.agent,
            n.rating,
            n.feedback,
            n.status,
            n.visitor,
            n.request_id,
        )
        for n in facts.nps
        if n.feedback and n.feedback.strip() and _inside(p, n.at)
    ]
    found.sort(key=lambda f: (f.at, f.event_id), reverse=True)
    return found


# Every number, and the change from the previous period.

Number = int | float | None


def figures(item: Summary | AgentMetrics) -> dict[str, Number]:
    """Stored counts and derived figures by name (money in minor units)."""
    derived = SUMMARY_DERIVED if isinstance(item, Summary) else AGENT_DERIVED
    values: dict[str, Number] = {f.name: getattr(item, f.name) for f in fields(item)}
    values.update((name, getattr(item, name)) for name in derived)
    return values


def change(now: Mapping[str, Number], before: Mapping[str, Number]) -> dict[str, Number]:
    """This period minus the previous one, per figure (``periods.difference``)."""
    return difference(now, before)


@dataclass(frozen=True)
class Compared:
    now: Summary
    before: Summary

    @property
    def change(self) -> dict[str, Number]:
        return change(figures(self.now), figures(self.before))


def compare(facts: Facts, p: Period) -> Compared:
    """The period's summary and the previous period's (the same number of days before)."""
    return Compared(summary(facts, p), summary(facts, p.previous()))
