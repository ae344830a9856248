"""The conversation analytics page over the test client, on SQLite and PostgreSQL.

METRICS.md's worked scenario is posted as events; the page must show the API's numbers
for the same selection (asked with the same logged-in session), in the API's order,
with each agent in their colour, and link its exports to the API.
"""

from __future__ import annotations

import csv
import html
import io
import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from collector.pages.colours import chatter_colour
from tests.collector.auth.test_accounts import PASSWORD, browser, login  # noqa: F401  (fixture)
from tests.collector.conftest import Collector
from tests.collector.conversations.fixtures import SCENARIO, at, request

API = "/api/v1/stats/conversations"
RANGE = {"start": "2026-11-20", "end": "2026-11-20", "tz": "UTC"}
PAGE = {"preset": "custom", **RANGE}


class Tables(HTMLParser):
    """Every table's rows as lists of cell texts, by table id."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("th", "td") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def body_rows(text: str, table: str) -> list[list[str]]:
    """A table's rows without its header row."""
    return Tables(text).tables[table][1:]


def figure(text: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">.*?<span class="value">([^<]*)</span>', text, re.S)
    assert found, name
    return html.unescape(found.group(1))


def delta(text: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">.*?<span class="delta [a-z]+">([^<]*)<', text, re.S)
    assert found, name
    return found.group(1)


# How a person reads each kind of number, written here independently of the app.
def dollars(value: str) -> str:
    return f"${Decimal(value):,.2f}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60:02d} s"


@pytest.fixture
def loaded(browser: Collector) -> Collector:  # noqa: F811
    # One unanswered request the day before: the previous period of the 20th.
    events = [*SCENARIO, request("q0", at(9, day=19), "r0", "visitor", "text", "v7")]
    assert browser.post_events(events, browser.token("integration")).status_code == 200
    return browser


def logged_in(agency: Collector, email: str = "boss@agency.test") -> httpx.Client:
    http = agency.http
    assert login(http, email, PASSWORD).status_code == 302
    return http


def api(http: httpx.Client, path: str = "", **params: str) -> dict[str, Any]:
    reply = http.get(API + path, params={**RANGE, **params})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_the_page_shows_the_apis_numbers(loaded: Collector) -> None:
    http = logged_in(loaded)
    reply = http.get("/conversations", params=PAGE)
    assert reply.status_code == 200
    page = reply.text
    assert 'aria-current="page">Conversations</a>' in page  # the nav shows where we are
    body = api(http)
    s, change = body["summary"], body["change"]
    assert figure(page, "requests") == str(s["requests"]) == "5"
    assert figure(page, "conversations") == str(s["conversations"])
    assert figure(page, "avg_duration_seconds") == minutes(s["avg_duration_seconds"])
    assert figure(page, "attributed_gmv") == dollars(s["attributed_gmv"]) == "$60.00"
    for name in (
        "agent_acceptance_rate",
        "visitor_acceptance_rate",
        "conversion_rate",
        "widget_ctr",
        "request_rate",
    ):
        assert figure(page, name) == percent(s[name]), name
    assert figure(page, "nps_average") == f"{s['nps_average']:.2f}" == "3.67"
    assert figure(page, "unanswered_visitor_requests") == str(s["unanswered_visitor_requests"])
    assert figure(page, "auto_message_clicks") == str(s["auto_message_clicks"])
    # Changes: counts relative, rates in percentage points, the average rating by its difference.
    assert change["requests"] == 4 and delta(page, "requests") == "+400.0 % vs previous"
    assert delta(page, "visitor_acceptance_rate") == "+66.7 pp vs previous"
    assert delta(page, "nps_average") == "no comparison"  # no rating the day before
    # "(was …)" beside a change from a previous value only, not beside "no comparison".
    was = re.search(r'data-figure="requests">.*?</dd>', page, re.S)
    assert was and '<span class="previous"> (was 1)</span>' in was.group()
    none = re.search(r'data-figure="nps_average">.*?</dd>', page, re.S)
    assert none and "(was" not in none.group()

    # Trends, hours, pages, auto messages, the breakdown: the API's rows.
    trends = api(http, "/trends", compare="false")
    assert body_rows(page, "daily-table")[:-1] == [
        [
            p["date"],
            str(p["requests_agent_initiated"]),
            str(p["requests_visitor_initiated"]),
            str(p["text_requests"]),
            str(p["video_requests"]),
            str(p["requests"]),
            str(p["conversations"]),
        ]
        for p in trends["series"]
    ]
    assert body_rows(page, "rates-table")[0][1:] == [
        percent(trends["series"][0][k])
        for k in ("widget_ctr", "visitor_acceptance_rate", "agent_acceptance_rate", "request_rate")
    ]
    hours = body_rows(page, "hours-table")
    assert len(hours) == 24
    assert [(int(r[1]), int(r[2])) for r in hours] == [
        (h["text_requests"], h["video_requests"]) for h in trends["hours_of_day"]
    ]
    assert body_rows(page, "urls-table") == [
        [str(i), u["url"], str(u["requests"]), str(u["conversations"])]
        for i, u in enumerate(body["top_urls"], start=1)
    ]
    assert body_rows(page, "auto-table") == [
        [str(i), a["trigger_id"], str(a["clicks"]), str(a["visitors"])]
        for i, a in enumerate(body["top_auto_messages"], start=1)
    ]
    assert [r[2:5] for r in body_rows(page, "breakdown-table")[:-1]] == [
        [str(b["requests"]), str(b["conversations"]), str(b["unsuccessful"])]
        for b in body["breakdown"]
    ]

    # The leaderboard: the API's order and numbers, each agent in their colour.
    agents = api(http, "/agents")["agents"]
    rows = body_rows(page, "agents-table")
    assert [r[1] for r in rows] == [a["name"] for a in agents] == ["Alice", "Bob"]
    alice = rows[0]
    assert alice[2:] == ["5.00", "0", "–", "2", "$60.00", "2"]
    assert rows[1][2:] == ["3.00", "2", "50.0 %", "1", "$0.00", "0"]
    ids = {"alice": 1, "bob": 2}  # the order the agency fixture adds them
    stats = http.get("/stats", params=PAGE).text
    for key, chatter_id in ids.items():
        swatch = f'<tr data-key="{key}"><td>'
        assert swatch in page
        style = re.search(
            rf'<tr data-key="{key}"><td>\d+</td>\s*<th scope="row"><span class="swatch" '
            r'style="background:([^"]+)"',
            page,
        )
        assert style and style.group(1) == chatter_colour(chatter_id)
        # The same colour as on the chatter stats page.
        assert f'data-key="{key}">\n      <th scope="row" data-value' in stats
        assert re.search(
            rf'data-key="{key}">\s*<th scope="row" data-value="[^"]+"><span class="swatch" '
            rf'style="background:{re.escape(style.group(1))}"',
            stats,
        )
    # The per-agent trend table has every agent, one column per day.
    trend = body_rows(page, "agent-trend-table")
    assert [r[0] for r in trend] == ["Alice", "Bob"]
    assert [r[1:] for r in trend] == [[str(d["conversations"]) for d in a["trend"]] for a in agents]
    sales = http.get("/conversations", params={**PAGE, "metric": "attributed_sales"}).text
    assert [r[1:] for r in body_rows(sales, "agent-trend-table")] == [
        [dollars(d["attributed_sales"]) for d in a["trend"]] for a in agents
    ]
    assert 'aria-current="true"' in sales and "Agent performance by day: attributed sales" in sales

    # NPS: distribution and the first page of feedback.
    nps = api(http, "/nps")
    assert [int(r[1]) for r in body_rows(page, "distribution-table")] == [
        d["responses"] for d in nps["distribution"]
    ]
    feedback = body_rows(page, "feedback-table")
    assert [(r[1], r[2], r[3]) for r in feedback] == [
        (f["agent_name"], str(f["rating"]), f["feedback"]) for f in nps["feedback"]["items"]
    ]
    assert feedback[0][3] == "Too pushy"


def test_feedback_pages(loaded: Collector) -> None:
    http = logged_in(loaded)
    first = http.get("/conversations", params={**PAGE, "per_page": "1"}).text
    assert "Page 1 of 2" in first and 'rel="prev"' not in first
    found = re.search(r'<a class="button" rel="next" href="([^"]+)"', first)
    assert found
    second = http.get(html.unescape(found.group(1))).text
    assert "Page 2 of 2" in second and 'rel="next"' not in second and 'rel="prev"' in second
    items = api(http, "/nps", page="2", per_page="1")["feedback"]["items"]
    assert [r[3] for r in body_rows(second, "feedback-table")] == [i["feedback"] for i in items]
    assert items[0]["feedback"] == "Great help"
    # A page past the last shows the last; a bad one the first.
    past = http.get("/conversations", params={**PAGE, "per_page": "1", "page": "99"}).text
    assert "Page 2 of 2" in past
    bad = http.get("/conversations", params={**PAGE, "per_page": "x", "page": "-1"}).text
    assert "Page 1 of 1" not in bad and "Too pushy" in bad and "Great help" in bad


def test_exports_link_to_the_api_with_the_pages_selection(loaded: Collector) -> None:
    http = logged_in(loaded)
    page = http.get("/conversations", params=PAGE).text
    links = [
        html.unescape(u)
        for u in re.findall(r'class="button[^"]*export" download href="([^"]+)"', page)
    ]
    paths = {u.split("?")[0] for u in links}
    assert paths == {API, API + "/agents", API + "/trends", API + "/nps"}
    assert len(links) == 8
    for link in links:
        for name, value in RANGE.items():
            assert f"{name}={value}".replace("/", "%2F") in link or f"{name}={value}" in link
    leaderboard = next(u for u in links if "/agents?" in u and "format=csv" in u)
    reply = http.get(leaderboard)  # the logged-in session reads the API
    assert reply.status_code == 200
    rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert [r["Agent"] for r in rows] == ["Alice", "Bob"]
    assert Decimal(rows[0]["Attributed sales"]) == Decimal("60.00")


def test_only_managers_and_admins(loaded: Collector) -> None:
    assert loaded.http.get("/conversations").status_code == 302  # to the login page
    http = logged_in(loaded, "alice@agency.test")
    assert http.get("/conversations", params=PAGE).status_code == 403
    assert ">Conversations</a>" not in http.get("/chatters/alice", params=PAGE).text
    assert http.get(API, params=RANGE).status_code == 403


def test_empty_state_says_what_to_do(browser: Collector) -> None:  # noqa: F811
    http = logged_in(browser)
    page = http.get("/conversations", params=PAGE)
    assert page.status_code == 200
    text = page.text
    assert "No widget or chat traffic in this range" in text
    assert "POST /api/v1/events" in text and "README: Conversation analytics" in text
    assert "No agent had a request" in text and "No written feedback in this range" in text
    assert figure(text, "requests") == "0" and figure(text, "attributed_gmv") == "$0.00"
    assert figure(text, "widget_ctr") == "–"


def test_bad_selections_fall_back_with_a_message(loaded: Collector) -> None:
    http = logged_in(loaded)
    for params, why in [
        ({"tz": "Mars/Olympus"}, "not an IANA time zone"),
        ({**PAGE, "start": "2020-01-01"}, "at most 366 days"),
        ({**PAGE, "end": "9999-12-31"}, "outside the dates"),
        ({"preset": "someday"}, "unknown date preset"),
    ]:
        page = http.get("/conversations", params=params)
        assert page.status_code == 200 and why in html.unescape(page.text), params
        assert 'role="alert"' in page.text and "showing last 7 days instead" in page.text
    # The shop is the agency's: a creator (say, from a stats page link) is left out.
    page = http.get("/conversations", params={**PAGE, "creator": "luna"})
    assert page.status_code == 200 and "the creator in the link is ignored" in page.text
    assert figure(page.text, "requests") == "5"
    # Stale page choices show the defaults.
    page = http.get("/conversations", params={**PAGE, "metric": "luck", "page": "x"})
    assert page.status_code == 200 and "Agent performance by day: conversations" in page.text
