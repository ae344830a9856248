"""A team lead's dashboard in real Chromium: a manager login limited to one creator sees
that creator's chatters and numbers only, the same as the API for that creator; the creator
picker and the exports' title block name their creators, never the whole agency."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.collector.browser.conftest import (
    LiveCollector,
    Recorded,
    dollars,
    figure,
    log_in,
    shown_range,
    wait_ready,
)
from tests.collector.browser.conftest import stats_api as api
from tests.collector.browser.test_stats_pages import table_names

LEAD = ("mira-lead@demo.test", "team-lead-password")


def excel_creator(page: Page) -> str:
    """The Creator line of the title block of the Excel export the page offers."""
    with page.expect_download() as download:
        page.get_by_role("link", name="Export Excel").click()
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    assert sheet is not None
    block = {row[0]: row[1] for row in sheet.iter_rows(max_row=6, values_only=True) if row[0]}
    return str(block["Creator"])


def test_a_team_lead_sees_only_their_creators_chatters(live: LiveCollector, tab: Recorded) -> None:
    live.cli("add-user", LEAD[0], "--role", "manager", "--creators", "mira", stdin=LEAD[1] + "\n")
    page = tab.page
    log_in(tab, live, LEAD)
    assert page.url.startswith(live.url + "/stats")
    wait_ready(page)
    mira = api(live, "/chatters", **shown_range(page), creator="mira")
    everyone = api(live, "/chatters", **shown_range(page))
    # The API (an unlimited token) for mira alone is what the lead's whole page shows.
    assert table_names(page) == [row["name"] for row in mira["chatters"]]
    assert len(table_names(page)) < len(everyone["chatters"])
    assert figure(page, "total_sales") == dollars(mira["totals"]["total_sales"])
    # One creator: the picker shows just that one (no "All creators": not the agency's).
    picker = page.get_by_label("Creator", exact=True)
    assert picker.locator("option").all_inner_texts() == ["Mira Gold"]
    assert picker.input_value() == "mira"
    expect(page.locator("#creator-limit")).to_contain_text("Mira Gold only")
    assert excel_creator(page) == "Mira Gold"
    page.get_by_role("button", name="Reload").click()  # the form sends the one creator
    wait_ready(page)
    assert "creator=mira" in page.url
    assert figure(page, "total_sales") == dollars(mira["totals"]["total_sales"])
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Conversations")).to_have_count(0)
    # Another chatter's page is refused.
    other = next(r for r in everyone["chatters"] if r["key"] and r["name"] not in table_names(page))
    reply = page.goto(f"{live.url}/chatters/{other['key']}")
    assert reply is not None and reply.status == 403

    # Two creators: "All my creators", then each; the title block names both.
    live.cli("set-creators", LEAD[0], "mira,luna")
    page.goto(live.url + "/stats")
    wait_ready(page)
    picker = page.get_by_label("Creator", exact=True)
    assert picker.locator("option").all_inner_texts() == [
        "All my creators",
        "Luna Rivers",
        "Mira Gold",
    ]
    assert picker.input_value() == ""
    assert excel_creator(page) == "Luna Rivers, Mira Gold"
    picker.select_option("luna")
    page.get_by_role("button", name="Reload").click()
    wait_ready(page)
    assert excel_creator(page) == "Luna Rivers"
