"""Alerts in real Chromium against a served collector whose scheduler evaluates every
half second: a rule made on the admin page, its signed webhook received by a real local
server, the delivery log, and the manager's "Open alerts" panel at 1440 and 390 px."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from collector.alerts import webhook
from collector.db.models import Creator
from collector.db.schedule_models import CoverageRule
from tests.collector.alerts.conftest import Hook, hook  # noqa: F401  (fixture)
from tests.collector.browser.conftest import ADMIN, MANAGER, LiveCollector, Recorded, serving


@pytest.fixture
def live(demo_database: Path, tmp_path: Path) -> Iterator[LiveCollector]:
    """A server of this test's own, evaluating alerts every half second."""
    with serving(
        demo_database,
        tmp_path,
        {"CHATTER_ALERTS_INTERVAL": "0.5", "CHATTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS": "1"},
    ) as server:
        yield server


def _tab(browser: Browser, width: int) -> Recorded:
    context = browser.new_context(viewport={"width": width, "height": 900})
    return Recorded(context.new_page())


def _log_in(page: Page, live: LiveCollector, who: tuple[str, str]) -> None:
    page.goto(live.url + "/login")
    page.get_by_label("Email").fill(who[0])
    page.get_by_label("Password").fill(who[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert "/login" not in page.url


def _overflow(page: Page) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return width


def _require_five_for_luna(live: LiveCollector) -> None:
    engine = create_engine(f"sqlite:///{live.database}")
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as session:
        luna = session.scalar(select(Creator.id).where(Creator.key == "luna"))
        assert luna is not None
        session.add(
            CoverageRule(
                creator_id=luna,
                zone="UTC",
                weekdays=127,
                start_minute=0,
                end_minute=0,  # all day
                required=5,
                created_at=now,
                updated_at=now,
            )
        )
        session.commit()
    engine.dispose()


def test_rule_webhook_log_and_dashboard_panel(
    browser: Browser,
    live: LiveCollector,
    hook: Hook,  # noqa: F811
) -> None:
    _require_five_for_luna(live)
    admin = _tab(browser, 1440)
    page = admin.page
    _log_in(page, live, ADMIN)
    page.goto(live.url + "/admin/alerts")
    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    # A bad address is refused beside the form, nothing made.
    page.locator("#rule-name").fill("Luna coverage")
    page.locator("#rule-kind").select_option("coverage")
    page.locator("#rule-threshold").fill("1")
    page.locator("#rule-creator").select_option("luna")
    page.locator("#rule-emails").fill("not an address")
    page.get_by_role("button", name="Create rule").click()
    expect(page.locator("#rule-error")).to_contain_text("is not an e-mail address")
    expect(page.get_by_text("No alert rules yet.")).to_be_visible()
    page.locator("#rule-emails").fill("")
    page.locator("#rule-webhook").fill(hook.url)
    page.get_by_role("button", name="Create rule").click()
    secret = page.locator("#secret").inner_text()
    assert secret.startswith("whsec_")
    admin.screenshot("admin-alert-secret")

    deadline = time.monotonic() + 30
    while not hook.received:
        assert time.monotonic() < deadline, "the served collector sent no webhook"
        time.sleep(0.1)
    headers, body = hook.received[0]
    assert webhook.verify(
        secret,
        headers["x-chattertrack-timestamp"],
        headers["x-chattertrack-signature"],
        body,
        time.time(),
    )
    assert b"Luna Rivers: 0 chatters online, 5 required at " in body

    page.get_by_role("link", name="Done").click()
    rules = page.locator("#rules-table")
    expect(rules).to_contain_text("Luna coverage")
    expect(rules).to_contain_text("Coverage below required")
    luna_row = rules.locator("tr", has_text="Luna coverage")
    expect(luna_row).to_contain_text("1 chatter missing")
    expect(luna_row).not_to_contain_text("chatters missing")
    expect(luna_row.locator("td").nth(2)).to_have_text("Luna Rivers")  # the name, not "luna"
    expect(luna_row.get_by_role("button", name="New secret for Luna coverage")).to_be_visible()
    expect(page.locator("#smtp-warning")).to_have_count(0)  # no rule wants e-mail yet
    expect(page.locator("#rule-emails-note")).to_contain_text("E-mail is not set up")
    # A rule that only e-mails: no secret to renew, and a warning that nothing is sent.
    page.locator("#rule-name").fill("Nova no-show")
    page.locator("#rule-kind").select_option("no_show")
    page.locator("#rule-threshold").fill("1")
    page.locator("#rule-creator").select_option("nova")
    page.locator("#rule-emails").fill("boss@agency.test")
    page.get_by_role("button", name="Create rule").click()
    # No webhook, no secret to copy: straight back to the rules, saying so.
    expect(page.get_by_text("Rule “Nova no-show” created.")).to_be_visible()
    expect(page.locator("#secret")).to_have_count(0)
    nova_row = rules.locator("tr", has_text="Nova no-show")
    expect(nova_row).to_contain_text("1 minute")
    expect(nova_row).to_contain_text("e-mail not set up")
    expect(nova_row.get_by_role("button", name=re.compile("New secret"))).to_have_count(0)
    warning = page.locator("#smtp-warning")
    expect(warning).to_contain_text("E-mail is not set up on this server")
    expect(warning).to_contain_text("“Nova no-show”")
    expect(warning).not_to_contain_text("Luna coverage")
    expect(page.locator("#rule-emails-note")).to_have_count(0)  # said once, above the form
    expect(page.get_by_text("E-mail is not set up on this server")).to_have_count(1)
    expect(page.locator("#rule-emails")).to_have_attribute("aria-describedby", "smtp-warning")
    expect(page.locator("#log-table")).to_contain_text("delivered")
    expect(page.get_by_text("The last message; times in")).to_be_visible()  # not "1 messages"
    expect(page.locator("#log-table")).to_contain_text(hook.url)
    assert _overflow(page) == 0
    admin.screenshot("admin-alerts")
    time.sleep(1.5)  # more rounds: still one message
    assert len(hook.received) == 1

    # The admin page on a phone: the warning, the rules, no sideways scrolling.
    admin_phone = _tab(browser, 390)
    _log_in(admin_phone.page, live, ADMIN)
    admin_phone.page.goto(live.url + "/admin/alerts")
    expect(admin_phone.page.locator("#smtp-warning")).to_be_visible()
    expect(admin_phone.page.locator("#rules-table")).to_contain_text("1 chatter missing")
    assert _overflow(admin_phone.page) == 0, "Admin → Alerts scrolls sideways at 390 px"
    # Every choice of When shows whole on a phone (the units are in the note below).
    when_fits = admin_phone.page.locator("#rule-kind").evaluate(
        """(s) => { const pen = document.createElement("canvas").getContext("2d");
            pen.font = getComputedStyle(s).font;
            const widest = Math.max(...[...s.options].map((o) => pen.measureText(o.text).width));
            return widest + 30 <= s.getBoundingClientRect().width
                && s.getBoundingClientRect().right <= window.innerWidth; }"""
    )
    assert when_fits, "the When list is cut off at 390 px"
    expect(admin_phone.page.locator("#rule-threshold-note")).to_contain_text("minutes for")
    admin_phone.screenshot("phone-admin-alerts")
    admin_phone.page.context.close()

    # The manager's page on a phone: the panel, its button, no sideways scrolling.
    phone = _tab(browser, 390)
    _log_in(phone.page, live, MANAGER)
    phone.page.goto(live.url + "/stats")
    panel = phone.page.locator("#open-alerts")
    expect(panel).to_contain_text("Open alerts")
    expect(panel).to_contain_text("Luna Rivers: 0 chatters online, 5 required at ")
    assert _overflow(phone.page) == 0, "the stats page scrolls sideways at 390 px"
    phone.screenshot("phone-stats-open-alerts")
    panel.get_by_role("button", name=re.compile("Acknowledge")).click()
    expect(phone.page.get_by_text("Alert acknowledged.")).to_be_visible()
    expect(phone.page.locator("#open-alerts")).to_contain_text("acknowledged by manager@demo.test")
    assert "/stats" in phone.page.url

    # The same at a laptop's width.
    laptop = _tab(browser, 1440)
    _log_in(laptop.page, live, MANAGER)
    laptop.page.goto(live.url + "/stats")
    expect(laptop.page.locator("#open-alerts li")).to_have_count(1)
    assert _overflow(laptop.page) == 0
    box = laptop.page.locator("#open-alerts").bounding_box()
    assert box is not None and box["height"] < 160, "the panel should stay small"
    laptop.screenshot("stats-open-alerts")
    for tab in (admin, phone, laptop):
        tab.page.context.close()
