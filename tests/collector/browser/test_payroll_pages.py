"""The payroll pages in real Chromium at a laptop's and a phone's width, on the demo agency
(weekly periods, last week approved, Chen's commission corrected since): the admin sees
this week carrying last week's adjustment and what it stands on, and approves a period
through its confirmation; the team lead sees the chatters of Nova only; Alex sees his own
pay.  Nothing but the tables scrolls sideways."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text

from tests.collector.browser.conftest import (
    ADMIN,
    CHATTER,
    LiveCollector,
    Recorded,
    log_in,
    serving,
)
from tests.collector.browser.test_layout import overflow, widest, wrapped_values

LEAD = ("lead@demo.test", "demo-lead-password")
WIDTHS = pytest.mark.parametrize("width", [1440, 390], ids=lambda w: f"{w}px")


def _tab(browser: Browser, width: int) -> Recorded:
    context = browser.new_context(viewport={"width": width, "height": 900})
    recorded = Recorded(context.new_page())
    recorded.page.on("pageerror", lambda error: recorded.errors.append(str(error)))
    return recorded


def _fits(page: Page, width: int) -> None:
    assert overflow(page) <= 0, f"{page.url} at {width} px: {widest(page)}"
    assert wrapped_values(page) == [], f"{page.url} at {width} px wraps a value"


def _rows(page: Page) -> list[str]:
    return page.locator("#payroll-chatters tbody tr[data-chatter]").evaluate_all(
        "rows => rows.map(r => r.dataset.chatter)"
    )


def _payroll(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Payroll").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Payroll", level=1)).to_be_visible()


@pytest.fixture(scope="module")
def unlocked(
    demo_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveCollector]:
    """The demo agency with last week not approved yet: the admin approves it here."""
    with serving(demo_database, tmp_path_factory.mktemp("payroll")) as server:
        engine = create_engine(f"sqlite:///{server.database}")
        with engine.begin() as c:
            c.execute(text("DELETE FROM pay_lines"))
            c.execute(text("DELETE FROM pay_periods"))
        engine.dispose()
        yield server


@WIDTHS
def test_the_admin_sees_the_adjustment_and_the_locked_week(
    browser: Browser, live: LiveCollector, width: int
) -> None:
    tab = _tab(browser, width)
    page = tab.page
    try:
        log_in(tab, live, ADMIN)
        _payroll(page)
        # This week: open, carrying last week's adjustment (Chen's corrected commission).
        expect(page.locator("#carries-adjustments")).to_be_visible()
        assert _rows(page) == ["alex", "bea", "chen", "dana", "eli"]
        expect(page.locator("#without-rule")).to_contain_text("Fran Costa")
        expect(page.locator("#payroll-totals")).to_be_visible()
        links = page.get_by_role("navigation", name="Download").get_by_role("link")
        hrefs = links.evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert len(hrefs) == 4 and all(h.startswith("/api/v1/payroll?period=") for h in hrefs)
        assert {re.sub(r".*format=(\w+).*view=(\w+)", r"\1 \2", h) for h in hrefs} == {
            "csv chatters", "xlsx chatters", "csv lines", "xlsx lines"
        }  # fmt: skip
        expect(page.locator("#approve-link")).to_have_count(0)  # this week is not over
        chen = page.locator("#lines-chen")
        chen.locator("summary").first.click()
        adjustment = chen.locator("tr.adjustment[data-kind=commission]").last
        expect(adjustment).to_contain_text("Commission (adjustment)")
        adjustment.get_by_text("What changed").click()
        expect(adjustment).to_contain_text("set by admin@demo.test")
        expect(adjustment).not_to_contain_text("Sales and refunds received")  # none came late
        _fits(page, width)
        tab.screenshot(f"payroll-admin-{width}")
        # Last week: locked, approved by the demo admin, as paid.
        page.locator("#period-previous").click()
        page.wait_for_load_state()
        status = page.locator("#period-status")
        expect(status).to_contain_text("Locked")
        expect(status).to_contain_text("Approved by admin@demo.test")
        expect(page.locator("#approve-link")).to_have_count(0)
        _fits(page, width)
        tab.screenshot(f"payroll-admin-locked-{width}")
    finally:
        page.context.close()
    assert tab.errors == []


@WIDTHS
def test_the_admin_approves_last_week(
    browser: Browser, unlocked: LiveCollector, width: int
) -> None:
    tab = _tab(browser, width)
    page = tab.page
    try:
        log_in(tab, unlocked, ADMIN)
        _payroll(page)
        page.locator("#period-previous").click()
        page.wait_for_load_state()
        shown = page.locator("#period-shown").inner_text()
        link = page.locator("#approve-link")
        if width == 390:
            # The narrow run comes second: the wide one approved the week already.
            expect(link).to_have_count(0)
            expect(page.locator("#period-status")).to_contain_text("Locked")
            _fits(page, width)
            return
        link.click()
        page.wait_for_load_state()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Approve and lock")
        _fits(page, width)
        tab.screenshot(f"payroll-approve-confirm-{width}")
        page.get_by_role("button", name="Approve and lock").click()
        page.wait_for_load_state()
        expect(page.locator("p.flash[role=status]")).to_contain_text("approved and locked")
        assert page.locator("#period-shown").inner_text() == shown
        expect(page.locator("#period-status")).to_contain_text("Approved by admin@demo.test")
        tab.screenshot(f"payroll-approved-{width}")
        # This week now carries no adjustment (the correction was in before the approval).
        page.locator("#period-next").click()
        page.wait_for_load_state()
        expect(page.locator("#carries-adjustments")).to_have_count(0)
        expect(page.locator("tr.adjustment")).to_have_count(0)
    finally:
        page.context.close()
    assert tab.errors == []


@WIDTHS
def test_the_team_lead_sees_novas_chatters(
    browser: Browser, live: LiveCollector, width: int
) -> None:
    tab = _tab(browser, width)
    page = tab.page
    try:
        log_in(tab, live, LEAD)
        _payroll(page)
        assert _rows(page) == ["bea", "chen"]  # Nova's chatters with a pay rule
        expect(page.locator("#without-rule")).to_contain_text("Fran Costa")
        expect(page.locator("#without-rule")).not_to_contain_text("Alex")
        expect(page.locator("#approve-link")).to_have_count(0)
        page.locator("#period-previous").click()
        page.wait_for_load_state()
        expect(page.locator("#approve-link")).to_have_count(0)
        assert _rows(page) == ["bea", "chen"]
        _fits(page, width)
        tab.screenshot(f"payroll-lead-{width}")
    finally:
        page.context.close()
    assert tab.errors == []


@WIDTHS
def test_a_chatter_sees_their_own_pay(browser: Browser, live: LiveCollector, width: int) -> None:
    tab = _tab(browser, width)
    page = tab.page
    try:
        log_in(tab, live, CHATTER)
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Payroll")).to_have_count(0)
        nav.get_by_role("link", name="My pay").click()
        page.wait_for_load_state()
        expect(page.get_by_role("heading", name="My pay", level=1)).to_be_visible()
        page.locator("#period-previous").click()
        page.wait_for_load_state()
        assert _rows(page) == ["alex"]
        expect(page.locator("#lines-alex")).to_contain_text("Hourly pay")
        for other in ("Bea", "Chen", "Dana", "Eli", "Fran"):
            expect(page.locator("main")).not_to_contain_text(other)
        _fits(page, width)
        tab.screenshot(f"payroll-chatter-{width}")
        reply = page.goto(live.url + "/payroll")
        assert reply is not None and reply.status == 403
    finally:
        page.context.close()
    assert [e for e in tab.errors if "403" not in e] == []


@WIDTHS
def test_the_admin_sets_a_pay_rule(browser: Browser, unlocked: LiveCollector, width: int) -> None:
    tab = _tab(browser, width)
    page = tab.page
    day = (dt.date.today() + dt.timedelta(days=40 + (width == 390))).isoformat()
    try:
        log_in(tab, unlocked, ADMIN)
        page.goto(unlocked.url + "/admin/chatters/fran")
        expect(page.get_by_role("heading", name="Pay rules")).to_be_visible()
        form = page.locator("form", has=page.get_by_role("button", name="Add pay rule"))
        form.get_by_label("From (a day, agency time zone)").fill(day)
        form.get_by_label("Hourly rate").fill("15.001")
        form.get_by_role("button", name="Add pay rule").click()
        page.wait_for_load_state()
        expect(page.locator("#rule-error")).to_contain_text("more than 2 decimal places")
        form.get_by_label("Hourly rate").fill("15.50")
        form.get_by_label("Commission (% of net sales)").fill("12.5")
        form.get_by_label("Commission after the platform's fee").check()
        form.get_by_label("Hours paid on").select_option("scheduled")
        form.get_by_role("button", name="Add pay rule").click()
        page.wait_for_load_state()
        expect(page.locator("p.flash[role=status]")).to_contain_text(f"from {day} saved")
        expect(page.locator("#pay-rules tbody tr").first).to_contain_text(
            re.compile(r"\$15\.50/h\s+scheduled time\s+12\.50 % after the fee")
        )
        _fits(page, width)
        tab.screenshot(f"payroll-rules-{width}")
    finally:
        page.context.close()
    assert tab.errors == []
