"""The account page: every role changes its own password, with the login's limits."""

from __future__ import annotations

import re

import pytest

from collector.auth import accounts
from tests.collector.auth.test_accounts import login
from tests.collector.pages.admin.test_admin import (  # noqa: F401
    ADMIN,
    PASSWORD,
    Client,
    Site,
    refused_field,
    site,
)

NEW = "a brand new passphrase"


def change(client: Client, current: str, new: str, repeat: str | None = None) -> tuple[int, str]:
    reply = client.post(
        "/account/password", current=current, new=new, repeat=new if repeat is None else repeat
    )
    return reply.status_code, reply.headers.get("location", reply.text)


@pytest.mark.parametrize("email", [ADMIN, "boss@agency.test", "alice@agency.test"])
def test_every_role_changes_its_own_password(site: Site, email: str) -> None:  # noqa: F811
    me, elsewhere = site.client(email), site.client(email)
    page = me.get("/")
    while page.status_code == 302:
        page = me.get(page.headers["location"])
    assert 'href="/account"' in page.text  # linked from the header of the start page
    form = me.get("/account")
    assert form.status_code == 200 and "Change your password" in form.text
    assert change(me, PASSWORD, NEW) == (302, "/")
    assert "Password changed" in me.get("/account").text  # this browser stays logged in
    assert elsewhere.get("/account").status_code == 302  # every other session ended
    fresh = site.client()
    assert login(fresh.http, email, PASSWORD).status_code == 401
    assert login(fresh.http, email, NEW).status_code == 302
    assert site.last_audit() == (email, "change_password", email)
    detail = site.value("SELECT detail FROM audit_log ORDER BY id DESC LIMIT 1")
    assert NEW not in str(detail) and PASSWORD not in str(detail)


def test_errors_are_shown_beside_the_form_and_change_nothing(site: Site) -> None:  # noqa: F811
    me = site.client("boss@agency.test")
    before = site.snapshot()
    cases = [
        (("", NEW), "current", "type your current password"),
        ((PASSWORD, "short"), "new", f"at least {accounts.MIN_PASSWORD} characters"),
        ((PASSWORD, " " * 12), "new", "only spaces"),
        ((PASSWORD, "x" * 1025), "new", f"at most {accounts.MAX_PASSWORD} characters"),
        ((PASSWORD, PASSWORD), "new", "other than the current one"),
        ((PASSWORD, NEW, NEW + "x"), "repeat", "the two new passwords differ"),
    ]
    for args, name, message in cases:
        status, page = change(me, *args)
        assert status == 400, (args, page[-1500:])
        error = re.search(rf'<span class="field-error" id="{name}-error">([^<]*)</span>', page)
        assert error is not None and message in error.group(1), (args, page[-2000:])
        assert f'aria-describedby="{name}-error"' in page or f"{name}-help {name}-error" in page
        refused_field(page, name, message)
    # Errors in several fields: the focus goes to the first of them.
    status, page = change(me, "", "short")
    assert status == 400 and 'id="new-error"' in page
    refused_field(page, "current", "type your current password")
    assert site.snapshot() == before  # no failure counted for a typo in the new password
    status, page = change(me, "not my password", NEW)
    assert status == 400 and "the current password is wrong" in page
    assert site.value("SELECT count(*) FROM login_failures") == 1  # counted like a login
    assert me.post("/account/password", csrf=False, current=PASSWORD, new=NEW).status_code == 400
    assert login(site.client().http, "boss@agency.test", PASSWORD).status_code == 302


def test_a_control_character_is_refused_beside_its_field(site: Site) -> None:  # noqa: F811
    """A NUL (or another control character) re-shows the form with the field's message,
    never the error page; nothing is written and no guess is counted."""
    me = site.client("boss@agency.test")
    before = site.snapshot()
    message = "the password contains a character that cannot be used"
    for bad in (
        "with a NUL\x00 inside",
        "an escape\x1b inside",
        "a tab\there too",
        "del\x7fete me",
    ):
        status, page = change(me, PASSWORD, bad)
        assert status == 400, (bad, page[-1500:])
        refused_field(page, "new", message)
        assert "Change your password" in page
    status, page = change(me, "old\x00password", NEW)  # no password holds a NUL
    assert status == 400
    refused_field(page, "current", message)
    assert site.snapshot() == before
    assert site.value("SELECT count(*) FROM login_failures") == 0
    assert login(site.client().http, "boss@agency.test", PASSWORD).status_code == 302


def test_guessing_the_current_password_meets_the_login_limit(site: Site) -> None:  # noqa: F811
    me = site.client("boss@agency.test")
    for i in range(accounts.MAX_FAILURES_PER_EMAIL):
        assert change(me, f"guess number {i}", NEW)[0] == 400
    status, page = change(me, PASSWORD, NEW)  # right, but too late
    assert status == 429 and "too many failed attempts" in page
    assert login(site.client().http, "boss@agency.test", NEW).status_code == 401


def test_strangers_are_sent_to_log_in(site: Site) -> None:  # noqa: F811
    stranger = site.client()
    reply = stranger.get("/account")
    assert reply.status_code == 302 and reply.headers["location"].startswith("/login")
