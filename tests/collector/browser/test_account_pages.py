"""Passwords in real Chromium: a login changes its own from the keyboard; an admin resets
another's, whose old sessions end and who must choose a new one at the next login, in a
field that says it wants the temporary password.  A refused form puts the focus on the
field to fix, marked invalid and described by its message, a NUL typed in included."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.collector.browser.conftest import ADMIN, LiveCollector, Recorded, log_in

OLD = "first password here"
NEW = "second password here"
OWN = "one I chose myself"
TEMPORARY_LABEL = "Temporary password (the one you were given)"
UNUSABLE = "the password contains a character that cannot be used"


def focus_is_on(page: Page, field: str, message: str) -> None:
    """The page loaded with the focus on ``field``, marked invalid and described by an
    element that says ``message``."""
    # Chromium applies autofocus at a rendering step after the load event, so wait for it
    # rather than read it once (a bare read failed under load in CI).
    page.wait_for_function(
        "field => document.activeElement && document.activeElement.id === field", arg=field
    )
    control = page.locator(f"#{field}")
    expect(control).to_have_attribute("aria-invalid", "true")
    described = (control.get_attribute("aria-describedby") or "").split()
    texts = [page.locator(f"#{name}").inner_text() for name in described]
    assert any(message in text for text in texts), texts


def type_password_change(
    page: Page, current: str, new: str, label: str = "Current password"
) -> None:
    """The account form from the keyboard: Tab between the fields, Enter to send."""
    page.get_by_label(label).focus()
    page.keyboard.type(current)
    page.keyboard.press("Tab")
    page.keyboard.type(new)
    page.keyboard.press("Tab")
    page.keyboard.type(new)
    with page.expect_navigation():  # the answer to the form, a page again or a redirect
        page.keyboard.press("Enter")


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
        focus_is_on(page, "new", "other than the current one")
        tab.screenshot("account-password-error")
        # A NUL (or another control character) pasted in: the form again, never an error page.
        for field, value in (
            ("current", OLD),
            ("new", "a NUL \x00 inside"),
            ("repeat", "a NUL \x00 inside"),
        ):
            page.locator(f"#{field}").fill(value)
        page.get_by_role("button", name="Change password").click()
        page.wait_for_load_state()
        expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
        focus_is_on(page, "new", UNUSABLE)
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
        # A typed password the policy refuses: beside the field, which has the focus.
        page.get_by_label("Temporary password (at least").fill("temporary\x07password")
        page.get_by_role("button", name="Set password").click()
        page.wait_for_load_state()
        focus_is_on(page, "password", UNUSABLE)
        row = next(u for u in live.cli("users").splitlines() if u.startswith("reset@demo.test"))
        assert "must change" not in row  # nothing was reset
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
        # The field says which password it wants: the temporary one, not a "current" one.
        expect(owner.get_by_label(TEMPORARY_LABEL)).to_be_visible()
        expect(owner.get_by_label("Current password")).to_have_count(0)
        Recorded(owner).screenshot("account-must-change")
        owner.goto(live.url + "/conversations")  # nothing else until it is changed
        assert owner.url == live.url + "/account"
        type_password_change(owner, "not what I was given", OWN, TEMPORARY_LABEL)
        focus_is_on(owner, "current", "the temporary password is wrong")
        type_password_change(owner, secret, OWN, TEMPORARY_LABEL)
        owner.wait_for_url(live.url + "/stats**")
        expect(owner.get_by_role("status")).to_contain_text("Password changed")
        owner.goto(live.url + "/account")  # their own password now: the usual field
        expect(owner.get_by_label("Current password")).to_be_visible()
    finally:
        owner_context.close()


def test_a_refused_login_form_focuses_the_field_to_fix(live: LiveCollector, tab: Recorded) -> None:
    """Admin → Logins: a refusal about one field (an email taken, a password the policy
    refuses) stands beside it, and the page comes back with the focus there."""
    page = tab.page
    log_in(tab, live, ADMIN)
    page.goto(live.url + "/admin/users")
    page.get_by_label("Email").fill("manager@demo.test")
    page.get_by_label("Password (at least").fill("a good long password")
    page.get_by_role("button", name="Add login").click()
    page.wait_for_load_state()
    focus_is_on(page, "email", "already exists")
    expect(page.get_by_label("Email")).to_have_value("manager@demo.test")  # kept to fix
    page.get_by_label("Email").fill("fresh@demo.test")
    page.get_by_label("Password (at least").fill("with a NUL\x00 inside")
    page.get_by_role("button", name="Add login").click()
    page.wait_for_load_state()
    focus_is_on(page, "password", UNUSABLE)
    assert "fresh@demo.test" not in live.cli("users")  # nothing written
