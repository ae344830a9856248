"""Dashboard logins: accounts from the CLI, hashed passwords, sessions, CSRF, rate limits."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from flask import Flask
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from collector import create_app
from collector.auth import accounts
from collector.db.models import User
from shared.protocol import utc_now
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


def authenticate(
    session: Session, email: str, password: str, address: str, device: str | None = None
) -> User:
    """The login page's steps, in one go."""
    now = utc_now()
    attempt = accounts.begin_attempt(session, email, address, device, now)
    return accounts.finish_attempt(
        session, attempt, accounts.password_matches(attempt, password), now
    )


def test_a_stranger_cannot_lock_an_account_out(browser: Collector) -> None:
    from collector.http.database import db

    attacker, owner = "203.0.113.9", "198.51.100.7"
    with browser.app.app_context():
        session = db.session
        for _ in range(accounts.MAX_FAILURES_PER_EMAIL):
            with pytest.raises(accounts.LoginRefused):
                authenticate(session, "boss@agency.test", "wrong password!", attacker)
        with pytest.raises(accounts.LoginRefused) as refused:
            authenticate(session, "boss@agency.test", PASSWORD, attacker)
        assert refused.value.locked  # the guesser is stopped ...
        user = authenticate(session, "boss@agency.test", PASSWORD, owner)
        assert user.email == "boss@agency.test"  # ... and the owner still gets in
        session.rollback()


def test_concurrent_guesses_check_at_most_the_limit(
    browser: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """24 wrong passwords at once, through two app instances (two engines, as two
    collector processes would be): at most the limit of them reach the password check."""
    checked: list[str] = []
    lock = threading.Lock()
    real_check = accounts.check_password_hash

    def counting_check(pwhash: str, password: str) -> bool:
        with lock:
            checked.append(password)
        return real_check(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting_check)
    second = create_app({"DATABASE_URL": browser.database_url, "TESTING": True})
    second.config["SESSION_COOKIE_SECURE"] = False
    apps = [browser.app, second]
    guesses = 24
    clients = [
        httpx.Client(transport=httpx.WSGITransport(app=apps[i % 2]), base_url="http://c.test")
        for i in range(guesses)
    ]
    tokens = [form_token(client) for client in clients]
    start = threading.Barrier(guesses)

    def guess(i: int) -> int:
        start.wait()
        return login(clients[i], "boss@agency.test", f"wrong password {i}", tokens[i]).status_code

    with ThreadPoolExecutor(guesses) as pool:
        statuses = list(pool.map(guess, range(guesses)))
    for client in clients:
        client.close()
    with second.app_context():
        from collector.http.database import db

        db.engine.dispose()
    assert len(checked) <= accounts.MAX_FAILURES_PER_EMAIL, len(checked)
    assert statuses.count(401) == len(checked), statuses
    assert statuses.count(429) == guesses - len(checked), sorted(statuses)


def from_address(browser: Collector, address: str) -> httpx.Client:
    """A browser of its own (cookie jar) at that client address."""
    transport = httpx.WSGITransport(app=browser.app, remote_addr=address)
    return httpx.Client(transport=transport, base_url="http://collector.test")


def test_guesses_from_elsewhere_never_lock_out_a_known_browser(browser: Collector) -> None:
    """Finding 7: 50 wrong passwords over 10 addresses locked the real manager out."""
    with from_address(browser, "198.51.100.7") as owner:
        assert login(owner, "boss@agency.test", PASSWORD).status_code == 302
        owner.cookies.delete("session")  # logged out; the browser keeps its device cookie
        for i in range(10):
            with from_address(browser, f"203.0.113.{i}") as guesser:
                token = form_token(guesser)
                for _ in range(5):
                    guess = login(guesser, "boss@agency.test", "wrong password!", token)
                    assert guess.status_code == 401
        # Someone at the owner's own (office) address uses its allowance up as well.
        with from_address(browser, "198.51.100.7") as colleague:
            token = form_token(colleague)
            for i in range(accounts.MAX_FAILURES_PER_ADDRESS):
                login(colleague, f"nobody{i}@agency.test", "wrong password!", token)
            refused = login(colleague, "boss@agency.test", PASSWORD, token)
            assert refused.status_code == 429  # untrusted there: locked
        with from_address(browser, "192.0.2.50") as new_browser:
            # Untrusted clients of the account are locked out (its 50 from anywhere) ...
            assert login(new_browser, "boss@agency.test", PASSWORD).status_code == 429
        # ... but the browser that logged in before is not.
        assert login(owner, "boss@agency.test", PASSWORD).status_code == 302


def test_a_known_browser_is_limited_by_its_own_failures(browser: Collector) -> None:
    with from_address(browser, "198.51.100.7") as owner:
        reply = login(owner, "boss@agency.test", PASSWORD)
        cookie = next(
            c for c in reply.headers.get_list("set-cookie") if c.startswith("chattertrack_device=")
        )
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=31536000" in cookie
        owner.cookies.delete("session")
        token = form_token(owner)
        for _ in range(accounts.MAX_FAILURES_PER_DEVICE):
            assert login(owner, "boss@agency.test", "wrong password!", token).status_code == 401
        assert login(owner, "boss@agency.test", PASSWORD, token).status_code == 429
        # Its failures are its own: the account is still open to another client.
        with from_address(browser, "198.51.100.8") as other:
            assert login(other, "boss@agency.test", PASSWORD).status_code == 302


def test_device_cookies_are_signed_and_bound_to_one_login() -> None:
    from collector.auth import device_cookies

    secret = "s" * 32
    cookie = device_cookies.issue(secret, None, "boss@agency.test")
    nonce = device_cookies.nonce_for(secret, cookie, "boss@agency.test")
    assert nonce is not None
    assert device_cookies.nonce_for(secret, cookie, "alice@agency.test") is None
    assert device_cookies.nonce_for("another secret", cookie, "boss@agency.test") is None
    assert device_cookies.nonce_for(secret, cookie[:-2] + "xx", "boss@agency.test") is None
    assert device_cookies.nonce_for(secret, "garbage", "boss@agency.test") is None
    # A second account from the same browser is added; logging in again renews the nonce.
    both = device_cookies.issue(secret, cookie, "alice@agency.test")
    assert device_cookies.nonce_for(secret, both, "boss@agency.test") == nonce
    assert device_cookies.nonce_for(secret, both, "alice@agency.test") is not None
    renewed = device_cookies.issue(secret, both, "boss@agency.test")
    assert device_cookies.nonce_for(secret, renewed, "boss@agency.test") not in (None, nonce)
