"""Sent and bought PPVs, the revenue breakdown and the fan table in real Chromium, at a
laptop's and a phone's width: the API's numbers, links that work from the keyboard, and
an export that holds the rows on screen."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.collector.browser.conftest import (
    MANAGER,
    LiveCollector,
    Recorded,
    dollars,
    log_in,
    shown_range,
    wait_ready,
)
from tests.collector.browser.conftest import (
    stats_api as api,
)

WIDTHS = {"laptop": (1440, 900), "phone": (390, 844)}


@pytest.fixture(params=sorted(WIDTHS))
def sized(request: pytest.FixtureRequest, browser: Browser) -> Iterator[tuple[str, Recorded]]:
    width, height = WIDTHS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    recorded = Recorded(context.new_page())
    recorded.page.on("pageerror", lambda error: recorded.errors.append(str(error)))
    yield request.param, recorded
    context.close()
    assert recorded.errors == [], "the page logged errors"


def fans_on_screen(page: Page) -> list[str]:
    return [
        str(row.get_attribute("data-fan")) for row in page.locator("#fans-table tbody tr").all()
    ]


def inside_the_viewport(page: Page, selector: str) -> None:
    """A wide table scrolls inside its .table-wrap, which stays within the viewport."""
    wrap = page.locator(selector).locator("xpath=ancestor::div[contains(@class,'table-wrap')][1]")
    box = wrap.bounding_box()
    width = page.evaluate("window.innerWidth")
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, selector


def press(page: Page, selector: str) -> None:
    """Follow a link from the keyboard: focus it, then Enter."""
    page.locator(selector).focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    wait_ready(page)


def test_sent_and_bought_ppvs_columns(live: LiveCollector, sized: tuple[str, Recorded]) -> None:
    width, tab = sized
    page = tab.page
    log_in(tab, live, MANAGER)
    wait_ready(page)
    body = api(live, "/chatters", **shown_range(page))
    headers = page.locator("#chatters-table thead th a.sort").all_inner_texts()
    assert "Sent PPVs" in headers and "Bought PPVs" in headers
    # Each row's cells line up with the header's columns (the name is the row header).
    keys = page.locator("#chatters-table thead th").evaluate_all(
        "cells => cells.map(c => c.dataset.key || '')"
    )
    for row in body["chatters"]:
        if row["key"] is None:
            continue
        cells = page.locator(f'#chatters-table tbody tr[data-key="{row["key"]}"] > *')
        sent, bought = (cells.nth(keys.index(k)) for k in ("ppv_sent", "ppv_bought"))
        assert sent.get_attribute("data-value") == str(row["ppv_sent"])
        assert bought.get_attribute("data-value") == str(row["ppv_bought"])
    # Sorting by Sent PPVs from the keyboard: the server's order.
    press(page, '#chatters-table th[data-key="ppv_sent"] a')
    assert (
        page.locator('#chatters-table th[data-key="ppv_sent"]').get_attribute("aria-sort")
        == "descending"
    )
    inside_the_viewport(page, "#chatters-table")


def test_breakdown_and_fan_table(live: LiveCollector, sized: tuple[str, Recorded]) -> None:
    width, tab = sized
    page = tab.page
    log_in(tab, live, MANAGER)
    wait_ready(page)
    top = api(live, "/top", **shown_range(page), by="revenue")["items"][0]
    page.goto(f"{live.url}/chatters/{top['key']}?preset=last_30_days")
    wait_ready(page)
    selection = shown_range(page)
    key = top["key"]

    split = api(live, f"/chatters/{key}/breakdown", **selection)
    net = page.locator("#breakdown-kinds tfoot td").inner_text()
    assert net == dollars(split["totals"]["net_revenue"])
    creators = page.locator("#breakdown-creators tbody tr").all()
    assert [c.get_attribute("data-creator") for c in creators] == [
        c["creator"] for c in split["creators"]
    ]
    # One meaning per label: sales before refunds, refunds a deduction in both tables.
    labels = page.locator("#breakdown-kinds tbody th").all_inner_texts()
    assert labels == ["PPV sales (before refunds)", "Tips (before refunds)", "Refunds"]
    refunds = f"-{split['totals']['refunds']}" if split["totals"]["refunds"] != "0.00" else "0.00"
    kinds = page.locator("#breakdown-kinds tbody td").all_inner_texts()
    assert kinds[2] == dollars(refunds)
    total = page.locator("#breakdown-creators tfoot td").all_inner_texts()
    assert total[-2:] == [dollars(refunds), dollars(split["totals"]["net_revenue"])]
    daily = api(live, f"/chatters/{key}/daily", **selection)
    assert split["totals"]["net_revenue"] == daily["totals"]["total_sales"]

    fans = api(live, f"/chatters/{key}/fans", **selection, per_page="25")
    assert fans["total"] > 0, "the demo chatter has fans"
    assert fans_on_screen(page) == [f["fan"] for f in fans["fans"]]
    # The demo's mass messages go to "all-fans": no fan of anyone's.
    assert api(live, f"/chatters/{key}/fans", **selection, q="all-fans")["total"] == 0
    first = page.locator("#fans-table tbody tr").first
    assert first.locator("td[data-value]").nth(0).inner_text() == fans["fans"][0]["creator_name"]
    assert first.locator("td[data-value]").nth(1).inner_text() == dollars(
        fans["fans"][0]["net_revenue"]
    )
    inside_the_viewport(page, "#fans-table")
    inside_the_viewport(page, "#breakdown-creators")
    page.locator("#fans").scroll_into_view_if_needed()
    tab.screenshot(f"chatter-fans-{width}")

    # Sort by fan reference from the keyboard, then page on from the keyboard.
    press(page, '#fans-table th[data-key="fan"] a')
    assert page.locator('#fans-table th[data-key="fan"]').get_attribute("aria-sort") == "ascending"
    by_fan = api(live, f"/chatters/{key}/fans", **selection, per_page="25", sort="fan", order="asc")
    assert fans_on_screen(page) == [f["fan"] for f in by_fan["fans"]]
    if by_fan["pages"] > 1:
        press(page, '#fans nav a[rel="next"]')
        second = api(
            live,
            f"/chatters/{key}/fans",
            **selection,
            per_page="25",
            sort="fan",
            order="asc",
            page="2",
        )
        assert fans_on_screen(page) == [f["fan"] for f in second["fans"]]
        assert page.locator("#fans-shown").inner_text().startswith("Page 2 of")

    # Search by typing a piece of a fan reference and Enter; the export holds those rows.
    # The tail of the longest reference shown ("-123" of "fan-123"): a handful of fans.
    needle = max((f["fan"] for f in by_fan["fans"]), key=len)[-4:]
    page.locator("#fan-search").fill(needle)
    page.locator("#fan-search").press("Enter")
    page.wait_for_load_state()
    wait_ready(page)
    shown = fans_on_screen(page)
    assert shown and all(needle.lower() in fan.lower() for fan in shown)
    found = api(live, f"/chatters/{key}/fans", **selection, q=needle, sort="fan", order="asc")
    assert found["total"] <= 25, "a narrow search fits one page"
    with page.expect_download() as download:
        page.locator('a.export[data-table="fans-table"]', has_text="CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert [r["Fan"] for r in rows] == shown
    assert [r["Net spend"] for r in rows] == [f["net_revenue"] for f in found["fans"]]
