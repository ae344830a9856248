"""Dashboard logins: accounts from the CLI, hashed passwords, sessions, CSRF, rate limits."""

from __future__ import annotations

import re

import httpx
import pytest
from flask import Flask
from sqlalchemy import create_engine, select

from collector import create_app
from collector.auth import accounts
from collector.db.models import User
from tests.collector.conftest import Collector

PASSWORD = "correct horse battery"


@pytest.fixture
def browser(agency: Collector) -> Collector:
    agency.app.config["SESSION_COOKIE_SECURE"] = False  # the test client speaks plain HTTP
    agency.cli("add-user", "Boss@Agency.test", "--role", "manager", input=PASSWORD + "\n")
    agency.cli(
        "add-user",
        "alice@agency.test",
        "--role",
        "chatter",
        "--chatter",
        "alice",
        input=PASSWORD + "\n",
    )
    return agency


def form_token(http: httpx.Client) -> str:
    page = http.get("/login").text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def login(
    http: httpx.Client, email: str, password: str, token: str | None = None
) -> httpx.Response:
    token = form_token(http) if token is None else token
    return http.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_passwords_are_hashed_and_accounts_checked(browser: Collector) -> None:
    engine = create_engine(browser.database_url)
    with engine.connect() as conn:
        stored = conn.execute(select(User.email, User.password_hash, User.role)).all()
    engine.dispose()
    assert {(e, r) for e, _, r in stored} == {
        ("boss@agency.test", "manager"),
        ("alice@agency.test", "chatter"),
    }
    assert all(h.startswith("scrypt:") and PASSWORD not in h for _, h, _ in stored)
    errors = [
        (["add-user", "x@y.test", "--role", "manager"], "short\n", "at least 10"),
        (["add-user", "not-an-email", "--role", "manager"], PASSWORD + "\n", "not an email"),
        (["add-user", "c@y.test", "--role", "chatter"], PASSWORD + "\n", "needs --chatter"),
        (["add-user", "boss@agency.test", "--role", "admin"], PASSWORD + "\n", "already exists"),
        (
            ["add-user", "d@y.test", "--role", "chatter", "--chatter", "ghost"],
            PASSWORD + "\n",
            "no chatter",
        ),
    ]
    for args, typed, message in errors:
        result = browser.cli(*args, input=typed, expect=1)
        assert message in result.output, result.output
    assert "boss@agency.test  manager" in browser.cli("users").output


def test_login_and_logout(browser: Collector) -> None:
    http = browser.http
    assert http.get("/").status_code == 302  # to the login page
    reply = login(http, "boss@agency.test", PASSWORD)
    assert reply.status_code == 302 and reply.headers["location"] == "/"
    cookie = reply.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = http.get("/")
    assert home.status_code == 302 and home.headers["location"] == "/stats"  # a manager's start
    home = http.get("/stats")
    assert home.status_code == 200 and "boss@agency.test · manager" in home.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert token is not None
    assert http.post("/logout", data={"csrf_token": token.group(1)}).status_code == 302
    assert http.get("/").status_code == 302


def test_wrong_password_and_rate_limit(browser: Collector) -> None:
    http = browser.http
    for _ in range(accounts.MAX_FAILURES_PER_EMAIL):
        reply = login(http, "boss@agency.test", "wrong password!")
        assert reply.status_code == 401 and "wrong email or password" in reply.text
    assert login(http, "nobody@agency.test", "whatever123").status_code == 401
    locked = login(http, "boss@agency.test", PASSWORD)  # right, but too late
    assert locked.status_code == 429 and "too many failed attempts" in locked.text
    assert login(http, "alice@agency.test", PASSWORD).status_code == 302  # another account


def test_forms_need_the_csrf_token(browser: Collector) -> None:
    http = browser.http
    form_token(http)
    refused = login(http, "boss@agency.test", PASSWORD, token="forged")
    assert refused.status_code == 400 and "reload" in refused.text  # an HTML page for a page
    assert http.post("/logout").status_code == 400


def test_cookies_are_secure_by_default(database_url: str) -> None:
    app: Flask = create_app({"DATABASE_URL": database_url})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    with app.app_context():
        from collector.http.database import db

        db.engine.dispose()


def test_a_stranger_cannot_lock_an_account_out(browser: Collector) -> None:
    from collector.http.database import db
    from shared.protocol import utc_now

    now, attacker, owner = utc_now(), "203.0.113.9", "198.51.100.7"
    with browser.app.app_context():
        session = db.session
        for _ in range(accounts.MAX_FAILURES_PER_EMAIL):
            with pytest.raises(accounts.LoginRefused):
                accounts.authenticate(session, "boss@agency.test", "wrong password!", attacker, now)
        with pytest.raises(accounts.LoginRefused) as refused:
            accounts.authenticate(session, "boss@agency.test", PASSWORD, attacker, now)
        assert refused.value.locked  # the guesser is stopped ...
        user = accounts.authenticate(session, "boss@agency.test", PASSWORD, owner, now)
        assert user.email == "boss@agency.test"  # ... and the owner still gets in
        session.rollback()
