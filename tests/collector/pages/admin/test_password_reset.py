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
    assert "set by an admin" in owner.get("/account").text
    assert (
        owner.post("/account/password", current=TEMPORARY, new=OWN, repeat=OWN).status_code == 302
    )
    assert owner.get("/stats").status_code == 200
    assert owner.get(STATS).status_code == 200
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
    refused(site, boss, 400, "at least 10 characters", mode="set", password="short")
    mine = f"/admin/users/{user_id(site, ADMIN)}/password"
    refused(site, mine, 409, "on the Account page", mode="set", password=TEMPORARY)
    site.admin.post(f"/admin/users/{user_id(site, 'boss@agency.test')}/deactivate")
    refused(site, boss, 409, "reactivate it first", mode="set", password=TEMPORARY)
    assert site.admin.get("/admin/users/99999/password").status_code == 404
    assert site.admin.post("/admin/users/99999/password", mode="set").status_code == 404
    chatter = site.client("alice@agency.test")
    assert chatter.get(boss).status_code == 403
    before = site.snapshot()
    assert chatter.post(boss, mode="set", password=TEMPORARY).status_code == 403
    assert site.snapshot() == before


def test_the_reset_form_needs_the_csrf_token(site: Site) -> None:  # noqa: F811
    path = f"/admin/users/{user_id(site, 'boss@agency.test')}/password"
    before = site.snapshot()
    reply = site.admin.post(path, csrf=False, mode="set", password=TEMPORARY)
    assert reply.status_code == 400
    assert site.snapshot() == before
