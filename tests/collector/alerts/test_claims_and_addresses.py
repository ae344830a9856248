"""A stalled webhook cannot outlast its claim, a claim taken over is never recorded twice,
and webhooks reach public addresses only (refused when saved and again when sent, against
the address the host resolves to, which is the one connected to).

Every server here listens on this machine: a stalling HTTP server that trickles its
answer one byte at a time and never finishes, and the ``hook`` fixture's."""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.server
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from collector.alerts import delivery, mail, rules, webhook
from collector.db.alert_models import AlertDeliveryAttempt
from collector.errors import DomainError
from tests.collector.alerts.conftest import NOW, Hook, World
from tests.collector.conftest import Collector

MIN = dt.timedelta(minutes=1)
# One second for a whole try, a claim of thirty.
QUICK = delivery.Policy(
    base_delay=dt.timedelta(0),
    max_attempts=3,
    claim=dt.timedelta(seconds=30),
    timeout=1,
    allow_private=True,
)


@dataclass
class Stall:
    """A server that reads a request, then trickles a status line and headers one byte
    every 50 ms and never ends them (each read gets a byte: only a deadline for the
    whole try ends it).  ``answer_after`` requests are answered 200 at once."""

    url: str = ""
    requests: int = 0
    answer_after: int = 1_000_000
    stop: threading.Event = field(default_factory=threading.Event)
    first_stalling: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def stall() -> Iterator[Stall]:
    state = Stall()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                data += chunk
            state.requests += 1
            if state.requests > state.answer_after:
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                return
            state.first_stalling.set()
            trickle = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000
            for byte in trickle:
                if state.stop.wait(0.05):
                    return
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    return  # the sender gave up: its deadline

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.stop.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def _log(world: World) -> list[AlertDeliveryAttempt]:
    with world.session() as s:
        return list(s.scalars(select(AlertDeliveryAttempt).order_by(AlertDeliveryAttempt.id)))


def _queued(world: World, url: str) -> None:
    world.shift("alice", "luna", "10:00", "18:00")
    world.rule("no_show", 10, webhook_url=url)
    world.evaluate(NOW + 10 * MIN)


def test_a_stalled_webhook_try_ends_at_its_deadline(world: World, stall: Stall) -> None:
    _queued(world, stall.url)
    policy = dataclasses.replace(QUICK, max_attempts=1)
    sent = delivery.send_due(world.engine, mail.SmtpSettings(), policy, lambda: NOW + 10 * MIN)
    # It came back (the server would trickle for 80 minutes), failed and gave up.
    assert (sent.failed, stall.requests) == (1, 1)
    [row] = world.deliveries()
    assert row.status == "failed" and row.claim_token is None and row.claimed_until is None
    assert row.last_error is not None and row.last_error.startswith("TimeoutError")
    [attempt] = _log(world)
    assert not attempt.ok and attempt.error == row.last_error


def test_a_hanging_resolver_does_not_hold_the_try_past_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """From the attack review: getaddrinfo ran before the deadline's timer and cannot be
    interrupted, so a hanging DNS server held the try (and its claim) as long as it liked.
    Here the resolver answers only once post() has come back: it comes back regardless,
    failed for the deadline."""
    release = threading.Event()
    real = socket.getaddrinfo

    def hanging(*args: Any, **kw: Any) -> Any:
        release.wait(60)
        return real("93.184.215.14", *args[1:], **kw)

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    try:
        out = webhook.post("http://hooks.example.com/", b"{}", {}, 0.2)
    finally:
        release.set()
    assert not out.ok and out.status_code is None
    assert out.error is not None and out.error.startswith("TimeoutError"), out.error
    assert "did not resolve" in out.error


def test_a_claim_taken_over_mid_send_is_recorded_once(world: World, stall: Stall) -> None:
    """Process A's try stalls; its claim is taken by B (B's clock is past A's claim), B's try
    is answered and recorded; A's try, ending at its deadline, writes nothing."""
    stall.answer_after = 1  # the second request (B's) is answered
    _queued(world, stall.url)
    a_now = NOW + 10 * MIN
    results: dict[str, delivery.Sent] = {}
    # Seven seconds a try (B has that long to come): still within a quarter of the claim.
    slow = dataclasses.replace(QUICK, timeout=7)

    def process_a() -> None:
        results["a"] = delivery.send_due(world.engine, mail.SmtpSettings(), slow, lambda: a_now)

    a = threading.Thread(target=process_a)
    a.start()
    assert stall.first_stalling.wait(30), "process A sent nothing"
    # B comes when A's claim has run out (by B's clock).
    b_now = a_now + slow.claim + dt.timedelta(seconds=1)
    results["b"] = delivery.send_due(world.engine, mail.SmtpSettings(), slow, lambda: b_now)
    a.join(30)
    assert not a.is_alive()
    assert (results["b"].delivered, results["b"].lost) == (1, 0)
    assert (results["a"].delivered, results["a"].retrying, results["a"].lost) == (0, 0, 1)
    [row] = world.deliveries()
    assert (row.status, row.attempts, row.claim_token) == ("delivered", 1, None)
    assert [(t.number, t.ok) for t in _log(world)] == [(1, True)]  # B's, and only B's
    assert stall.requests == 2


def test_record_writes_only_under_its_own_claim(world: World, hook: Hook) -> None:
    _queued(world, hook.url)
    now = NOW + 10 * MIN
    [mine] = delivery.claim(world.engine, now, QUICK)
    # Still held: nobody else gets it.
    assert delivery.claim(world.engine, now + dt.timedelta(seconds=29), QUICK) == []
    later = now + QUICK.claim + dt.timedelta(seconds=1)
    [theirs] = delivery.claim(world.engine, later, QUICK)
    assert theirs.id == mine.id and theirs.token != mine.token
    failed = webhook.Outcome(False, None, "TimeoutError: slow")
    assert delivery.record(world.engine, mine, failed, later, QUICK) == "lost"
    assert delivery.record(world.engine, theirs, webhook.Outcome(True, 200), later, QUICK) == (
        "delivered"
    )
    # Recording twice under one claim: the second finds the claim given back.
    assert delivery.record(world.engine, theirs, webhook.Outcome(True, 200), later, QUICK) == (
        "lost"
    )
    [row] = world.deliveries()
    assert (row.status, row.attempts, row.last_error) == ("delivered", 1, None)


def test_a_policy_keeps_each_try_well_inside_its_claim() -> None:
    with pytest.raises(ValueError):
        delivery.Policy(claim=dt.timedelta(seconds=30), timeout=10)
    with pytest.raises(ValueError):
        delivery.Policy(timeout=0)
    policy = delivery.Policy()  # 10 s a try, 120 s a claim
    assert policy.room(0) and policy.room(105)
    assert not policy.room(106)  # a try started then could end past the claim


# Addresses no webhook may reach unless CHATTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS is on.
NOT_PUBLIC = [
    "http://127.0.0.1:8080/hook",
    "http://127.1.2.3/hook",
    "http://127.1/hook",  # the shorthand forms resolvers take
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://012.0.0.1/hook",  # octal 10.0.0.1
    "http://10.0.0.5/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://[::1]:8080/hook",
    "http://[::]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://[ff02::1]/hook",
    "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "https://localhost/hook",
    "http://LOCALHOST.:9000/hook",
    "http://api.localhost/hook",
]


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_rules_refuse_addresses_that_are_not_public(url: str) -> None:
    with pytest.raises(DomainError) as refused:
        rules.check_webhook_url(url)
    assert refused.value.status == 422
    assert refused.value.details == [
        {"field": "webhook_url", "message": refused.value.message.removeprefix("webhook_url ")}
    ]
    assert "must be a public address" in refused.value.message
    assert rules.check_webhook_url(url, allow_private=True) == url


@pytest.mark.parametrize(
    "url", ["https://hooks.example.com/x", "http://93.184.215.14/x", "https://[2606:4700::1]/x"]
)
def test_public_addresses_and_names_are_taken(url: str) -> None:
    assert rules.check_webhook_url(url) == url  # nothing is resolved nor sent here


def test_api_refuses_private_webhooks_by_default(agency: Collector, world: World) -> None:
    agency.app.config["ALERTS_ALLOW_PRIVATE_WEBHOOKS"] = False  # the default
    token = agency.token("admin")
    auth = {"Authorization": f"Bearer {token}"}
    for url in [
        "http://127.0.0.1:8080/h",
        "http://10.1.2.3/h",
        "http://169.254.169.254/",
        "http://[::1]/h",
        "http://[::ffff:127.0.0.1]/h",
        "http://localhost:8080/h",
    ]:
        made = agency.http.post(
            "/api/v1/alert-rules",
            json={"name": "x", "kind": "no_show", "threshold": 5, "webhook_url": url},
            headers=auth,
        )
        assert made.status_code == 422, (url, made.text)
        body = made.json()
        assert body["error"] == "invalid_field" and "public address" in body["message"], url
        assert body["details"][0]["field"] == "webhook_url"
    made = agency.http.post(
        "/api/v1/alert-rules",
        json={"name": "x", "kind": "no_show", "threshold": 5, "webhook_url": "https://e.com/h"},
        headers=auth,
    )
    assert made.status_code == 201
    patched = agency.http.patch(
        f"/api/v1/alert-rules/{made.json()['id']}",
        json={"webhook_url": "http://[::ffff:7f00:1]/h"},
        headers=auth,
    )
    assert patched.status_code == 422 and "public address" in patched.json()["message"]
    # With the setting on (as the other tests run), the same address is taken.
    agency.app.config["ALERTS_ALLOW_PRIVATE_WEBHOOKS"] = True
    patched = agency.http.patch(
        f"/api/v1/alert-rules/{made.json()['id']}",
        json={"webhook_url": "http://127.0.0.1:8080/h"},
        headers=auth,
    )
    assert patched.status_code == 200


def test_send_refuses_a_loopback_url_stored_before(world: World, hook: Hook) -> None:
    """A rule saved while the setting was on (or before this check): its sends are refused
    once it is off, and nothing reaches the server."""
    _queued(world, hook.url)
    public_only = dataclasses.replace(QUICK, allow_private=False, max_attempts=1)
    sent = delivery.send_due(world.engine, mail.SmtpSettings(), public_only, lambda: NOW + 10 * MIN)
    assert sent.failed == 1 and hook.received == []
    [row] = world.deliveries()
    assert row.last_error is not None and row.last_error.startswith("RefusedAddress")
    assert "loopback" in row.last_error


@dataclass
class Resolver:
    """Names this test's resolver answers (with addresses of this machine only), and the
    names it was asked for."""

    answers: dict[str, list[str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Resolver:
    resolver = Resolver()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in resolver.answers:
            return real(host, port, *args, **kwargs)
        resolver.asked.append(host)
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in resolver.answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return resolver


def test_a_name_resolving_to_loopback_is_refused_at_send(dns: Resolver, hook: Hook) -> None:
    port = hook.url.split(":")[2].split("/")[0]
    for answer in (["127.0.0.1"], ["::ffff:127.0.0.1"], ["::1"], ["127.0.0.9", "127.0.0.1"]):
        dns.answers["hooks.example.test"] = answer
        outcome = webhook.post(f"http://hooks.example.test:{port}/hooks", b"{}", {}, 2)
        assert not outcome.ok and (outcome.error or "").startswith("RefusedAddress"), answer
    assert hook.received == []


def test_the_checked_address_is_the_one_connected_to(dns: Resolver, hook: Hook) -> None:
    """Resolved once per try, and the connection goes to that address: a resolver that
    would answer otherwise a moment later (DNS rebinding) is not asked again."""
    port = hook.url.split(":")[2].split("/")[0]
    dns.answers["hooks.example.test"] = ["127.0.0.1"]
    outcome = webhook.post(
        f"http://hooks.example.test:{port}/hooks/x?a=1", b"{}", {}, 5, allow_private=True
    )
    assert outcome.ok, outcome.error
    assert dns.asked == ["hooks.example.test"]
    [(headers, _)] = hook.received
    assert headers["host"] == f"hooks.example.test:{port}"


@pytest.mark.parametrize(
    "host", ["10.0.0.5", "169.254.169.254", "192.168.0.1", "[fd00::1]", "[::ffff:10.0.0.1]"]
)
def test_send_refuses_private_literals_before_connecting(host: str) -> None:
    # Refused before any connection is made (nothing is ever sent to these).
    outcome = webhook.post(f"http://{host}/hook", b"{}", {}, 2)
    assert not outcome.ok and (outcome.error or "").startswith("RefusedAddress")


@pytest.fixture
def stalling_smtp() -> Iterator[mail.SmtpSettings]:
    """An SMTP server that trickles its greeting one byte every 50 ms and never ends it."""
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            for byte in b"220-" + b"x" * 100_000:
                if stop.wait(0.05):
                    return
                try:
                    self.request.sendall(bytes([byte]))
                except OSError:
                    return

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield mail.SmtpSettings(
        host="127.0.0.1", port=server.server_address[1], sender="alerts@agency.test"
    )
    stop.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_a_stalled_smtp_server_ends_the_try_at_its_deadline(
    world: World, stalling_smtp: mail.SmtpSettings
) -> None:
    world.shift("alice", "luna", "10:00", "18:00")
    world.rule("no_show", 10, emails=["lead@agency.test"])
    world.evaluate(NOW + 10 * MIN)
    policy = dataclasses.replace(QUICK, max_attempts=1)
    sent = delivery.send_due(world.engine, stalling_smtp, policy, lambda: NOW + 10 * MIN)
    assert sent.failed == 1
    [row] = world.deliveries()
    assert row.last_error is not None and row.last_error.startswith("TimeoutError"), row.last_error


@pytest.fixture
def tls_hook(tmp_path: Path) -> Iterator[tuple[int, ssl.SSLContext, list[str]]]:
    """An HTTPS server on 127.0.0.1 whose certificate (made here with openssl) is for the
    name hooks.example.test; yields its port, a client context trusting it, and the names
    clients asked for (SNI)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=hooks.example.test",
            "-addext",
            "subjectAltName=DNS:hooks.example.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],  # fmt: skip
        check=True,
        capture_output=True,
    )
    names: list[str] = []
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server_context.sni_callback = lambda _sock, name, _ctx: names.append(name or "") and None

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = ssl.create_default_context(cafile=str(cert))
    yield server.server_address[1], client, names
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_https_to_the_checked_address_keeps_the_name_for_tls(
    dns: Resolver, tls_hook: tuple[int, ssl.SSLContext, list[str]]
) -> None:
    port, context, names = tls_hook
    dns.answers["hooks.example.test"] = ["127.0.0.1"]
    dns.answers["other.example.test"] = ["127.0.0.1"]
    url = f"https://hooks.example.test:{port}/h"
    outcome = webhook.post(url, b"{}", {}, 5, context, allow_private=True)
    assert (outcome.ok, outcome.status_code) == (True, 204), outcome.error
    assert names == ["hooks.example.test"]
    # The certificate is checked against the URL's name, not the address connected to.
    wrong = webhook.post(
        f"https://other.example.test:{port}/h", b"{}", {}, 5, context, allow_private=True
    )
    assert not wrong.ok and "certificate" in (wrong.error or "").lower()
    # And refused without the setting, before any connection.
    refused = webhook.post(url, b"{}", {}, 5, context)
    assert not refused.ok and (refused.error or "").startswith("RefusedAddress")
