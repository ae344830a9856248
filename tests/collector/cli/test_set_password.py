"""``chatter-collector set-password EMAIL``: the real entry point, the password on stdin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from collector.auth import accounts
from tests.collector.auth.test_accounts import login
from tests.collector.conftest import Collector

BIN = Path(sys.executable).parent
OLD, NEW = "correct horse battery", "a brand new passphrase"


def set_password(collector: Collector, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "chatter-collector"), "--database", collector.database_url]
    return subprocess.run(
        [*command, "set-password", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def audits(collector: Collector) -> list[tuple[str, str, str]]:
    engine = create_engine(collector.database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT action, subject, detail FROM audit_log ORDER BY id"))
        found = [(a, s, str(d)) for a, s, d in rows]
    engine.dispose()
    return found


def test_set_password_from_a_pipe(collector: Collector) -> None:
    collector.app.config["SESSION_COOKIE_SECURE"] = False
    collector.cli("add-user", "boss@agency.test", "--role", "manager", input=OLD + "\n")
    browser = collector.http
    assert login(browser, "boss@agency.test", OLD).status_code == 302
    assert browser.get("/stats").status_code == 200

    done = set_password(collector, "Boss@Agency.test", stdin=NEW + "\n")
    assert done.returncode == 0, done.stderr
    assert "password of boss@agency.test set" in done.stdout
    assert browser.get("/stats").status_code == 302  # its sessions ended
    fresh = httpx.Client(transport=httpx.WSGITransport(app=collector.app), base_url="http://c.t")
    assert login(fresh, "boss@agency.test", OLD).status_code == 401
    reply = login(fresh, "boss@agency.test", NEW)
    assert reply.status_code == 302 and reply.headers["location"] == "/"
    action, subject, detail = audits(collector)[-1]
    assert (action, subject) == ("set_password", "boss@agency.test")
    assert NEW not in detail and "must_change" in detail

    forced = set_password(collector, "boss@agency.test", "--must-change", stdin=OLD + "\n")
    assert forced.returncode == 0, forced.stderr
    assert "next login" in forced.stdout
    reply = login(fresh, "boss@agency.test", OLD)
    assert reply.status_code == 302 and reply.headers["location"] == "/account"
    assert "(must change password)" in collector.cli("users").output
    fresh.close()


def test_bad_input_is_refused_with_a_message(collector: Collector) -> None:
    collector.cli("add-user", "boss@agency.test", "--role", "manager", input=OLD + "\n")
    before = audits(collector)
    for args, stdin, message in (
        (["boss@agency.test"], "", "no password given"),
        (["boss@agency.test"], "\n", "no password given"),
        (["boss@agency.test"], "short\n", f"at least {accounts.MIN_PASSWORD} characters"),
        (["nobody@agency.test"], NEW + "\n", "no login 'nobody@agency.test'"),
    ):
        done = set_password(collector, *args, stdin=stdin)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert message in done.stderr, (args, done.stderr)
    collector.cli("add-chatter", "alice", "--name", "Alice")
    assert audits(collector)[: len(before)] == before
    assert all(a != "set_password" for a, _, _ in audits(collector))
