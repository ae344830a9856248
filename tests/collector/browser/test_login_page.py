"""Logging in and out in real Chromium against a live collector with the demo agency."""

from __future__ import annotations

from tests.collector.browser.conftest import LiveCollector, Recorded
from tests.collector.browser.test_account_pages import UNUSABLE, focus_is_on


def test_manager_logs_in_and_out(live: LiveCollector, tab: Recorded) -> None:
    page = tab.page
    page.goto(live.url + "/")
    assert page.url == live.url + "/login"  # not logged in: sent to the form
    tab.screenshot("login")
    page.get_by_label("Email").fill("manager@demo.test")
    page.get_by_label("Password").fill("demo-manager-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live.url + "/stats**")
    assert "manager@demo.test · manager" in page.content()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(live.url + "/login")
    # The browser stays known to the account (its guesses are counted apart), and the
    # device cookie is out of reach of page scripts.
    device = [c for c in page.context.cookies() if c["name"] == "chattertrack_device"]
    assert len(device) == 1 and device[0]["httpOnly"] and device[0]["sameSite"] == "Lax"
    assert "chattertrack_device" not in page.evaluate("document.cookie")
    assert tab.off_origin(live.url) == []


def test_wrong_password_is_refused_with_a_message(live: LiveCollector, tab: Recorded) -> None:
    page = tab.page
    page.goto(live.url + "/login")
    page.get_by_label("Email").fill("admin@demo.test")
    page.get_by_label("Password").fill("not the password")
    page.keyboard.press("Enter")  # the form works from the keyboard
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "wrong email or password" in alert.inner_text()
    assert page.get_by_label("Email").input_value() == "admin@demo.test"


def test_a_nul_in_the_password_is_shown_beside_it(live: LiveCollector, tab: Recorded) -> None:
    """A NUL pasted into the password: the form again with the field's message and the
    focus on it, not the error page; the email stays as typed."""
    page = tab.page
    page.goto(live.url + "/login")
    page.get_by_label("Email").fill("manager@demo.test")
    page.get_by_label("Password").fill("demo-manager\x00-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert page.url == live.url + "/login"
    focus_is_on(page, "password", UNUSABLE)
    assert page.get_by_label("Email").input_value() == "manager@demo.test"
    page.get_by_label("Password").fill("demo-manager-password")  # then it logs in
    page.keyboard.press("Enter")
    page.wait_for_url(live.url + "/stats**")
