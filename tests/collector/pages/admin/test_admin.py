"""The admin pages over a browser-style client: every form, its errors, roles and CSRF.

A refused form must answer 4xx and leave every table exactly as it was; an accepted one
writes its change and an audit entry by the admin.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, select, text, update

from collector.db.models import EnrollmentToken
from collector.http.database import db
from collector.pages.admin import NAV
from tests.collector.auth.test_accounts import login
from tests.collector.conftest import Collector

PASSWORD = "correct horse battery"
ADMIN = "root@agency.test"
TABLES = (
    "creators",
    "chatters",
    "chatter_creators",
    "users",
    "api_tokens",
    "enrollment_tokens",
    "devices",
    "settings",
    "audit_log",
)
PAGES = [
    "/admin/" + path for path in ("people", "users", "enrollment", "devices", "tokens", "alerts")
] + [
    "/admin/settings",
    "/admin/chatters/alice",
    "/admin/creators/luna",
    "/admin/chatters/alice/deactivate",
]


@dataclass
class Client:
    """A logged-in browser: posts carry the session's CSRF token unless told otherwise."""

    http: httpx.Client
    _token: str | None = field(default=None, repr=False)

    def token(self) -> str:
        if self._token is None:
            found = re.search(r'name="csrf_token" value="([^"]+)"', self.http.get("/login").text)
            assert found
            self._token = found.group(1)
        return self._token

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def post(self, path: str, csrf: bool = True, **data: Any) -> httpx.Response:
        if csrf:
            data["csrf_token"] = self.token()
        return self.http.post(path, data=data)

    def follow(self, reply: httpx.Response) -> str:
        """The page a POST-redirect-GET lands on (with its flash message)."""
        assert reply.status_code == 302, (reply.status_code, reply.text[-1500:])
        page = self.http.get(reply.headers["location"])
        assert page.status_code == 200
        return page.text


@dataclass
class Site:
    collector: Collector
    engine: Engine
    admin: Client

    def client(self, email: str | None = None) -> Client:
        http = httpx.Client(
            transport=httpx.WSGITransport(app=self.collector.app), base_url="http://collector.test"
        )
        if email is not None:
            assert login(http, email, PASSWORD).status_code == 302
        return Client(http)

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]

    def value(self, sql: str, **params: Any) -> Any:
        found = self.rows(sql, **params)
        return found[0][0] if found else None

    def snapshot(self) -> dict[str, list[str]]:
        """Every row of every table an admin page writes to."""
        return {t: sorted(map(repr, self.rows(f"SELECT * FROM {t}"))) for t in TABLES}

    def audits(self) -> list[tuple[Any, ...]]:
        return self.rows("SELECT actor, action, subject FROM audit_log ORDER BY id")

    def last_audit(self) -> tuple[Any, ...]:
        return self.audits()[-1]


@pytest.fixture
def site(agency: Collector) -> Iterator[Site]:
    agency.app.config["SESSION_COOKIE_SECURE"] = False  # the test client speaks plain HTTP
    for email, role, extra in (
        (ADMIN, "admin", []),
        ("boss@agency.test", "manager", []),
        ("alice@agency.test", "chatter", ["--chatter", "alice"]),
    ):
        agency.cli("add-user", email, "--role", role, *extra, input=PASSWORD + "\n")
    engine = create_engine(agency.database_url)
    assert login(agency.http, ADMIN, PASSWORD).status_code == 302
    yield Site(agency, engine, Client(agency.http))
    engine.dispose()


def refused(site: Site, path: str, status: int, message: str, **data: Any) -> str:
    """Post a form that must be refused with ``status`` and write nothing at all."""
    before = site.snapshot()
    reply = site.admin.post(path, **data)
    assert reply.status_code == status, (reply.status_code, reply.text[-2000:])
    assert message in reply.text, reply.text[-3000:]
    assert site.snapshot() == before
    return reply.text


def refused_field(page: str, name: str, message: str) -> None:
    """The form control ``name`` is the page's one field in error: marked invalid, focused
    when the page loads, and described by an element holding ``message``."""
    tag = re.search(rf'<(?:input|select)\b[^>]*\bid="{name}"[^>]*>', page)
    assert tag, name
    assert 'aria-invalid="true"' in tag.group(0) and " autofocus" in tag.group(0), tag.group(0)
    assert page.count(" autofocus") == 1  # the focus goes to the first field to fix only
    described = re.search(r'aria-describedby="([^"]*)"', tag.group(0))
    assert described, tag.group(0)
    texts = [re.search(rf'id="{i}">([^<]*)<', page) for i in described.group(1).split()]
    assert any(t and message in unescape(t.group(1)) for t in texts), (described, message)


# Access ---------------------------------------------------------------------------------


def test_every_page_renders_for_the_admin(site: Site) -> None:
    assert [label for _, label in NAV] == [
        "People",
        "Logins",
        "Enrollment",
        "Devices",
        "API tokens",
        "Alerts",
        "Settings",
    ]
    home = site.admin.get("/admin/")
    assert home.status_code == 302 and home.headers["location"] == "/admin/people"
    for path in PAGES:
        page = site.admin.get(path)
        assert page.status_code == 200, (path, page.text[-2000:])
        assert page.headers["Cache-Control"] == "private, no-store"
        assert 'href="/admin/devices"' in page.text  # the admin's top bar
        assert "<h1" in page.text
    assert site.admin.get("/admin/chatters/ghost").status_code == 404
    assert site.admin.get("/admin/devices/00000000-0000/revoke").status_code == 404


@pytest.mark.parametrize("email", ["boss@agency.test", "alice@agency.test"])
def test_managers_and_chatters_get_403(site: Site, email: str) -> None:
    other = site.client(email)
    for path in PAGES:
        page = other.get(path)
        assert page.status_code == 403, path
        assert "text/html" in page.headers["content-type"]
    before = site.snapshot()
    for path, data in (
        ("/admin/creators", {"creator_key": "x", "creator_name": "X"}),
        ("/admin/enrollment", {"chatter": "alice", "ttl": "72h"}),
        ("/admin/tokens", {"name": "mine", "role": "admin"}),
        ("/admin/settings", {"idle_threshold_seconds": "5"}),
        ("/admin/users", {"email": "me@x.test", "role": "admin", "password": PASSWORD * 2}),
    ):
        assert other.post(path, **data).status_code == 403, path
    assert site.snapshot() == before


def test_strangers_are_sent_to_the_login_form(site: Site) -> None:
    stranger = site.client()
    page = stranger.get("/admin/devices")
    assert page.status_code == 302 and page.headers["location"].startswith("/login?next=")


def test_forms_need_the_csrf_token(site: Site) -> None:
    before = site.snapshot()
    reply = site.admin.post("/admin/creators", csrf=False, creator_key="x", creator_name="X")
    assert reply.status_code == 400 and "reload" in reply.text
    forged = site.admin.http.post(
        "/admin/creators", data={"creator_key": "x", "creator_name": "X", "csrf_token": "forged"}
    )
    assert forged.status_code == 400
    assert site.snapshot() == before


def test_a_login_deactivated_meanwhile_changes_nothing(site: Site) -> None:
    site.collector.cli("add-user", "second@agency.test", "--role", "admin", input=PASSWORD + "\n")
    second = site.client("second@agency.test")
    second.token()
    site.admin.post("/admin/users/{}/deactivate".format(_user_id(site, "second@agency.test")))
    before = site.snapshot()
    assert second.post("/admin/creators", creator_key="x", creator_name="X").status_code == 302
    assert site.snapshot() == before  # sent back to the login form, nothing written


# People ---------------------------------------------------------------------------------


def test_add_creators_and_chatters(site: Site) -> None:
    page = site.admin.follow(
        site.admin.post("/admin/creators", creator_key="mira", creator_name="  Mira   Gold ")
    )
    assert "Creator Mira Gold (mira) added." in page
    assert site.last_audit() == (ADMIN, "add_creator", "mira")
    page = site.admin.follow(
        site.admin.http.post(
            "/admin/chatters",
            data={
                "chatter_key": "carol",
                "chatter_name": "Carol",
                "chatter_creators": ["mira", "luna"],
                "csrf_token": site.admin.token(),
            },
        )
    )
    assert "Chatter Carol (carol) added." in page
    assert site.rows(
        "SELECT cr.key FROM chatter_creators cc JOIN creators cr ON cr.id = cc.creator_id "
        "JOIN chatters c ON c.id = cc.chatter_id WHERE c.key = 'carol' ORDER BY cr.key"
    ) == [("luna",), ("mira",)]
    assert site.last_audit() == (ADMIN, "add_chatter", "carol")
    assert "carol\tCarol\tluna,mira" in site.collector.cli("chatters").output  # the CLI agrees

    refused(site, "/admin/creators", 400, "lowercase", creator_key="Mira Gold", creator_name="x")
    refused(site, "/admin/creators", 409, "already exists", creator_key="luna", creator_name="x")
    refused(
        site, "/admin/creators", 422, "longer than 200", creator_key="z", creator_name="z" * 201
    )
    refused(site, "/admin/chatters", 409, "already exists", chatter_key="alice", chatter_name="A")
    text_ = refused(
        site,
        "/admin/chatters",
        400,
        "no creator &#39;ghost&#39;",
        chatter_key="dave",
        chatter_name="Dave",
        chatter_creators="ghost",
    )
    assert 'value="dave"' in text_  # the form keeps what was typed


def test_edit_creator_and_chatter(site: Site) -> None:
    page = site.admin.follow(site.admin.post("/admin/creators/luna", name="Luna Rivers"))
    assert "Creator luna saved." in page and "Luna Rivers" in page
    assert site.last_audit() == (ADMIN, "edit_creator", "luna")
    assert "nothing changed" in site.admin.follow(
        site.admin.post("/admin/creators/luna", name="Luna Rivers")
    )

    form = {"name": "Alice B.", "creators": ["nova"], "csrf_token": site.admin.token()}
    page = site.admin.follow(site.admin.http.post("/admin/chatters/alice", data=form))
    assert "Chatter alice saved." in page
    assert site.value("SELECT name FROM chatters WHERE key = 'alice'") == "Alice B."
    detail = site.value("SELECT detail FROM audit_log ORDER BY id DESC LIMIT 1")
    assert "luna" in str(detail) and "nova" in str(detail)

    refused(site, "/admin/chatters/alice", 400, "no creator", name="A", creators="ghost")
    assert site.admin.post("/admin/chatters/ghost", name="G").status_code == 404


def test_deactivated_creator_cannot_be_newly_assigned(site: Site) -> None:
    site.admin.follow(site.admin.post("/admin/creators/nova/deactivate"))
    assert site.value("SELECT active FROM creators WHERE key = 'nova'") in (0, False)
    assert site.last_audit() == (ADMIN, "deactivate_creator", "nova")
    refused(site, "/admin/creators/nova/deactivate", 409, "already deactivated")
    refused(site, "/admin/chatters/alice", 400, "deactivated", name="Alice", creators="nova")
    # bob keeps nova (assigned before) when his other fields change.
    form = {"name": "Bobby", "creators": ["luna", "nova"], "csrf_token": site.admin.token()}
    site.admin.follow(site.admin.http.post("/admin/chatters/bob", data=form))
    edit = site.admin.get("/admin/chatters/bob").text
    assert 'value="nova" checked' in edit and "inactive" in edit
    site.admin.follow(site.admin.post("/admin/creators/nova/reactivate"))
    assert site.value("SELECT active FROM creators WHERE key = 'nova'") in (1, True)


def test_deactivate_chatter_keeps_history_and_closes_the_doors(site: Site) -> None:
    agent = site.collector.enroll("alice")
    assert agent.send(agent.slices(2)).status_code == 200
    chatter_token = site.collector.token("chatter", "alice")
    unused = site.collector.enroll_token("alice")
    confirm = site.admin.get("/admin/chatters/alice/deactivate")
    assert confirm.status_code == 200
    assert "devices are revoked (1 device)" in confirm.text
    assert "logins are deactivated (1 login)" in confirm.text
    assert 'method="post" action="/admin/chatters/alice/deactivate"' in confirm.text

    page = site.admin.follow(site.admin.post("/admin/chatters/alice/deactivate"))
    assert "1 device revoked, 1 login closed, 1 token revoked" in page
    assert site.last_audit() == (ADMIN, "deactivate_chatter", "alice")
    assert site.value("SELECT count(*) FROM slices") == 2  # history kept
    assert agent.send(agent.slices(1)).status_code == 403
    headers = {"Authorization": f"Bearer {chatter_token}"}
    assert site.collector.http.get("/api/v1/stats/chatters", headers=headers).status_code == 401
    alice = site.client()
    assert login(alice.http, "alice@agency.test", PASSWORD).status_code == 401
    refused(site, "/admin/enrollment", 409, "deactivated", chatter="alice", ttl="72h")
    listing = site.admin.get("/admin/enrollment").text
    assert listing.count(">expired<") == 1 and listing.count(">used<") == 1
    refused(site, "/admin/chatters/alice/deactivate", 409, "already deactivated")

    page = site.admin.follow(site.admin.post("/admin/chatters/alice/reactivate"))
    assert "Chatter alice reactivated" in page
    assert site.value("SELECT revoked_at FROM devices") is not None  # enroll again
    refused(site, "/admin/chatters/alice/reactivate", 409, "already active")
    enroll = {"token": unused, "hostname": "h", "platform": "p", "agent_version": "1"}
    reply = site.collector.http.post("/api/v1/agents/enroll", json=enroll)
    assert reply.status_code == 401 and reply.json()["error"] == "token_expired"


# Logins ---------------------------------------------------------------------------------


def _user_id(site: Site, email: str) -> int:
    return int(site.value("SELECT id FROM users WHERE email = :e", e=email))


def test_add_and_deactivate_logins(site: Site) -> None:
    page = site.admin.follow(
        site.admin.post(
            "/admin/users",
            email="Bob@Agency.test",
            role="chatter",
            chatter="bob",
            password=PASSWORD,
        )
    )
    assert "Login bob@agency.test (chatter) added." in page
    assert site.last_audit() == (ADMIN, "add_user", "bob@agency.test")
    bob = site.client("bob@agency.test")
    assert bob.get("/").headers["location"] == "/chatters/bob"

    form = {"email": "new@agency.test", "role": "manager", "password": PASSWORD}
    # Each refusal stands beside the field to fix, which gets the focus.
    for status, message, name, change in [
        (400, "at least 10", "password", {"password": "short"}),
        (400, "cannot be used", "password", {"password": "with a NUL\x00 in it"}),
        (400, "cannot be used", "password", {"password": "with a bell\x07 in it"}),
        (400, "not an email", "email", {"email": "nobody"}),
        (400, "needs a chatter", "chatter", {"role": "chatter"}),
        (400, "only a chatter", "chatter", {"chatter": "bob"}),
        (409, "already exists", "email", {"email": "BOSS@agency.test"}),
    ]:
        page = refused(site, "/admin/users", status, message, **{**form, **change})
        refused_field(page, name, message)
        assert "The login was not added: see below." in page
    # A refusal no field of the form can fix is said at the top, and marks no field.
    page = refused(site, "/admin/users", 400, "role must be", **{**form, "role": "god"})
    assert "aria-invalid" not in page and " autofocus" not in page
    # Only the password is the form's to check: a NUL in the email is the guard's 400.
    reply = site.admin.post("/admin/users", **{**form, "email": "new\x00@agency.test"})
    assert reply.status_code == 400 and "NUL" in reply.text

    bob_id = _user_id(site, "bob@agency.test")
    site.admin.follow(site.admin.post(f"/admin/users/{bob_id}/deactivate"))
    assert site.last_audit() == (ADMIN, "deactivate_user", "bob@agency.test")
    assert bob.get("/").status_code == 302 and bob.get("/").headers["location"] == "/login"
    refused(site, f"/admin/users/{bob_id}/deactivate", 409, "already deactivated")
    refused(site, f"/admin/users/{_user_id(site, ADMIN)}/deactivate", 409, "your own login")
    site.admin.follow(site.admin.post(f"/admin/users/{bob_id}/reactivate"))
    assert site.admin.post("/admin/users/9999/deactivate").status_code == 404


# Enrollment tokens ----------------------------------------------------------------------


def _secret(page: str) -> str:
    found = re.search(r'<code class="secret" id="secret">([^<]+)</code>', page)
    assert found, page[-2000:]
    return found.group(1)


def test_enrollment_token_shown_once_then_used_and_expired(site: Site) -> None:
    reply = site.admin.post("/admin/enrollment", chatter="alice", ttl="24h")
    assert reply.status_code == 201 and reply.headers["Cache-Control"] == "private, no-store"
    token = _secret(reply.text)
    assert token.startswith("cte_") and "--token-file" in reply.text
    assert site.last_audit() == (ADMIN, "enroll_token", "alice")
    listing = site.admin.get("/admin/enrollment").text
    assert token not in listing and "unused" in listing
    assert token not in str(site.snapshot())  # stored hashed only

    enrolled = site.collector.http.post(
        "/api/v1/agents/enroll",
        json={"token": token, "hostname": "alice-pc", "platform": "Linux", "agent_version": "9"},
    )
    assert enrolled.status_code == 201
    listing = site.admin.get("/admin/enrollment").text
    assert ">used<" in listing and "alice-pc" in listing

    site.collector.enroll_token("bob", "1m")
    with site.collector.app.app_context():
        db.session.execute(
            update(EnrollmentToken)
            .where(EnrollmentToken.used_at.is_(None))
            .values(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        )
        db.session.commit()
    assert ">expired<" in site.admin.get("/admin/enrollment").text

    refused(site, "/admin/enrollment", 400, "how long", chatter="alice", ttl="90d")
    refused(site, "/admin/enrollment", 400, "choose the chatter", chatter="", ttl="1h")
    refused(site, "/admin/enrollment", 400, "no chatter", chatter="ghost", ttl="1h")


def test_an_unused_enrollment_token_can_be_withdrawn(site: Site) -> None:
    token = _secret(site.admin.post("/admin/enrollment", chatter="alice", ttl="24h").text)
    listing = site.admin.get("/admin/enrollment").text
    action = re.search(r'action="(/admin/enrollment/tokens/(\d+)/withdraw)"', listing)
    assert action, listing[-3000:]
    page = site.admin.follow(site.admin.post(action.group(1)))
    assert "no longer works" in page and ">expired<" in page
    assert site.last_audit() == (ADMIN, "withdraw_enroll_token", "alice")
    body = {"token": token, "hostname": "pc", "platform": "Linux", "agent_version": "9"}
    refused_enroll = site.collector.http.post("/api/v1/agents/enroll", json=body)
    assert refused_enroll.json()["error"] == "token_expired"
    # Twice, or a token that does not exist: a message, nothing written.
    refused(site, action.group(1), 409, "already expired")
    refused(site, "/admin/enrollment/tokens/999999/withdraw", 404, "No enrollment token")


def test_a_used_enrollment_token_cannot_be_withdrawn(site: Site) -> None:
    site.collector.enroll("alice")
    listing = site.admin.get("/admin/enrollment").text
    assert "/withdraw" not in listing  # only unused tokens offer it
    with site.collector.app.app_context():
        token_id = db.session.scalars(select(EnrollmentToken.id)).one()
    path = f"/admin/enrollment/tokens/{token_id}/withdraw"
    refused(site, path, 409, "revoke the device instead")


# Devices --------------------------------------------------------------------------------


def test_devices_page_rotate_and_revoke(site: Site) -> None:
    agent = site.collector.enroll("alice")
    oldest = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    queue = {"queued": 400, "parked": 2, "dropped": 0, "oldest": oldest.isoformat()}
    assert agent.send(agent.slices(1), agent_version="0.3.0", queue=queue).status_code == 200
    site.collector.cli("settings", "set", "agency_timezone", "Asia/Tokyo")
    page = site.admin.get("/admin/devices").text
    assert "pc-1" in page and "0.3.0" in page and "Times in Asia/Tokyo" in page
    assert '<span class="badge warn">check</span>' in page
    assert "400 slices waiting" in page and "2 slices parked" in page and "2 hours old" in page
    local = oldest.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert f"{local:%H:%M}" in page  # shown in the agency's zone

    site.admin.follow(site.admin.post(f"/admin/devices/{agent.device_id}/rotate"))
    assert site.last_audit() == (ADMIN, "request_key_rotation", agent.device_id)
    assert "key rotation pending" in site.admin.get("/admin/devices").text
    assert agent.send(agent.slices(1)).json()["rotate_key"] is True

    confirm = site.admin.get(f"/admin/devices/{agent.device_id}/revoke")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    page = site.admin.follow(site.admin.post(f"/admin/devices/{agent.device_id}/revoke"))
    assert "pc-1 revoked" in page and ">revoked<" in page
    assert site.last_audit() == (ADMIN, "revoke_device", agent.device_id)
    refused_reply = agent.send(agent.slices(1))
    assert refused_reply.status_code == 403 and refused_reply.json()["error"] == "device_revoked"

    refused(site, f"/admin/devices/{agent.device_id}/revoke", 409, "already revoked")
    refused(site, f"/admin/devices/{agent.device_id}/rotate", 409, "cannot rotate")
    assert site.admin.post("/admin/devices/ffffffff-none/revoke").status_code == 404


def test_dropped_slices_are_flagged_bad(site: Site) -> None:
    agent = site.collector.enroll("bob")
    queue = {"queued": 0, "parked": 0, "dropped": 9}
    assert agent.send(agent.slices(1), queue=queue).status_code == 200
    page = site.admin.get("/admin/devices").text
    assert '<span class="badge bad">data lost</span>' in page and "9 slices dropped" in page


def test_slices_lost_on_the_computer_are_shown(site: Site) -> None:
    """The agent's loss report (queue.lost, queue.lost_reason: a damaged outbox set aside)."""
    agent = site.collector.enroll("bob")
    reason = "outbox damaged (file is not a database); moved aside to outbox.db.damaged-x"
    queue = {"queued": 0, "parked": 0, "dropped": 0, "lost": 4, "lost_reason": reason}
    assert agent.send(agent.slices(1), queue=queue).status_code == 200
    page = site.admin.get("/admin/devices").text
    assert '<span class="badge bad">data lost</span>' in page
    assert "<dt>lost</dt><dd>4</dd>" in page
    assert f"4 slices lost on the computer: {reason}" in page


# API tokens -----------------------------------------------------------------------------


def test_api_tokens_shown_once_and_revoked(site: Site) -> None:
    reply = site.admin.post("/admin/tokens", name="sales feed", role="manager")
    assert reply.status_code == 201
    token = _secret(reply.text)
    assert token.startswith("ctk_")
    assert site.last_audit() == (ADMIN, "api_token", "sales feed")
    listing = site.admin.get("/admin/tokens").text
    assert token not in listing and "sales feed" in listing
    headers = {"Authorization": f"Bearer {token}"}
    assert site.collector.http.get("/api/v1/creators", headers=headers).status_code == 200

    token_id = site.value("SELECT id FROM api_tokens WHERE name = 'sales feed'")
    assert "cannot be undone" in site.admin.get(f"/admin/tokens/{token_id}/revoke").text
    site.admin.follow(site.admin.post(f"/admin/tokens/{token_id}/revoke"))
    assert site.last_audit() == (ADMIN, "revoke_token", "sales feed")
    assert site.collector.http.get("/api/v1/creators", headers=headers).status_code == 401

    reply = site.admin.post("/admin/tokens", name="alice app", role="chatter", chatter="alice")
    assert reply.status_code == 201

    refused(site, f"/admin/tokens/{token_id}/revoke", 409, "already revoked")
    refused(site, "/admin/tokens", 400, "needs a chatter", name="x", role="chatter")
    refused(site, "/admin/tokens", 400, "only a chatter", name="x", role="admin", chatter="bob")
    refused(site, "/admin/tokens", 400, "1 to 100", name=" ", role="admin")
    refused(site, "/admin/tokens", 400, "may do", name="x", role="god")
    assert site.admin.post("/admin/tokens/9999/revoke").status_code == 404


# Settings -------------------------------------------------------------------------------


def _agency_form(**changes: str) -> dict[str, str]:
    return {
        "idle_threshold_seconds": "180",
        "slice_seconds": "60",
        "outbox_max_days": "30",
        "currency": "USD",
        "agency_timezone": "UTC",
        **changes,
    }


def test_agency_settings(site: Site, integration: str) -> None:
    page = site.admin.follow(
        site.admin.post(
            "/admin/settings",
            **_agency_form(idle_threshold_seconds="120", agency_timezone="Europe/Paris"),
        )
    )
    assert "Saved: idle threshold (seconds), agency time zone." in page
    listing = site.collector.cli("settings", "list").output
    assert "idle_threshold_seconds = 120" in listing and "agency_timezone = Europe/Paris" in listing
    actions = [a for a in site.audits() if a[1] == "set_setting"]
    assert {a[2] for a in actions} == {"idle_threshold_seconds", "agency_timezone"}
    assert {a[0] for a in actions} == {ADMIN}
    # The help on the page explains itself: no pointer to files a manager never reads.
    shown = site.admin.get("/admin/settings").text
    assert "METRICS.md" not in shown and "README" not in shown
    assert "still counts as on time" in shown
    assert "Nothing changed." in site.admin.follow(
        site.admin.post(
            "/admin/settings",
            **_agency_form(idle_threshold_seconds="120", agency_timezone="Europe/Paris"),
        )
    )

    # One bad field: nothing is saved, not even the good ones.
    page = refused(
        site,
        "/admin/settings",
        400,
        "does not divide 60",
        **_agency_form(slice_seconds="7", idle_threshold_seconds="90"),
    )
    assert 'aria-invalid="true"' in page
    refused(site, "/admin/settings", 400, "IANA", **_agency_form(agency_timezone="Mars/Base"))
    refused(site, "/admin/settings", 400, "whole number", **_agency_form(outbox_max_days="x"))

    tip = {
        "id": "t1",
        "type": "tip",
        "occurred_at": "2026-01-05T10:00:00Z",
        "creator": "luna",
        "fan": "f",
        "amount": "5.00",
    }
    # The help says what happens: changeable (a select) until an amount is stored, then not.
    before = site.admin.get("/admin/settings").text
    assert '<select id="currency" name="currency"' in before
    assert "You can change it until the first amount (a sale or a pay rule) is stored" in before
    assert site.collector.post_events([tip], integration).status_code == 200
    after = site.admin.get("/admin/settings").text
    assert 'id="currency" value="USD" readonly' in after
    assert "Can no longer change: amounts in USD are already stored." in after
    refused(site, "/admin/settings", 409, "cannot change", **_agency_form(currency="EUR"))


def test_chatter_overrides(site: Site) -> None:
    page = site.admin.follow(
        site.admin.post(
            "/admin/settings/overrides",
            override_chatter="bob",
            override_name="slice_seconds",
            override_value="30",
        )
    )
    assert "for bob set to 30" in page
    assert "slice_seconds = 30" in site.collector.cli("settings", "list", "--chatter", "bob").output
    assert site.last_audit() == (ADMIN, "set_setting", "slice_seconds")

    def override(**data: str) -> dict[str, str]:
        return {"override_chatter": "bob", "override_name": "idle_threshold_seconds", **data}

    refused(
        site,
        "/admin/settings/overrides",
        400,
        "agency-wide",
        **override(override_name="currency", override_value="EUR"),
    )
    refused(site, "/admin/settings/overrides", 400, "outside", **override(override_value="0"))
    refused(
        site,
        "/admin/settings/overrides",
        400,
        "no chatter",
        **override(override_chatter="ghost", override_value="5"),
    )

    site.admin.follow(
        site.admin.post("/admin/settings/overrides/remove", chatter="bob", name="slice_seconds")
    )
    assert "slice_seconds = 60" in site.collector.cli("settings", "list", "--chatter", "bob").output
    refused(
        site, "/admin/settings/overrides/remove", 409, "has no", chatter="bob", name="slice_seconds"
    )


# Formatting -----------------------------------------------------------------------------


def test_times_for_people() -> None:
    import zoneinfo

    from collector.pages.clock import Clock

    now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
    clock = Clock(zoneinfo.ZoneInfo("America/New_York"), now)
    assert clock.when(now) == "2026-11-24 07:00"
    assert clock.when(None) == "never"
    assert clock.ago(now - dt.timedelta(seconds=30)) == "just now"
    assert clock.ago(now - dt.timedelta(minutes=5, seconds=59)) == "5 min ago"
    assert clock.ago(now - dt.timedelta(hours=5)) == "5 h ago"
    assert clock.ago(now + dt.timedelta(hours=71, minutes=59)) == "in 3 days"
    assert (Clock.skew(-0.04), Clock.skew(1.25), Clock.skew(-75)) == ("0.0 s", "+1.2 s", "-75.0 s")


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/admin/enrollment", {"chatter": "alice", "ttl": "24h"}),
        ("/admin/tokens", {"name": "crm", "role": "integration", "chatter": ""}),
    ],
)
def test_reloading_the_secret_page_makes_no_second_token(
    site: Site, path: str, fields: dict[str, str]
) -> None:
    form = site.admin.get(path).text
    found = re.search(r'name="once" value="([^"]+)"', form)
    assert found
    first = site.admin.post(path, once=found.group(1), **fields)
    assert first.status_code == 201
    # The browser's reload sends the same form again: refused, nothing written.
    text = refused(site, path, 409, "already sent", once=found.group(1), **fields)
    assert _secret(first.text) not in text


def test_every_agency_setting_has_a_field(site: Site) -> None:
    from collector.db.settings import DEFINITIONS
    from collector.pages.admin.settings import SETTING_LABELS

    assert set(SETTING_LABELS) == set(DEFINITIONS)
    page = site.admin.get("/admin/settings").text
    for name in DEFINITIONS:
        assert f'id="{name}"' in page, name


def test_an_uninstalled_device_says_so(site: Site) -> None:
    agent = site.collector.enroll("bob")
    assert agent.signed_post("/api/v1/agents/retire", b'{"unsent_slices": 3}').status_code == 200
    page = site.admin.get("/admin/devices").text
    assert '<span class="badge warn">uninstalled</span>' in page
    assert "3 slices unsent at uninstall" in page
    # The People page counts installed devices: bob's one is uninstalled.
    people = site.admin.get("/admin/people").text
    bob = people[people.index("<code>bob</code>") :]
    assert bob.split('<td class="num">')[1].startswith("0</td>")
    # An uninstalled agent never asks for a new key: only Revoke is offered.
    row = page[page.index(agent.device_id[:8]) :]
    assert "Revoke" in row and "Rotate key" not in row
    # Every page that lists devices says it alike (finding: the chatter's page and the
    # Enrollment page's tokens said "active").
    chatter = site.admin.get("/chatters/bob").text
    table = chatter[chatter.index('id="devices-table"') :]
    assert '<span class="badge warn">uninstalled</span>' in table
    assert "3 slices unsent at uninstall" in table
    assert '<span class="badge ok">active</span>' not in table
    tokens = site.admin.get("/admin/enrollment").text
    assert f'{agent.device_id[:8]}</code> <span class="badge warn">uninstalled</span>' in tokens
    site.collector.cli("revoke-device", agent.device_id)
    for path in ("/admin/devices", "/chatters/bob", "/admin/enrollment"):
        page = site.admin.get(path).text
        assert '<span class="badge bad">revoked</span>' in page, path
        assert "uninstalled" not in page and "unsent at uninstall" not in page, path
