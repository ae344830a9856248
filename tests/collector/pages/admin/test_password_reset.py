"""An admin resets a login's password; its owner must choose a new one at next login."""

from __future__ import annotations

import re

from collector.auth import accounts
from tests.collector.auth.test_accounts import login
from tests.collector.pages.admin.test_admin import (  # noqa: F401
    ADMIN,
    PASSWORD,
    Site,
    refused,
    refused_field,
    site,
)

TEMPORARY = "temporary password 1"
OWN = "my very own password"
STATS = "/api/v1/stats/chatters?start=2026-01-01&end=2026-01-02"


def user_id(at: Site, email: str) -> int:
    found = at.value("SELECT id FROM users WHERE email = :e", e=email)
    assert isinstance(found, int)
    return found


def test_admin_sets_a_temporary_password_and_the_owner_must_change_it(site: Site) -> None:  # noqa: F811
    boss = site.client("boss@agency.test")
    assert boss.get("/stats").status_code == 200
    path = f"/admin/users/{user_id(site, 'boss@agency.test')}/password"
    users = site.admin.get("/admin/users").text
    assert f'href="{path}"' in users
    assert site.admin.get(path).status_code == 200
    landed = site.admin.follow(site.admin.post(path, mode="set", password=TEMPORARY))
    assert "Password of boss@agency.test reset" in landed and "must change password" in landed
    assert site.last_audit() == (ADMIN, "reset_password", "boss@agency.test")
    assert TEMPORARY not in str(site.rows("SELECT detail FROM audit_log"))
    assert boss.get("/stats").status_code == 302  # its old sessions ended

    owner = site.client()
    assert login(owner.http, "boss@agency.test", PASSWORD).status_code == 401
    reply = login(owner.http, "boss@agency.test", TEMPORARY)
    assert reply.status_code == 302 and reply.headers["location"] == "/account"
    for path_elsewhere in ("/", "/stats", "/conversations", "/chatters/alice"):
        elsewhere = owner.get(path_elsewhere)
        assert elsewhere.status_code == 302, path_elsewhere
        assert elsewhere.headers["location"] == "/account", path_elsewhere
    api = owner.get(STATS)  # the API by session: 403, JSON
    assert api.status_code == 403 and api.json()["error"] == "password_change_required"
    forced = owner.get("/account").text
    assert "set by an admin" in forced
    # The field names the password the owner was given, and so do its messages.
    assert '<label for="current">Temporary password (the one you were given)</label>' in forced
    assert "Current password" not in forced
    wrong = owner.post("/account/password", current="not it at all", new=OWN, repeat=OWN)
    assert wrong.status_code == 400 and "the temporary password is wrong" in wrong.text
    same = owner.post("/account/password", current=TEMPORARY, new=TEMPORARY, repeat=TEMPORARY)
    assert same.status_code == 400
    refused_field(same.text, "new", "choose a password other than the temporary one")
    empty = owner.post("/account/password", current="", new=OWN, repeat=OWN)
    refused_field(empty.text, "current", "type the temporary password you were given")
    assert (
        owner.post("/account/password", current=TEMPORARY, new=OWN, repeat=OWN).status_code == 302
    )
    assert owner.get("/stats").status_code == 200
    assert owner.get(STATS).status_code == 200
    assert '<label for="current">Current password</label>' in owner.get("/account").text
    assert "must change password" not in site.admin.get("/admin/users").text


def test_a_generated_password_is_shown_once(site: Site) -> None:  # noqa: F811
    path = f"/admin/users/{user_id(site, 'alice@agency.test')}/password"
    form = site.admin.get(path).text
    once = re.search(r'name="once" value="([^"]+)"', form)
    assert once is not None
    reply = site.admin.post(path, mode="generate", once=once.group(1))
    assert reply.status_code == 201 and reply.headers["Cache-Control"] == "private, no-store"
    shown = re.search(r'<code class="secret" id="secret">([^<]+)</code>', reply.text)
    assert shown is not None and len(shown.group(1)) >= accounts.MIN_PASSWORD
    assert "Temporary password of alice@agency.test" in reply.text
    again = site.admin.post(path, mode="generate", once=once.group(1))  # a reload of the reply
    assert again.status_code == 409 and "already sent" in again.text
    owner = site.client()
    reply = login(owner.http, "alice@agency.test", shown.group(1))
    assert reply.status_code == 302 and reply.headers["location"] == "/account"
    assert site.last_audit() == (ADMIN, "reset_password", "alice@agency.test")
    assert shown.group(1) not in str(site.rows("SELECT detail FROM audit_log"))


def test_refused_resets_change_nothing(site: Site) -> None:  # noqa: F811
    boss = f"/admin/users/{user_id(site, 'boss@agency.test')}/password"
    page = refused(site, boss, 400, "at least 10 characters", mode="set", password="short")
    refused_field(page, "password", "at least 10 characters")
    mine = f"/admin/users/{user_id(site, ADMIN)}/password"
    page = refused(site, mine, 409, "on the Account page", mode="set", password=TEMPORARY)
    assert "aria-invalid" not in page  # the login's state, not the typed password
    site.admin.post(f"/admin/users/{user_id(site, 'boss@agency.test')}/deactivate")
    refused(site, boss, 409, "reactivate it first", mode="set", password=TEMPORARY)
    assert site.admin.get("/admin/users/99999/password").status_code == 404
    assert site.admin.post("/admin/users/99999/password", mode="set").status_code == 404
    chatter = site.client("alice@agency.test")
    assert chatter.get(boss).status_code == 403
    before = site.snapshot()
    assert chatter.post(boss, mode="set", password=TEMPORARY).status_code == 403
    assert site.snapshot() == before


def test_a_typed_control_character_is_refused_beside_the_field(site: Site) -> None:  # noqa: F811
    path = f"/admin/users/{user_id(site, 'boss@agency.test')}/password"
    for bad in ("temporary\x00password", "temporary\x07password"):
        page = refused(site, path, 400, "cannot be used", mode="set", password=bad)
        refused_field(page, "password", "the password contains a character that cannot be used")
        assert "The password was not reset" in page
    # Only the password is the form's to check: a NUL in another field is the guard's 400.
    before = site.snapshot()
    other = site.admin.post(path, mode="set\x00", password=TEMPORARY)
    assert other.status_code == 400 and "NUL" in other.text
    assert site.snapshot() == before


def test_the_reset_form_needs_the_csrf_token(site: Site) -> None:  # noqa: F811
    path = f"/admin/users/{user_id(site, 'boss@agency.test')}/password"
    before = site.snapshot()
    reply = site.admin.post(path, csrf=False, mode="set", password=TEMPORARY)
    assert reply.status_code == 400
    assert site.snapshot() == before
