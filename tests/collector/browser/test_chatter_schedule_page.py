"""A chatter's own page in Chromium at a phone's and a laptop's width (issue 15): their
shifts of the next 7 days and their attendance of the last 14, the numbers the manager's
Attendance page shows for them, nobody else's, and wide tables that say they scroll."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, Page

from collector.demo.agency import MANAGER_TOKEN
from collector.pages.formatting import duration
from tests.collector.browser.conftest import (
    CHATTER,
    MANAGER,
    LiveCollector,
    Recorded,
    log_in,
    stats_api,
)


def _api(live: LiveCollector, path: str, **params: str) -> dict:
    reply = httpx.get(
        f"{live.url}/api/v1/stats/{path}",
        params=params,
        headers={"Authorization": f"Bearer {MANAGER_TOKEN}"},
    )
    assert reply.status_code == 200, reply.text
    body: dict = reply.json()
    return body


def _cells(page: Page, selector: str) -> list[str]:
    return page.locator(selector).all_inner_texts()


def scroll_cues(page: Page) -> list[tuple[str, bool]]:
    """Each table frame that scrolls sideways: its table, and whether it draws the cue
    (the shadows of app.css .table-wrap, covered at the ends as the table scrolls)."""
    found: list[tuple[str, bool]] = page.evaluate(
        """() => [...document.querySelectorAll('.table-wrap')]
            .filter((w) => w.scrollWidth > w.clientWidth + 1 && w.offsetParent)
            .map((w) => { const s = getComputedStyle(w);
                return [w.querySelector('table').id || w.querySelector('table').className,
                        s.backgroundImage.includes('radial-gradient')
                        && s.backgroundAttachment.includes('local')]; })"""
    )
    return found


@pytest.mark.parametrize("width", [390, 1440])
def test_a_chatter_sees_their_schedule_and_attendance(
    browser: Browser, live: LiveCollector, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    tab = Recorded(context.new_page())
    page = tab.page
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    managers = browser.new_context(viewport={"width": width, "height": 900})
    boss = Recorded(managers.new_page())
    try:
        log_in(tab, live, CHATTER)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="My stats").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Your shifts, next 7 days").is_visible()
        assert page.get_by_role("heading", name="Your attendance, last 14 days").is_visible()
        recent = page.locator("#recent")
        chosen = {k: recent.get_attribute(f"data-{k}") or "" for k in ("start", "end", "tz")}
        # The attendance figures: the API's for alex, and the manager page's, cell for cell.
        body = stats_api(live, "/attendance", **chosen, chatter="alex", per_page="1000")
        (totals,) = body["chatters"]
        mine = _cells(page, '#recent-totals tr[data-key="alex"] td')
        assert mine[2] == duration(totals["online_seconds"])
        assert mine[3] == duration(totals["active_seconds"])
        assert mine[5:8] == [str(totals[k]) for k in ("late_shifts", "early_leaves", "no_shows")]
        log_in(boss, live, MANAGER)
        boss.page.goto(
            f"{live.url}/attendance?preset=custom&"
            + "&".join(f"{k}={v}" for k, v in chosen.items())
        )
        assert _cells(boss.page, '#attendance-chatters tr[data-key="alex"] td') == mine
        page.get_by_text("Each shift").click()
        assert page.locator("#recent-shifts tbody tr").count() == len(body["shifts"])
        # The shifts ahead: the API's, with the creators' names.
        ahead = _api(live, "chatters/alex/shifts", tz=chosen["tz"])
        rows = page.locator("#upcoming-table tbody tr")
        assert rows.count() == len(ahead["shifts"])
        for i, shift in enumerate(ahead["shifts"]):
            assert shift["creator_name"] in rows.nth(i).inner_text()
        # Nobody else's shifts or figures.
        others = [
            c["name"]
            for c in stats_api(live, "/chatters", **chosen)["chatters"]
            if c["key"] not in ("alex", None)
        ]
        shown = page.locator("#upcoming").inner_text() + page.locator("#recent").inner_text()
        assert others and not [name for name in others if name in shown]
        # Nothing sticks out sideways; every table that scrolls shows its cue.
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        cues = scroll_cues(page)
        assert all(drawn for _, drawn in cues), cues
        if width == 390:
            assert cues, "at a phone's width some table scrolls"
        tab.screenshot(f"chatter-schedule-{width}")
    finally:
        context.close()
        managers.close()
    assert tab.errors == [] and boss.errors == []


@pytest.mark.parametrize("path", ["/attendance", "/now"])
def test_wide_tables_say_they_scroll_on_a_phone(
    browser: Browser, live: LiveCollector, path: str
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 900})
    tab = Recorded(context.new_page())
    try:
        log_in(tab, live, MANAGER)
        tab.page.goto(live.url + path)
        cues = scroll_cues(tab.page)
        assert all(drawn for _, drawn in cues), cues
        if path == "/attendance":
            assert cues
        assert tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    finally:
        context.close()
    assert tab.errors == []
