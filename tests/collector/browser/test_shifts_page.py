"""The Schedules pages in real Chromium at a laptop's and a phone's width: the demo roster
(an overnight shift, a cancelled and a swapped day), a shift added through the form, a
roster upload refused line by line, and nothing scrolling sideways."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.collector.browser.conftest import (
    ADMIN,
    MANAGER,
    LiveCollector,
    Recorded,
    log_in,
    serving,
)
from tests.collector.browser.test_layout import overflow, widest, wrapped_values


@pytest.fixture(scope="module")
def live(demo_database: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCollector]:
    """A server of this module's own: it adds shifts the other modules' pages must not show."""
    with serving(demo_database, tmp_path_factory.mktemp("live-shifts")) as server:
        yield server


def _tab(browser: Browser, width: int) -> Recorded:
    context = browser.new_context(viewport={"width": width, "height": 900})
    return Recorded(context.new_page())


def _fits(page: Page, width: int) -> None:
    assert overflow(page) <= 0, f"{page.url} at {width} px: {widest(page)}"
    assert wrapped_values(page) == [], f"{page.url} at {width} px wraps a value"


@pytest.mark.parametrize("width", [1440, 390], ids=lambda w: f"{w}px")
def test_demo_roster_week(live: LiveCollector, browser: Browser, width: int) -> None:
    tab = _tab(browser, width)
    page = tab.page
    try:
        log_in(tab, live, MANAGER)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Schedules").click()
        expect(page.get_by_role("heading", name="Schedules", exact=True)).to_be_visible()
        for creator in ("Luna Rivers", "Nova Sky", "Mira Gold"):
            expect(page.get_by_role("heading", name=re.compile(creator))).to_be_visible()
        nova = page.locator("section", has=page.get_by_role("heading", name=re.compile("Nova Sky")))
        # Fran's nights end the next morning; this Thursday Chen works it instead.
        expect(nova.locator("a.shift", has_text="22:00–06:00").first).to_contain_text("+1")
        expect(nova.locator("a.shift.swapped").first).to_contain_text("swap for")
        luna = page.locator("section", has=page.get_by_role("heading", name=re.compile("Luna")))
        expect(luna.locator("a.shift.cancelled")).to_have_count(1)
        expect(luna.get_by_text("Needs 1 online")).to_be_visible()
        _fits(page, width)
        tab.screenshot(f"shifts-{'phone' if width < 600 else 'laptop'}")
        luna.locator("a.shift.cancelled").click()
        expect(page.get_by_role("heading", name=re.compile(r"Shift \d+"))).to_be_visible()
        expect(page.get_by_text("dentist")).to_be_visible()
        _fits(page, width)
    finally:
        page.context.close()


def test_add_a_shift_and_upload_a_roster_on_a_phone(
    live: LiveCollector, browser: Browser, tmp_path: Path
) -> None:
    tab = _tab(browser, 390)
    page = tab.page
    try:
        log_in(tab, live, ADMIN)
        page.goto(live.url + "/admin/shifts?week=2031-01-06")
        form = page.locator("form", has=page.get_by_role("button", name="Add shift"))
        form.get_by_label("Chatter").select_option("chen")
        form.get_by_label("Creator").select_option("nova")
        form.get_by_label("Once, on the first day").check()
        form.get_by_label("Start").fill("23:00")
        form.get_by_label("End", exact=True).fill("03:00")
        form.get_by_label("First day", exact=True).fill("2031-01-11")
        form.get_by_role("button", name="Add shift").click()
        expect(page.get_by_role("status")).to_contain_text("added for Chen Wei")
        nova = page.locator("section", has=page.get_by_role("heading", name=re.compile("Nova Sky")))
        expect(nova.locator("td", has_text="23:00–03:00")).to_have_attribute("data-day", "Sat 11/1")
        _fits(page, 390)

        roster = tmp_path / "roster.csv"
        roster.write_text(
            "chatter,creator,day,start,end\nchen,nova,2031-01-13,09:00,17:00\n"
            "chen,mira,2031-01-14,09:00,17:00\ndana,mira,2031-01-15,9,17:00\n"
        )
        upload = page.locator("form", has=page.get_by_role("button", name="Import"))
        upload.get_by_label("CSV file").set_input_files(str(roster))
        upload.get_by_role("button", name="Import").click()
        problems = page.locator("#roster-error")
        expect(problems).to_contain_text(
            "Line 3: chatter: chatter 'chen' does not work for creator 'mira'"
        )
        expect(problems).to_contain_text("Line 4: start: '9' is not a time")
        _fits(page, 390)
        assert "2031-01-13" not in live.cli("shifts", "list", "--chatter", "chen")
    finally:
        page.context.close()
