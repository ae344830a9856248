"""Passwords in real Chromium: a login changes its own from the keyboard; an admin resets
another's, whose old sessions end and who must choose a new one at the next login."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.collector.browser.conftest import ADMIN, LiveCollector, Recorded, log_in

OLD = "first password here"
NEW = "second password here"
OWN = "one I chose myself"


def type_password_change(page: Page, current: str, new: str) -> None:
    """The account form from the keyboard: Tab between the fields, Enter to send."""
    page.get_by_label("Current password").focus()
    page.keyboard.type(current)
    page.keyboard.press("Tab")
    page.keyboard.type(new)
    page.keyboard.press("Tab")
    page.keyboard.type(new)
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def fits_a_phone(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    wide = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert wide, f"{page.url} scrolls sideways at 390 px"
    page.set_viewport_size({"width": 1440, "height": 900})


def test_a_login_changes_its_own_password_with_the_keyboard(
    live: LiveCollector, tab: Recorded, browser: Browser
) -> None:
    live.cli("add-user", "keys@demo.test", "--role", "manager", stdin=OLD + "\n")
    other = browser.new_context()
    try:
        elsewhere = other.new_page()
        log_in(Recorded(elsewhere), live, ("keys@demo.test", OLD))
        page = tab.page
        log_in(tab, live, ("keys@demo.test", OLD))
        page.get_by_role("link", name="Account").focus()  # in every page's header
        page.keyboard.press("Enter")
        page.wait_for_url(live.url + "/account")
        fits_a_phone(page)
        type_password_change(page, OLD, OLD)  # refused by the server, beside the field
        expect(page.locator("#new-error")).to_contain_text("other than the current one")
        expect(page.get_by_label("New password", exact=True)).to_have_attribute(
            "aria-invalid", "true"
        )
        tab.screenshot("account-password-error")
        type_password_change(page, OLD, NEW)
        expect(page.get_by_role("status")).to_contain_text("Password changed")
        assert "/login" not in page.url  # this browser stays logged in
        elsewhere.goto(live.url + "/stats")  # the other browser's session ended
        assert "/login" in elsewhere.url
    finally:
        other.close()


def test_admin_reset_forces_a_change_at_the_next_login(
    live: LiveCollector, tab: Recorded, browser: Browser
) -> None:
    live.cli("add-user", "reset@demo.test", "--role", "manager", stdin=OLD + "\n")
    owner_context = browser.new_context()
    try:
        owner = owner_context.new_page()
        log_in(Recorded(owner), live, ("reset@demo.test", OLD))
        owner.goto(live.url + "/stats")
        assert "/stats" in owner.url

        page = tab.page
        log_in(tab, live, ADMIN)
        page.goto(live.url + "/admin/users")
        page.get_by_role("link", name="Reset password reset@demo.test").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("reset@demo.test")
        fits_a_phone(page)
        page.get_by_role("button", name="Generate a password").click()
        secret = page.locator("#secret").inner_text()
        assert len(secret) >= 10
        tab.screenshot("admin-password-reset")
        page.get_by_role("link", name="Done").click()
        row = page.get_by_role("row").filter(has_text="reset@demo.test")
        expect(row).to_contain_text("must change password")

        owner.goto(live.url + "/stats")  # the old session ended with the reset
        assert "/login" in owner.url
        owner.get_by_label("Email").fill("reset@demo.test")
        owner.get_by_label("Password").fill(secret)
        owner.keyboard.press("Enter")
        owner.wait_for_url(live.url + "/account")
        expect(owner.get_by_role("status")).to_contain_text("set by an admin")
        Recorded(owner).screenshot("account-must-change")
        owner.goto(live.url + "/conversations")  # nothing else until it is changed
        assert owner.url == live.url + "/account"
        type_password_change(owner, secret, OWN)
        owner.wait_for_url(live.url + "/stats**")
        expect(owner.get_by_role("status")).to_contain_text("Password changed")
    finally:
        owner_context.close()
