"""The sender's decisions, one reply at a time (unit tests over httpx.MockTransport)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import httpx
import msgspec
import pytest

from agent.client import CollectorClient
from agent.config import AgentConfig, DeviceKey
from agent.outbox import Outbox
from agent.sender import RetryPolicy, Sender, retry_after
from agent.state import SharedState
from agent.timeline import SliceTotals
from shared.protocol import format_time

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def ok_reply(request: httpx.Request, **overrides: object) -> httpx.Response:
    batch = msgspec.json.decode(request.content)
    body = {
        "accepted": len(batch["heartbeats"]),
        "duplicates": 0,
        "server_time": format_time(dt.datetime.now(dt.UTC)),
        "settings": {"slice_seconds": 60, "idle_threshold_seconds": 180, "outbox_max_days": 30},
        "gaps": [],
        "rotate_key": False,
        **overrides,
    }
    return httpx.Response(200, json=body)


def error(
    status: int, code: str, details: list[object] | None = None, **headers: str
) -> httpx.Response:
    return httpx.Response(
        status, json={"error": code, "message": code, "details": details or []}, headers=headers
    )


@pytest.fixture
def setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[Sender, Outbox, SharedState]]:
    monkeypatch.setenv("CHATTER_AGENT_HOME", str(tmp_path))

    def make(handler: Callable[[httpx.Request], httpx.Response], slices: int = 3):
        outbox = Outbox(tmp_path / "outbox.db")
        start = int(NOW.timestamp()) // 60 * 60 - slices * 60
        for i in range(slices):
            outbox.add(SliceTotals(start + 60 * i, 60, 60, 30, 10, 0, 5, 2), "2026-11-24")
        state = SharedState(
            config=AgentConfig(server="http://c", device_id="d"),
            key=DeviceKey(key_id="key_1", secret="s"),
        )
        client = CollectorClient("http://c", transport=httpx.MockTransport(handler))
        import threading

        sender = Sender(
            tmp_path / "outbox.db",
            client,
            state,
            threading.Event(),
            threading.Event(),
            RetryPolicy(base=1, cap=8, refused_wait=99),
        )
        return sender, outbox, state

    return make


def test_acknowledged_batch_leaves_the_outbox(setup) -> None:  # type: ignore[no-untyped-def]
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(msgspec.json.decode(request.content))
        assert request.headers["X-Agent-Key"] == "key_1"
        assert request.headers["X-Agent-Signature"].startswith("v1=")
        return ok_reply(request)

    sender, outbox, _ = setup(handler)
    assert sender.step(outbox) == 0.0
    assert outbox.counts().queued == 0
    assert [h["seq"] for h in seen[0]["heartbeats"]] == [1, 2, 3]  # type: ignore[index]


@pytest.mark.parametrize(
    "reply",
    [error(500, "internal_error"), error(503, "database_unavailable"), error(429, "slow_down")],
)
def test_server_errors_keep_the_batch_and_back_off(setup, reply: httpx.Response) -> None:  # type: ignore[no-untyped-def]
    ids: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids.append(msgspec.json.decode(request.content)["batch_id"])
        return reply

    sender, outbox, state = setup(handler)
    waits = [sender.step(outbox) for _ in range(4)]
    assert outbox.counts().queued == 3
    assert len(set(ids)) == 1  # the same batch id on every retry
    assert waits[0] <= 1 and waits[3] >= 4  # exponential, with jitter
    assert state.last_error is not None


def test_retry_after_is_honoured(setup) -> None:  # type: ignore[no-untyped-def]
    sender, outbox, _ = setup(lambda r: error(503, "busy", **{"Retry-After": "7"}))
    assert sender.step(outbox) == 7.0
    date = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)).strftime(
        "%a, %d %b %Y %H:%M:%S GMT"
    )
    assert 100 < (retry_after(httpx.Response(429, headers={"Retry-After": date})) or 0) <= 120


def test_connection_refused_keeps_everything(setup) -> None:  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    sender, outbox, state = setup(handler)
    for _ in range(3):
        sender.step(outbox)
    assert outbox.counts().queued == 3
    assert "unreachable" in str(state.last_error)


def test_clock_skew_resigns_at_once(setup) -> None:  # type: ignore[no-untyped-def]
    server_time = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    timestamps: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        timestamps.append(int(request.headers["X-Agent-Timestamp"]))
        if len(timestamps) == 1:
            return error(
                401,
                "clock_skew",
                [{"server_time": format_time(server_time), "skew_seconds": -3600}],
            )
        return ok_reply(request, server_time=format_time(server_time))

    sender, outbox, state = setup(handler)
    assert sender.step(outbox) == 0.0
    assert outbox.counts().queued == 0
    assert 3590 <= timestamps[1] - timestamps[0] <= 3610
    assert 3590 <= state.clock_offset <= 3610


def test_invalid_slice_is_parked_alone(setup) -> None:  # type: ignore[no-untyped-def]
    calls: list[list[int]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seqs = [h["seq"] for h in msgspec.json.decode(request.content)["heartbeats"]]
        calls.append(seqs)
        if 2 in seqs:
            index = seqs.index(2)
            return error(
                422, "invalid_batch", [{"field": f"heartbeats[{index}].duration", "message": "bad"}]
            )
        return ok_reply(request)

    sender, outbox, _ = setup(handler)
    sender.step(outbox)
    sender.step(outbox)
    counts = outbox.counts()
    assert (counts.queued, counts.parked) == (0, 1)
    assert calls == [[1, 2, 3], [1, 3]]
    assert "heartbeats[1].duration: bad" in outbox.parked_reasons()[0][0]
    assert outbox.unpark() == 1


def test_revoked_device_keeps_the_queue(setup) -> None:  # type: ignore[no-untyped-def]
    sender, outbox, state = setup(lambda r: error(403, "device_revoked"))
    assert sender.step(outbox) == 99
    assert outbox.counts().queued == 3 and outbox.counts().parked == 0
    assert "device_revoked" in str(state.credentials_refused)


def test_settings_and_rotation_from_the_reply(setup) -> None:  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("rotate-key"):
            return httpx.Response(
                200,
                json={
                    "key_id": "key_2",
                    "secret": "s2",
                    "previous_key_expires_at": format_time(NOW),
                    "server_time": format_time(NOW),
                },
            )
        return ok_reply(
            request,
            rotate_key=True,
            settings={"slice_seconds": 30, "idle_threshold_seconds": 300, "outbox_max_days": 30},
        )

    sender, outbox, state = setup(handler)
    sender.step(outbox)
    assert state.settings.idle_threshold_seconds == 300
    assert state.key.key_id == "key_2"
    from agent.config import load_config, load_key

    assert load_key().key_id == "key_2" and load_config().settings.slice_seconds == 30


def test_outbox_bound_drops_oldest_and_counts(setup) -> None:  # type: ignore[no-untyped-def]
    sender, outbox, _ = setup(lambda r: error(503, "down"))
    old = int(NOW.timestamp()) // 60 * 60 - 40 * 86400
    outbox.add(SliceTotals(old, 60, 60, 0, 0, 0, 0, 0), "2026-10-15")
    sender.step(outbox)
    counts = outbox.counts()
    assert (counts.queued, counts.dropped) == (3, 1)


# Nothing leaves the outbox without the collector's own reply for every slice (issue 14).


def cut(request: httpx.Request) -> httpx.Response:
    whole = ok_reply(request).content
    return httpx.Response(200, content=whole[:25], headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (
            lambda r: httpx.Response(
                200, html="<!DOCTYPE html><html><body>Sign in to WiFi</body></html>"
            ),
            "the server answered with an HTML page: a proxy or login page?",
        ),
        # An HTML page without a content type is still a page.
        (
            lambda r: httpx.Response(200, content=b"\n  <html><body>portal</body></html>"),
            "an HTML page",
        ),
        (lambda r: httpx.Response(200, content=b""), "an empty body"),
        (cut, "JSON cut off after 25 bytes"),
        (lambda r: httpx.Response(200, json={"ok": True}), "not the collector's reply"),
        (lambda r: httpx.Response(200, json=[1, 2, 3]), "not the collector's reply"),
        (lambda r: ok_reply(r, accepted=1, duplicates=1), "accounts for 2 of 3 slices"),
        (lambda r: ok_reply(r, accepted=4, duplicates=0), "accounts for 4 of 3 slices"),
        (lambda r: ok_reply(r, accepted=-1, duplicates=4), "accounts for 3 of 3"),
        (lambda r: ok_reply(r, server_time="yesterday"), "not the collector's reply"),
        (
            lambda r: httpx.Response(502, html="<html><body>Bad Gateway</body></html>"),
            "502 Bad Gateway: the server answered with an HTML page",
        ),
        # A proxy's 401/403/422 page is not the collector refusing the device or a slice.
        (lambda r: httpx.Response(403, html="<html>Blocked</html>"), "403 Forbidden"),
        (lambda r: httpx.Response(422, text="nope"), "not JSON"),
    ],
)
def test_a_reply_that_is_not_the_collectors_keeps_the_batch(setup, reply, words) -> None:  # type: ignore[no-untyped-def]
    answers = {"bad": True}

    def handler(request: httpx.Request) -> httpx.Response:
        return reply(request) if answers["bad"] else ok_reply(request)

    sender, outbox, state = setup(handler)
    waits = [sender.step(outbox) for _ in range(3)]
    assert all(w > 0 for w in waits)  # backing off, not hammering
    counts = outbox.counts()
    assert (counts.queued, counts.parked) == (3, 0)
    assert words in str(state.last_error)
    assert state.credentials_refused is None
    answers["bad"] = False
    assert sender.step(outbox) == 0.0
    assert outbox.counts().queued == 0 and state.last_error is None


NOW_TS = dt.datetime(2026, 11, 19, 8, 26, 40, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("99999999999999999999999", 86400.0),  # capped, not an overflow
        ("Thu, 19 Nov 2026 08:28:40 GMT", 120.0),  # IMF-fixdate
        ("Thu, 19 Nov 2026 08:28:40 -0000", 120.0),  # "-0000": naive, was a TypeError
        ("Thu, 19 Nov 2026 08:28:40 +0000", 120.0),
        ("Thu, 19 Nov 2026 09:28:40 +0100", 120.0),
        ("Thursday, 19-Nov-26 08:28:40 GMT", 120.0),  # obsolete RFC 850
        ("Thu Nov 19 08:28:40 2026", 120.0),  # asctime, no zone: UTC
        ("Sun, 06 Nov 1994 08:49:37 GMT", 0.0),  # in the past: now
        ("Fri, 31 Dec 9999 23:59:59 -1200", 86400.0),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1e3", None),
        ("nan", None),
        ("inf", None),
        ("5, 7", None),
        ("Thu, 31 Feb 2026 08:28:40 GMT", None),
        ("Thu, 19 Nov 2026 25:28:40 GMT", None),
        ("Thu, 19 Nov 2026 08:28:40 +9999", None),
        ("\x00\x01", None),
    ],
)
def test_retry_after_in_every_form_and_garbage(value: str, seconds: float | None) -> None:
    from agent.sender import parse_retry_after

    got = parse_retry_after(value, now=NOW_TS)
    assert got == seconds if seconds is None else got == pytest.approx(seconds)


def test_garbage_retry_after_never_stops_the_sender(setup) -> None:  # type: ignore[no-untyped-def]
    values = iter(["Thu, 19 Nov 2026 08:28:40 -0000", "soon", "nan", "Thu Nov 19 08:28:40 2026"])
    sender, outbox, state = setup(lambda r: error(503, "busy", **{"Retry-After": next(values)}))
    waits = [sender.step(outbox) for _ in range(4)]
    assert all(0 < w <= 3600 for w in waits)
    assert outbox.counts().queued == 3


def test_the_sender_thread_survives_an_outbox_that_raises(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A real fault (a trigger makes the outbox refuse to batch) ends the loop; the
    supervisor logs it, shows it in the faults, and starts it again with backoff."""
    import sqlite3
    import time

    sender, outbox, state = setup(ok_reply)
    db = sqlite3.connect(tmp_path / "outbox.db", isolation_level=None)
    db.execute(
        "CREATE TRIGGER fault BEFORE UPDATE ON slices BEGIN SELECT RAISE(ABORT, 'injected'); END"
    )
    sender._faults.base = 0.2
    sender.start()
    deadline = time.monotonic() + 10
    while state.faults.snapshot().get("sender", {}).get("failures", 0) < 2:
        assert time.monotonic() < deadline, "the sender never failed"
        time.sleep(0.05)
    assert sender.is_alive()
    fault = state.faults.snapshot()["sender"]
    assert "IntegrityError: injected" in str(fault["last_error"])
    db.execute("DROP TRIGGER fault")
    while outbox.counts().queued:
        assert time.monotonic() < deadline + 10, "delivery never resumed"
        time.sleep(0.05)
    while state.faults.snapshot()["sender"]["restart_at"] is not None:
        time.sleep(0.05)
    sender._halt.set()
    sender._wake.set()
    sender.join(5)
    assert not sender.is_alive()


def test_an_offset_the_round_trip_allows_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A reply's server time was read between sent and received, so the offset lies in
    # [server - received, server - sent]: one already inside stays (moving it by the round
    # trip's uncertainty would leave a hole or an overlap in the slices); one outside moves
    # to the midpoint.
    monkeypatch.setenv("CHATTER_AGENT_HOME", str(tmp_path))
    state = SharedState(
        config=AgentConfig(server="http://c", device_id="d", clock_offset=3.0),
        key=DeviceKey(key_id="key_1", secret="s"),
    )
    server = dt.datetime(2026, 12, 1, 6, 0, 10, tzinfo=dt.UTC)
    sent = server.timestamp() - 8.0  # a slow round trip on a loaded machine: 6 s
    assert state.learn_server_time(server, sent, sent + 6.0) == 3.0  # in [2, 8]: stays
    assert state.clock_offset == 3.0
    assert state.learn_server_time(server, sent + 7.0, sent + 7.5) == pytest.approx(0.75)
    assert state.clock_offset == pytest.approx(0.75)
