"""The manager's stats page and a chatter's page in real Chromium, checked against the API.

The API is asked with the demo manager token for the same selection the page shows;
the page must show the same numbers, in the same order, and its exports must hold
exactly its rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook
from playwright.sync_api import Page

from tests.collector.browser.conftest import (
    CHATTER,
    MANAGER,
    LiveCollector,
    Recorded,
    dollars,
    figure,
    log_in,
    shown_range,
    wait_ready,
)
from tests.collector.browser.conftest import (
    stats_api as api,
)


def check_figures(page: Page, body: dict[str, Any]) -> None:
    totals = body["totals"]
    assert figure(page, "total_sales") == dollars(totals["total_sales"])
    assert figure(page, "messages_sent") == f"{totals['messages_sent']:,}"
    assert figure(page, "keystrokes") == f"{totals['keystrokes']:,}"
    online = totals["online_seconds"]
    minutes = online // 60
    expected = (
        f"{online} s"
        if online < 60
        else f"{minutes} min"
        if minutes < 60
        else f"{minutes // 60} h {minutes % 60:02d} min"
    )
    assert figure(page, "online_seconds") == expected


def table_names(page: Page) -> list[str]:
    rows = page.locator("#chatters-table tbody tr:visible th")
    return [name.strip().removesuffix(" shared") for name in rows.all_inner_texts()]


def shared_names(page: Page) -> list[str]:
    """The rows marked as showing activity shared by several creators."""
    rows = page.locator("#chatters-table tbody tr:visible th:has(.badge.shared)")
    return [name.strip().removesuffix(" shared") for name in rows.all_inner_texts()]


def test_manager_selection_matches_the_api(live: LiveCollector, tab: Recorded) -> None:
    page = tab.page
    log_in(tab, live, MANAGER)
    assert page.url.startswith(live.url + "/stats")
    wait_ready(page)
    selection = shown_range(page)
    today = dt.date.fromisoformat(selection["end"])
    assert dt.date.fromisoformat(selection["start"]) == today - dt.timedelta(days=6)
    check_figures(page, api(live, "/chatters", **selection))
    tab.screenshot("stats")

    # One creator.
    page.get_by_label("Creator", exact=True).select_option("luna")
    page.get_by_role("button", name="Reload").click()
    wait_ready(page)
    body = api(live, "/chatters", **shown_range(page), creator="luna")
    check_figures(page, body)
    assert table_names(page) == [row["name"] for row in body["chatters"]]
    # A chatter who works for several creators shows their whole activity here: marked.
    shared = [row["name"] for row in body["chatters"] if row["activity_shared"]]
    assert shared and shared_names(page) == shared
    assert "several creators" in page.locator("#shared-note").inner_text()

    # A preset: yesterday.
    page.get_by_label("Dates", exact=True).select_option("yesterday")
    page.get_by_role("button", name="Reload").click()
    wait_ready(page)
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert shown_range(page)["start"] == shown_range(page)["end"] == yesterday
    check_figures(page, api(live, "/chatters", **shown_range(page), creator="luna"))

    # A custom range in another zone, typed with the keyboard: editing a date means custom.
    page.get_by_label("Creator", exact=True).select_option("")
    page.get_by_label("From", exact=True).fill((today - dt.timedelta(days=4)).isoformat())
    page.get_by_label("To", exact=True).fill((today - dt.timedelta(days=2)).isoformat())
    page.get_by_label("Time zone", exact=True).select_option("America/New_York")  # a dropdown
    assert page.get_by_label("Dates", exact=True).input_value() == "custom"
    page.get_by_label("To", exact=True).press("Enter")
    wait_ready(page)
    chosen = shown_range(page)
    assert chosen["tz"] == "America/New_York"
    assert chosen["start"] == (today - dt.timedelta(days=4)).isoformat()
    check_figures(page, api(live, "/chatters", **chosen))
    revenue = api(live, "/revenue", **chosen, compare="false")
    cells = page.locator("#revenue-table tbody tr td:first-of-type").all_text_contents()
    assert cells == [dollars(p["ppv"]) for p in revenue["series"]]
    assert tab.off_origin(live.url) == []


def test_top_chatters_search_view_and_exports(live: LiveCollector, tab: Recorded) -> None:
    page = tab.page
    log_in(tab, live, MANAGER)
    wait_ready(page)
    selection = shown_range(page)
    swatches = {
        name: page.locator("#top-table tbody tr", has_text=name)
        .locator(".swatch")
        .get_attribute("style")
        for name in page.locator("#top-table tbody th").all_inner_texts()
        if name != "Others"
    }
    for measure, label in [("messages", "Messages sent"), ("response_time", "Response time")]:
        ranking = page.get_by_role("navigation", name="Rank top chatters by")
        ranking.get_by_role("link", name=label, exact=True).click()
        wait_ready(page)
        top = api(live, "/top", **selection, by=measure)
        shown = page.locator("#top-table tbody th").all_inner_texts()
        assert shown == [item["name"] for item in top["items"]], measure
    # Each chatter keeps their colour in the table of all chatters too.
    for name, style in swatches.items():
        row = page.locator("#chatters-table tbody tr", has_text=name)
        assert row.locator(".swatch").get_attribute("style") == style

    # Search, then sort by total sales, largest first.
    page.get_by_role("searchbox").fill("a")
    names = table_names(page)
    everyone = api(live, "/chatters", **selection)["chatters"]
    expected = [
        r["name"] for r in everyone if r["key"] and ("a" in r["name"].lower() or "a" in r["key"])
    ]
    assert sorted(names) == sorted(expected) and "Unattributed" not in names
    # Sorting reloads the page in the server's order (the export's); the search stays.
    page.locator('#chatters-table th[data-key="total_sales"] a').click()
    wait_ready(page)
    assert page.get_by_role("searchbox").input_value() == "a"
    assert sorted(table_names(page)) == sorted(expected)
    assert (
        page.locator('#chatters-table th[data-key="total_sales"]').get_attribute("aria-sort")
        == "descending"
    )
    on_screen = table_names(page)
    sales = {r["name"]: Decimal(r["total_sales"]) for r in everyone}
    assert [sales[n] for n in on_screen] == sorted((sales[n] for n in on_screen), reverse=True)

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Export CSV").click()
    text = csv_download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["Chatter"] for r in rows] == on_screen
    headers = page.locator("#chatters-table thead th a.sort").all_inner_texts()
    keys = page.locator("#chatters-table thead th").evaluate_all(
        "(s) => s.map((t) => t.dataset.key)"
    )
    # The file's headers are the page's, with the unit of each duration and rate: the file
    # holds seconds and fractions where the page shows "3 h 05 min" and "25.0 %".
    unit = {"_seconds": " (seconds)", "_rate": " (1 = 100%)"}
    assert list(rows[0]) == [
        title + next((u for end, u in unit.items() if key.endswith(end)), "")
        for title, key in zip(headers, keys, strict=True)
    ]
    assert "Online (seconds)" in rows[0] and "PPV purchase rate (1 = 100%)" in rows[0]
    sales_cells = page.locator("#chatters-table tbody tr:visible td[data-value]").all()
    assert sales_cells  # the money cells carry the exact value the file holds
    for row in rows:
        assert Decimal(row["Total sales"]) == sales[row["Chatter"]]

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Export Excel").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes()))
    sheet = workbook.active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    header_at = next(i for i, row in enumerate(values) if row and row[0] == "Chatter")
    assert [row[0] for row in values[header_at + 1 :] if row[0]] == on_screen
    excel_headers = values[header_at]
    assert "Online (h:mm:ss)" in excel_headers and "PPV purchase rate (%)" in excel_headers

    # The first row's name links to the chatter page, same selection, numbers from the API.
    first = on_screen[0]
    page.locator("#chatters-table tbody").get_by_role("link", name=first, exact=True).click()
    wait_ready(page)
    key = page.url.split("/chatters/")[1].split("?")[0]
    daily = api(live, f"/chatters/{key}/daily", **shown_range(page))
    dates = page.locator("#daily-table tbody th").all_inner_texts()
    assert dates == [d["date"] for d in daily["days"]]
    totals = page.locator("#daily-table tbody tr td:first-of-type").all_inner_texts()
    assert totals == [dollars(d["total_revenue"]) for d in daily["days"]]
    assert figure(page, "total_sales") == dollars(daily["totals"]["total_sales"])
    if first in swatches:  # the same colour on the chatter's own page
        assert page.locator("h1 .swatch").get_attribute("style") == swatches[first]
    tab.screenshot("chatter")
    assert tab.off_origin(live.url) == []


def test_a_chatter_sees_only_their_own_page(live: LiveCollector, tab: Recorded) -> None:
    page = tab.page
    log_in(tab, live, CHATTER)
    assert page.url.startswith(live.url + "/chatters/alex")
    wait_ready(page)
    assert "(your own numbers)" in page.locator("h1").inner_text()
    assert page.get_by_role("heading", name="Your devices").is_visible()
    assert page.locator("#devices-table tbody tr").count() >= 1
    assert "never which key" in page.get_by_role("region", name="What the agent sends").inner_text()
    tab.screenshot("member")
    for path in ["/chatters/bea", "/stats", "/admin/"]:
        reply = page.goto(live.url + path)
        assert reply is not None and reply.status == 403, path
    api_reply = page.goto(live.url + "/api/v1/stats/top?start=2026-01-01&end=2026-01-02")
    assert api_reply is not None and api_reply.status == 403
    assert tab.off_origin(live.url) == []
