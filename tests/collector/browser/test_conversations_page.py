"""The conversation analytics page in real Chromium, checked against the API.

`chatter-collector demo` seeds a week of website-chat traffic.  The API is asked with
the demo manager token for the selection the page shows; the page must show the same
numbers, the leaderboard in the same order, pages of feedback as the API pages them,
and exports that read back to the same rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook
from playwright.sync_api import Page

from collector.pages.conversations import PER_PAGE
from tests.collector.browser.conftest import (
    MANAGER,
    LiveCollector,
    Recorded,
    dollars,
    figure,
    log_in,
    shown_range,
    stats_api,
    wait_ready,
)

CHARTS = ["daily-chart", "rates-chart", "hours-chart", "distribution-chart", "rating-chart"]


def api(live: LiveCollector, path: str = "", **params: str) -> dict[str, Any]:
    return stats_api(live, "/conversations" + path, **params)


# How a person reads each kind of number, written here independently of the app.
def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def rating(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def check_page(page: Page, live: LiveCollector) -> dict[str, Any]:
    """The figures and tables against the API for what the page shows; the API's bodies."""
    chosen = shown_range(page)
    body = api(live, **chosen)
    s = body["summary"]
    assert figure(page, "requests") == f"{s['requests']:,}"
    assert figure(page, "conversations") == f"{s['conversations']:,}"
    assert figure(page, "attributed_gmv") == dollars(s["attributed_gmv"])
    assert figure(page, "nps_average") == rating(s["nps_average"])
    for name in ("agent_acceptance_rate", "visitor_acceptance_rate", "widget_ctr"):
        assert figure(page, name) == percent(s[name]), name
    trends = api(live, "/trends", **chosen, compare="false")
    dates = page.locator("#daily-table tbody th").all_text_contents()
    assert dates == [p["date"] for p in trends["series"]]
    counts = page.locator("#daily-table tbody tr td:nth-of-type(6)").all_text_contents()
    assert counts == [f"{p['conversations']:,}" for p in trends["series"]]
    hours = page.locator("#hours-table tbody tr td:nth-of-type(2)").all_text_contents()
    assert hours == [f"{h['video_requests']:,}" for h in trends["hours_of_day"]]
    urls = page.locator("#urls-table tbody th").all_text_contents()
    assert urls == [u["url"] for u in body["top_urls"]]
    agents = api(live, "/agents", **chosen)["agents"]
    names = page.locator("#agents-table tbody th").all_inner_texts()
    assert [n.strip() for n in names] == [a["name"] for a in agents]
    sales = page.locator("#agents-table tbody td[data-value]:nth-of-type(6)").all_text_contents()
    assert sales == [dollars(a["attributed_sales"]) for a in agents]
    drawn = page.evaluate(
        "ids => ids.every(id => Chart.getChart(document.getElementById(id)) !== undefined)",
        CHARTS,
    )
    assert drawn, "every chart is drawn"
    return body


def test_conversations_page_matches_the_api(live: LiveCollector, tab: Recorded) -> None:
    page = tab.page
    log_in(tab, live, MANAGER)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Conversations").click()
    wait_ready(page)
    assert page.url.startswith(live.url + "/conversations")
    selection = shown_range(page)
    today = dt.date.fromisoformat(selection["end"])
    assert dt.date.fromisoformat(selection["start"]) == today - dt.timedelta(days=6)
    body = check_page(page, live)
    assert body["summary"]["requests"] > 0  # the demo's traffic
    assert page.locator(".empty").count() == 0
    tab.screenshot("conversations")

    # Each agent has the colour the chatter stats page gives them.
    colours = {
        name.strip(): page.locator("#agents-table tbody tr", has_text=name)
        .locator(".swatch")
        .get_attribute("style")
        for name in page.locator("#agents-table tbody th").all_inner_texts()
    }

    # A preset: yesterday.
    page.get_by_label("Dates", exact=True).select_option("yesterday")
    page.get_by_role("button", name="Reload").click()
    wait_ready(page)
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert shown_range(page)["start"] == shown_range(page)["end"] == yesterday
    check_page(page, live)

    # A custom range in another zone, typed with the keyboard: editing a date means custom.
    page.get_by_label("From", exact=True).fill((today - dt.timedelta(days=4)).isoformat())
    page.get_by_label("To", exact=True).fill((today - dt.timedelta(days=2)).isoformat())
    page.get_by_label("Time zone", exact=True).select_option("America/New_York")  # a dropdown
    assert page.get_by_label("Dates", exact=True).input_value() == "custom"
    page.get_by_label("To", exact=True).press("Enter")
    wait_ready(page)
    chosen = shown_range(page)
    assert chosen["tz"] == "America/New_York"
    assert chosen["start"] == (today - dt.timedelta(days=4)).isoformat()
    check_page(page, live)

    # The per-agent trend for another metric, chosen with the keyboard.
    metric = page.get_by_role("navigation", name="Show agents' daily")
    metric.get_by_role("link", name="Attributed sales").focus()
    page.keyboard.press("Enter")
    wait_ready(page)
    assert shown_range(page) == chosen
    agents = api(live, "/agents", **chosen)["agents"]
    first = page.locator("#agent-trend-table tbody tr").first
    assert first.locator("td").all_text_contents() == [
        dollars(d["attributed_sales"]) for d in agents[0]["trend"]
    ]

    page.goto(live.url + "/stats")
    wait_ready(page)
    for name, style in colours.items():
        row = page.locator("#chatters-table tbody tr", has_text=name)
        assert row.locator(".swatch").get_attribute("style") == style, name
    assert tab.off_origin(live.url) == []


def test_feedback_pages_and_exports(live: LiveCollector, tab: Recorded) -> None:
    page = tab.page
    log_in(tab, live, MANAGER)
    page.goto(live.url + "/conversations")
    wait_ready(page)
    chosen = shown_range(page)
    nps = api(live, "/nps", **chosen, per_page=str(PER_PAGE))
    pages = nps["feedback"]["pages"]
    assert pages > 1, "a week of demo feedback fills more than one page"

    def feedback_rows() -> list[str]:
        return page.locator("#feedback-table tbody td.feedback").all_text_contents()

    assert feedback_rows() == [f["feedback"] for f in nps["feedback"]["items"]]
    pager = page.get_by_role("navigation", name="Feedback pages")
    assert pager.get_by_text(f"Page 1 of {pages}").is_visible()
    pager.get_by_role("link", name="Next").click()
    wait_ready(page)
    second = api(live, "/nps", **chosen, per_page=str(PER_PAGE), page="2")["feedback"]["items"]
    assert feedback_rows() == [f["feedback"] for f in second]
    assert (
        page.get_by_role("navigation", name="Feedback pages")
        .get_by_text(f"Page 2 of {pages}")
        .is_visible()
    )
    page.get_by_role("navigation", name="Feedback pages").get_by_role(
        "link", name="Previous"
    ).click()
    wait_ready(page)
    assert feedback_rows() == [f["feedback"] for f in nps["feedback"]["items"]]

    # The leaderboard as CSV: the rows and order on screen.
    on_screen = [n.strip() for n in page.locator("#agents-table tbody th").all_inner_texts()]
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Export CSV of the leaderboard").click()
    text = csv_download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["Agent"] for r in rows] == on_screen
    agents = api(live, "/agents", **chosen)["agents"]
    assert [Decimal(r["Attributed sales"]) for r in rows] == [
        Decimal(a["attributed_sales"]) for a in agents
    ]

    # All the feedback of the range as Excel, not only the page on screen.
    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Export Excel of all feedback").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes()))
    sheet = workbook.active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    header_at = next(i for i, row in enumerate(values) if row and row[0] == "Date")
    header = list(values[header_at])
    entries = [row for row in values[header_at + 1 :] if row[0]]
    assert len(entries) == nps["feedback"]["total"]
    texts = [row[header.index("Feedback")] for row in entries]
    assert texts[:PER_PAGE] == [f["feedback"] for f in nps["feedback"]["items"]]
    assert tab.off_origin(live.url) == []
