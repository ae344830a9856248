"""Deliveries to a real local HTTP server and a real SMTP server: signed, sent once per
opening, retried with backoff, given up after the limit, shared by several senders."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import select

from collector.alerts import delivery, webhook
from collector.db.alert_models import AlertDeliveryAttempt, AlertRule
from tests.collector.alerts.conftest import FAST, NOW, Hook, Mailbox, World
from tests.collector.auth.test_accounts import PASSWORD
from tests.collector.conftest import Collector

MIN = dt.timedelta(minutes=1)


def _secret(world: World, rule_id: int) -> str:
    with world.session() as s:
        rule = s.get(AlertRule, rule_id)
        assert rule is not None
        return rule.webhook_secret


def _no_show(world: World, **targets: object) -> int:
    world.shift("alice", "luna", "10:00", "18:00")
    return world.rule("no_show", 10, **targets)  # type: ignore[arg-type]


def test_webhook_signed_and_sent_once(world: World, hook: Hook) -> None:
    rule = _no_show(world, webhook_url=hook.url)
    for minute in range(10, 30):  # every evaluation for 20 minutes: one opening
        world.evaluate(NOW + minute * MIN)
        world.send(now=NOW + minute * MIN)
    assert len(hook.received) == 1
    headers, body = hook.received[0]
    assert headers["content-type"] == "application/json"
    stamp, signature = headers[webhook.TIMESTAMP.lower()], headers[webhook.SIGNATURE.lower()]
    sent_at = (NOW + 10 * MIN).timestamp()  # the injected clock's
    assert int(stamp) == sent_at
    secret = _secret(world, rule)
    assert webhook.verify(secret, stamp, signature, body, sent_at + 2)
    # Tampered, signed with another secret, or replayed later: refused.
    assert not webhook.verify(secret, stamp, signature, body + b" ", sent_at)
    assert not webhook.verify(secret + "x", stamp, signature, body, sent_at)
    assert not webhook.verify(secret, stamp, signature, body, sent_at + 301)
    payload = json.loads(body)
    assert payload["event"] == "alert.opened"
    assert payload["alert"]["chatter"] == {"key": "alice", "name": "Alice"}
    assert payload["alert"]["creator"]["key"] == "luna" and payload["alert"]["kind"] == "no_show"
    [row] = world.deliveries()
    assert (row.status, row.attempts, row.delivered_at is not None) == ("delivered", 1, True)
    assert headers[webhook.DELIVERY.lower()] == str(row.id)


def test_webhook_retried_after_500(world: World, hook: Hook) -> None:
    hook.replies = [(500, "text/plain", b"down"), (502, "text/plain", b"bad gateway")]
    _no_show(world, webhook_url=hook.url)
    world.evaluate(NOW + 10 * MIN)
    sent = world.send(now=NOW + 10 * MIN)  # FAST: no wait between tries
    assert sent.delivered == 1 and len(hook.received) == 3
    [row] = world.deliveries()
    assert (row.status, row.attempts) == ("delivered", 3)
    with world.session() as s:
        log = list(s.scalars(select(AlertDeliveryAttempt).order_by(AlertDeliveryAttempt.number)))
    assert [(a.ok, a.status_code) for a in log] == [(False, 500), (False, 502), (True, 200)]
    assert log[0].error == "HTTP 500 Internal Server Error"
    # The same signed body each time (fresh timestamps and signatures).
    assert len({body for _, body in hook.received}) == 1


def test_a_proxy_page_with_200_counts_as_delivered(world: World, hook: Hook) -> None:
    hook.replies = [(200, "text/html", b"<html><body>Proxy says hello</body></html>")]
    _no_show(world, webhook_url=hook.url)
    world.evaluate(NOW + 10 * MIN)
    assert world.send(now=NOW + 10 * MIN).delivered == 1


def test_backoff_and_giving_up(world: World) -> None:
    # Nothing listens there: every try fails to connect.
    _no_show(world, webhook_url="http://127.0.0.1:9/nothing")
    world.evaluate(NOW + 10 * MIN)
    slow = delivery.Policy(
        max_attempts=3, base_delay=dt.timedelta(seconds=30), timeout=2, allow_private=True
    )
    clock = NOW + 10 * MIN
    assert delivery.send_due(world.engine, world_smtp(), slow, lambda: clock).retrying == 1
    [row] = world.deliveries()
    assert row.next_attempt_at == clock + dt.timedelta(seconds=30) and row.status == "pending"
    # Not due yet: nothing is sent.
    assert (
        delivery.send_due(
            world.engine, world_smtp(), slow, lambda: clock + 29 * dt.timedelta(seconds=1)
        ).ids
        == []
    )
    clock += dt.timedelta(seconds=30)
    assert delivery.send_due(world.engine, world_smtp(), slow, lambda: clock).retrying == 1
    [row] = world.deliveries()
    assert row.next_attempt_at == clock + dt.timedelta(seconds=60)  # doubled
    clock += dt.timedelta(seconds=60)
    assert delivery.send_due(world.engine, world_smtp(), slow, lambda: clock).failed == 1
    [row] = world.deliveries()
    assert (row.status, row.attempts) == ("failed", 3) and "Connection" in (row.last_error or "")
    assert (
        delivery.send_due(
            world.engine, world_smtp(), slow, lambda: clock + dt.timedelta(days=1)
        ).ids
        == []
    )


def world_smtp() -> delivery.mail.SmtpSettings:
    return delivery.mail.SmtpSettings()


def test_backoff_is_capped() -> None:
    policy = delivery.Policy()
    assert [delivery.backoff(policy, n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert delivery.backoff(policy, 30) == dt.timedelta(hours=1)


def test_email_through_smtp(world: World, mailbox: Mailbox) -> None:
    _no_show(world, emails=["lead@agency.test", "owner@agency.test"])
    for minute in (10, 11, 12):
        world.evaluate(NOW + minute * MIN)
        world.send(mailbox.settings, now=NOW + minute * MIN)
    assert sorted(to for to, _ in mailbox.messages) == [["lead@agency.test"], ["owner@agency.test"]]
    _, message = mailbox.messages[0]
    assert message["Subject"].startswith("[ChatterTrack] no_show 10: Alice: no-show")
    assert message["From"] == "alerts@agency.test"
    body = message.get_content()
    assert "Rule: no_show 10 (No-show, threshold 10 minutes)" in body
    assert "Chatter: Alice (alice)" in body and "Creator: Luna (luna)" in body
    assert {d.status for d in world.deliveries()} == {"delivered"}


def test_email_without_smtp_settings_is_given_up_at_once(world: World) -> None:
    """No SMTP server configured: retrying would not help, so the delivery fails at its
    first attempt with that reason (as the Alerts page's banner says), not "pending"."""
    _no_show(world, emails=["lead@agency.test"])
    world.evaluate(NOW + 10 * MIN)
    assert world.send(now=NOW + 10 * MIN).failed == 1
    [row] = world.deliveries()
    assert (row.status, row.attempts) == ("failed", 1)
    assert (row.last_error or "").startswith("SMTP is not configured")
    assert world.send(now=NOW + dt.timedelta(days=1)).ids == []


def test_a_claimed_delivery_is_sent_by_one_sender(world: World, hook: Hook) -> None:
    _no_show(world, webhook_url=hook.url)
    world.evaluate(NOW + 10 * MIN)
    first = delivery.claim(world.engine, NOW + 10 * MIN, FAST)
    assert len(first) == 1
    assert delivery.claim(world.engine, NOW + 10 * MIN, FAST) == []  # held by the first
    # The first sender died: its claim runs out and another process sends it.
    later = NOW + 10 * MIN + FAST.claim + dt.timedelta(seconds=1)
    assert world.send(now=later).delivered == 1 and len(hook.received) == 1


@pytest.mark.parametrize("senders", [4])
def test_concurrent_senders_send_each_delivery_once(world: World, hook: Hook, senders: int) -> None:
    world.shift("alice", "luna", "10:00", "18:00")
    world.shift("bob", "luna", "10:00", "18:00")
    world.rule("no_show", 10, webhook_url=hook.url)
    world.rule("no_show", 11, webhook_url=hook.url)
    world.evaluate(NOW + 20 * MIN)
    assert len(world.deliveries()) == 4
    barrier = threading.Barrier(senders)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(10)
            world.send(now=NOW + 20 * MIN)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(hook.received) == 4
    assert {d.status for d in world.deliveries()} == {"delivered"}


def test_a_team_lead_is_mailed_their_creators_alerts_only(
    agency: Collector, world: World, mailbox: Mailbox
) -> None:
    """One rule for every creator mails a lead of nova and an unlimited manager: the lead
    gets nova's alert only (never luna's, nor one of no creator); the manager gets all."""
    agency.cli(
        "add-user", "Lead@Agency.test", "--role", "manager", "--creators", "nova",
        input=PASSWORD + "\n",
    )  # fmt: skip
    agency.cli("add-user", "boss@agency.test", "--role", "manager", input=PASSWORD + "\n")
    world.shift("alice", "luna", "10:00", "18:00")
    world.shift("bob", "nova", "10:00", "18:00")
    world.rule("no_show", 10, emails=["lead@agency.test", "boss@agency.test"])
    world.evaluate(NOW + 10 * MIN)
    world.send(mailbox.settings, now=NOW + 10 * MIN)
    got: dict[str, list[str]] = {}
    for to, message in mailbox.messages:
        got.setdefault(to[0], []).append(message.get_content())
    assert sorted(got) == ["boss@agency.test", "lead@agency.test"]
    assert len(got["boss@agency.test"]) == 2
    [lead_mail] = got["lead@agency.test"]
    assert "Bob" in lead_mail and "Nova" in lead_mail
    assert "Luna" not in lead_mail and "Alice" not in lead_mail


def test_a_team_leads_scope_holds_whatever_case_or_plus_tag_the_address_is_typed_in(
    agency: Collector, world: World, mailbox: Mailbox
) -> None:
    """The lead of nova's login typed back in capitals or with a +tag (both reach their
    mailbox) is still mailed nova's alert only; a mailbox that is two leads' logins gets
    the creators common to both (here none); the unlimited manager still gets all."""
    for email, creators in (
        ("lead@agency.test", ["--creators", "nova"]),
        ("boss@agency.test", []),
        ("two@agency.test", ["--creators", "nova"]),
        ("two+luna@agency.test", ["--creators", "luna"]),
    ):
        agency.cli("add-user", email, "--role", "manager", *creators, input=PASSWORD + "\n")
    world.shift("alice", "luna", "10:00", "18:00")
    world.shift("bob", "nova", "10:00", "18:00")
    typed = ["LEAD@Agency.Test", "lead+alerts@agency.test", "Two+x@agency.test", "boss@agency.test"]
    world.rule("no_show", 10, emails=typed)
    world.evaluate(NOW + 10 * MIN)
    world.send(mailbox.settings, now=NOW + 10 * MIN)
    got: dict[str, list[str]] = {}
    for to, message in mailbox.messages:
        got.setdefault(to[0], []).append(message.get_content())
    assert sorted(got) == ["LEAD@Agency.Test", "boss@agency.test", "lead+alerts@agency.test"]
    assert len(got["boss@agency.test"]) == 2
    for address in ("LEAD@Agency.Test", "lead+alerts@agency.test"):
        [lead_mail] = got[address]
        assert "Bob" in lead_mail and "Nova" in lead_mail
        assert "Luna" not in lead_mail and "Alice" not in lead_mail
