"""The sender thread: outbox -> collector, retrying until every batch is acknowledged.

Connection errors, timeouts, 5xx and 429 are retried with exponential backoff
and jitter, honouring Retry-After.  A clock-skew refusal corrects the clock
offset and re-signs at once.  400, 413 and 422 park the refused slices (kept
and shown in status); other refusals (revoked device, wrong URL) stop sending
but keep the queue.  Nothing leaves the outbox without a 200 whose body is the
collector's heartbeat reply and accounts for every slice of the batch: a
proxy's login page, a cut-off body or a reply of the wrong shape keeps the
batch, backs off, and says in ``status`` what came back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import logging
import random
import re
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec

from agent import __version__
from agent.client import HEARTBEATS, CollectorClient
from agent.config import DeviceKey
from agent.outbox import Batch, Outbox, QueuedSlice, is_damage
from agent.state import SharedState
from agent.supervise import Supervised
from shared.protocol import TIMING_FIELDS, HeartbeatReply, format_time

log = logging.getLogger(__name__)

_SLICE_INDEX = re.compile(r"^heartbeats\[(\d+)\]")


@dataclass
class RetryPolicy:
    base: float = 1.0
    cap: float = 300.0
    # How long to wait before trying again after the collector refused our credentials.
    refused_wait: float = 300.0
    # With nothing to send, poll this often anyway (settings, health).
    idle_poll: float = 60.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(attempt, 30))
        return random.uniform(ceiling / 2, ceiling)


_DELTA_SECONDS = re.compile(r"^\s*(\d+)\s*$")


def retry_after(reply: httpx.Response, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header, or None when absent or unreadable."""
    return parse_retry_after(reply.headers.get("Retry-After"), now)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """RFC 9110 Retry-After: delta-seconds or an HTTP-date in any of its three forms
    (IMF-fixdate, obsolete RFC 850, asctime).  Anything else is None, never an error:
    a proxy's garbage must not stop the sender."""
    if not value:
        return None
    match = _DELTA_SECONDS.match(value)
    if match:  # only digits: "1e9", "nan", "-5" and "inf" are garbage, not numbers
        return float(min(int(match.group(1)), 86400))
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
        # asctime dates and "-0000" come back naive: HTTP-dates are always UTC.
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, OverflowError, IndexError, AttributeError):
        return None
    return min(max(seconds, 0.0), 86400.0)


def batch_body(batch: Batch, outbox: Outbox, now: float) -> bytes:
    counts = outbox.counts()
    return msgspec.json.encode(
        {
            "batch_id": batch.batch_id,
            "sent_at": format_time(dt.datetime.fromtimestamp(now, dt.UTC)),
            "slice_seconds": batch.slices[0].slice_seconds if batch.slices else None,
            "agent_version": __version__,
            "queue": {
                "queued": counts.queued,
                "parked": counts.parked,
                "dropped": counts.dropped,
                "oldest": None
                if counts.oldest is None
                else format_time(dt.datetime.fromtimestamp(counts.oldest, dt.UTC)),
                # Only when there was a loss: an older collector ignores these fields
                # anyway, and a body without them stays what it always was.
                **(
                    {"lost": counts.lost, "lost_reason": counts.lost_reason}
                    if counts.lost or counts.lost_reason
                    else {}
                ),
            },
            "heartbeats": [
                {
                    "seq": s.seq,
                    "start": format_time(dt.datetime.fromtimestamp(s.start, dt.UTC)),
                    "duration": s.duration,
                    "active_seconds": s.active_seconds,
                    "input_seconds": s.input_seconds,
                    "paused_seconds": s.paused_seconds,
                    "keystrokes": s.keystrokes,
                    "mouse_events": s.mouse_events,
                    # Input timing, when the slice has it (an old outbox's rows do not).
                    **({} if s.bursts is None else timing_fields(s)),
                }
                for s in batch.slices
            ],
        }
    )


def timing_fields(s: QueuedSlice) -> dict[str, int | None]:
    return {name: getattr(s, name) for name in TIMING_FIELDS}


class Sender(Supervised):
    """Supervised: an unexpected error (the outbox raising, a bug) is logged, shown in
    status, and the loop starts again with a fresh outbox connection after a pause."""

    def __init__(
        self,
        outbox_path: Path,
        client: CollectorClient,
        state: SharedState,
        stop: threading.Event,
        wake: threading.Event,
        policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__("sender", self._loop, stop, state.faults)
        self._outbox_path = outbox_path
        self._client = client
        self._state = state
        self._wake = wake
        self._policy = policy or RetryPolicy()
        self._attempt = 0
        self._idle = False

    def _loop(self) -> None:
        outbox: Outbox | None = None
        generation = -1
        try:
            while not self._halt.is_set():
                if self._state.outbox_damaged.is_set():
                    # Let go of the damaged file while the counting loop sets it aside.
                    if outbox is not None:
                        outbox.close()
                        outbox = None
                    self._state.sender_released.set()
                    self._halt.wait(0.2)
                    continue
                try:
                    if outbox is None or generation != self._state.outbox_generation:
                        if outbox is not None:
                            outbox.close()
                        generation = self._state.outbox_generation
                        outbox = Outbox(self._outbox_path)
                    if self._state.time_check.is_set():
                        self.check_time(outbox)
                    wait = self.step(outbox)
                except sqlite3.DatabaseError as exc:
                    if is_damage(exc):
                        log.error("the outbox is damaged (%s); it is set aside", exc)
                        self._state.outbox_damaged.set()
                        continue
                    if "full" not in str(exc).lower():
                        raise  # the supervisor's to log and restart
                    # Expected on a full disk: a delivered batch stays queued (the collector
                    # answers "duplicates" when it comes again), nothing is lost.
                    self._idle = False
                    wait = self._backoff(f"the disk is full: the outbox cannot be updated ({exc})")
                if self._idle:
                    # New slices (or stopping) wake us early; a backoff is never cut short.
                    self._wake.wait(wait)
                    self._wake.clear()
                elif wait > 0:
                    self._halt.wait(wait)
        finally:
            if outbox is not None:
                outbox.close()

    def check_time(self, outbox: Outbox) -> None:
        """Learn the collector's time from a batch of no slices (every collector stores
        nothing and answers with its time, or refuses a skewed clock with it)."""
        self._state.time_check.clear()
        key = self._state.key
        sent = time.time()
        body = batch_body(Batch(uuid.uuid4().hex, []), outbox, sent + self._state.clock_offset)
        try:
            reply = self._client.signed_post(HEARTBEATS, body, key, self._state.clock_offset)
        except httpx.HTTPError as exc:
            log.info("time check skipped, collector unreachable (%s)", exc.__class__.__name__)
            return
        received = time.time()
        server_time: dt.datetime | None = None
        if reply.status_code == 200:
            with contextlib.suppress(msgspec.DecodeError):
                server_time = msgspec.json.decode(reply.content, type=HeartbeatReply).server_time
        elif reply.status_code == 401:
            error, _, details = _error_of(reply)
            if error == "clock_skew" and details:
                with contextlib.suppress(ValueError):
                    server_time = dt.datetime.fromisoformat(str(details[0].get("server_time")))
        if server_time is None or server_time.tzinfo is None:
            return
        before = self._state.clock_offset
        offset = self._state.learn_server_time(server_time, sent, received)
        if abs(offset - before) >= 1.0:
            log.warning("collector's time checked: offset %+.1f s (was %+.1f s)", offset, before)

    def step(self, outbox: Outbox) -> float:
        """Send one batch; how long to wait before the next step."""
        dropped = outbox.enforce_bound(self._state.settings.outbox_max_days)
        if dropped:
            log.warning(
                "outbox over %d days: dropped the %d oldest slices",
                self._state.settings.outbox_max_days,
                dropped,
            )
        batch = outbox.next_batch()
        self._idle = batch is None
        if batch is None:
            return self._policy.idle_poll
        for _ in range(2):  # a second try only after a clock correction
            outcome = self._send(outbox, batch)
            if not isinstance(outcome, str):
                return outcome
        return self._backoff("clock skew persists after correction")

    def _send(self, outbox: Outbox, batch: Batch) -> float | str:
        key = self._state.key
        sent = time.time()
        body = batch_body(batch, outbox, sent + self._state.clock_offset)
        try:
            reply = self._client.signed_post(HEARTBEATS, body, key, self._state.clock_offset)
        except httpx.HTTPError as exc:
            return self._backoff(transport_problem(exc))
        received = time.time()
        status = reply.status_code

        if status == 200:
            answer = check_reply(reply, batch)
            if isinstance(answer, str):
                return self._backoff(answer)
            self._delivered(outbox, batch, answer, sent, received, key)
            return 0.0
        error, message, details = _error_of(reply)
        if not error and status != 413:
            # Not the collector's error body (a proxy, a firewall, a misrouted host): never
            # a reason to park slices or to believe the device was refused.
            what = f"{status} {reply.reason_phrase}: the server answered with {body_kind(reply)}"
            return self._backoff(what, retry_after(reply) if status in (429, 503) else None)
        if status == 401 and error == "clock_skew" and details:
            try:
                server_time = dt.datetime.fromisoformat(str(details[0].get("server_time")))
                if server_time.tzinfo is None:
                    raise ValueError("no time zone")
            except ValueError:
                return self._backoff(f"clock skew refused without a usable server time: {message}")
            offset = self._state.learn_server_time(server_time, sent, received)
            log.warning("clock skew refused; offset now %.1f s, signing again", offset)
            return "resign"
        if status in (401, 403):
            self._state.credentials_refused = f"{status} {error}: {message}"
            log.error("collector refused this device (%s); queue kept, retrying later", message)
            return self._policy.refused_wait
        if status in (400, 413, 422):
            seqs = _refused_seqs(details, batch)
            if details:
                first = details[0]
                message = f"{first.get('field', '')}: {first.get('message', '')}"
            elif not error:
                message = f"the server answered with {body_kind(reply)}"
            parked = outbox.park(batch.batch_id, f"{status} {error}: {message}"[:500], seqs)
            log.error(
                "collector refused %d slice(s) of batch %s (%s): parked",
                parked,
                batch.batch_id,
                message,
            )
            return 0.0
        if status == 429 or status >= 500:
            return self._backoff(f"{status} {error}: {message}", retry_after(reply))
        return self._backoff(f"unexpected {status} {error}: {message}")

    def _delivered(
        self,
        outbox: Outbox,
        batch: Batch,
        data: HeartbeatReply,
        sent: float,
        received: float,
        key: DeviceKey,
    ) -> None:
        outbox.ack(batch.batch_id)
        self._attempt = 0
        self._state.last_success = received
        self._state.last_error = None
        self._state.credentials_refused = None
        self._state.learn_server_time(data.server_time, sent, received)
        if self._state.apply_settings(data.settings):
            log.info("new settings from the collector: %s", data.settings)
        log.info(
            "batch %s delivered: %d new, %d already stored",
            batch.batch_id,
            data.accepted,
            data.duplicates,
        )
        if data.rotate_key:
            try:
                new = self._client.rotate_key(key, self._state.clock_offset)
            except (httpx.HTTPError, RuntimeError) as exc:
                log.warning("key rotation failed, will retry: %s", exc)
            else:
                self._state.replace_key(DeviceKey(key_id=new.key_id, secret=new.secret))
                log.info("device key rotated (new key %s)", new.key_id)

    def _backoff(self, reason: str, hint: float | None = None) -> float:
        delay = self._policy.delay(self._attempt)
        if hint is not None:
            delay = max(hint, 0.5)
        self._attempt += 1
        self._state.last_error = reason
        log.warning("send failed (%s); retrying in %.1f s", reason, delay)
        return min(delay, 3600.0)


def check_reply(reply: httpx.Response, batch: Batch) -> HeartbeatReply | str:
    """The collector's reply to ``batch``, or what came back instead, in words.

    Only a reply that decodes as a heartbeat reply and accounts for every slice of
    the batch (new + already stored) lets the batch leave the outbox.
    """
    try:
        data = msgspec.json.decode(reply.content, type=HeartbeatReply)
    except msgspec.ValidationError as exc:
        if _looks_like_html(reply):
            return f"{reply.status_code}: the server answered with {body_kind(reply)}"
        return (
            f"{reply.status_code}: the server's answer is not the collector's reply ({exc}): "
            "wrong address, or something in between?"
        )
    except msgspec.DecodeError:
        return f"{reply.status_code}: the server answered with {body_kind(reply)}"
    expected = len(batch.slices)
    if data.accepted < 0 or data.duplicates < 0 or data.accepted + data.duplicates != expected:
        return (
            f"{reply.status_code}: the collector's reply accounts for "
            f"{data.accepted + data.duplicates} of {expected} slices ({data.accepted} new, "
            f"{data.duplicates} already stored): kept to send again"
        )
    return data


def _looks_like_html(reply: httpx.Response) -> bool:
    kind = reply.headers.get("Content-Type", "").split(";")[0].strip().lower()
    start = reply.content[:1024].lstrip().lower()
    return kind in ("text/html", "application/xhtml+xml") or start.startswith(
        (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")
    )


def body_kind(reply: httpx.Response) -> str:
    """What a body that is not the collector's JSON is, for people."""
    if _looks_like_html(reply):
        return "an HTML page: a proxy or login page?"
    content = reply.content
    if not content.strip():
        return "an empty body"
    try:
        msgspec.json.decode(content)
    except msgspec.DecodeError as exc:
        if "truncated" in str(exc):
            return f"JSON cut off after {len(content)} bytes"
        kind = reply.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
        return f"something that is not JSON ({kind}, {len(content)} bytes)"
    return "JSON that is not the collector's"


def transport_problem(exc: httpx.HTTPError) -> str:
    """A failed exchange in words; the batch stays queued in every case."""
    name = f"{exc.__class__.__name__}: {exc}"
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        return f"collector unreachable: {name}"
    if isinstance(exc, httpx.TimeoutException):
        return f"the collector did not answer in time ({name})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the connection broke off during the answer ({name})"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return f"the connection was reset ({name})"
    return f"collector unreachable: {name}"


def _error_of(reply: httpx.Response) -> tuple[str, str, list[dict[str, object]]]:
    try:
        body = reply.json()
    except ValueError:
        return "", reply.text[:200], []
    if not isinstance(body, dict):
        return "", str(body)[:200], []
    details = [d for d in body.get("details") or [] if isinstance(d, dict)]
    return str(body.get("error", "")), str(body.get("message", "")), details


def _refused_seqs(details: list[dict[str, object]], batch: Batch) -> list[int] | None:
    """The seqs the collector named as bad, or None to park the whole batch."""
    seqs = set()
    for detail in details:
        match = _SLICE_INDEX.match(str(detail.get("field", "")))
        if match is None:
            return None
        index = int(match.group(1))
        if index >= len(batch.slices):
            return None
        seqs.add(batch.slices[index].seq)
    return sorted(seqs) or None
