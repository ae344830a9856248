"""The sender thread: outbox -> collector, retrying until every batch is acknowledged.

Connection errors, timeouts, 5xx and 429 are retried with exponential backoff
and jitter, honouring Retry-After.  A clock-skew refusal corrects the clock
offset and re-signs at once.  400, 413 and 422 park the refused slices (kept
and shown in status); other refusals (revoked device, wrong URL) stop sending
but keep the queue.  Nothing leaves the outbox without a 200 for its batch.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec

from agent import __version__
from agent.client import HEARTBEATS, CollectorClient
from agent.config import DeviceKey
from agent.outbox import Batch, Outbox
from agent.state import SharedState
from shared.protocol import HeartbeatReply, format_time

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


def retry_after(reply: httpx.Response) -> float | None:
    value = reply.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)


def batch_body(batch: Batch, outbox: Outbox, now: float) -> bytes:
    counts = outbox.counts()
    return msgspec.json.encode(
        {
            "batch_id": batch.batch_id,
            "sent_at": format_time(dt.datetime.fromtimestamp(now, dt.UTC)),
            "slice_seconds": batch.slices[0].slice_seconds,
            "agent_version": __version__,
            "queue": {
                "queued": counts.queued,
                "parked": counts.parked,
                "dropped": counts.dropped,
                "oldest": None
                if counts.oldest is None
                else format_time(dt.datetime.fromtimestamp(counts.oldest, dt.UTC)),
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
                }
                for s in batch.slices
            ],
        }
    )


class Sender(threading.Thread):
    def __init__(
        self,
        outbox_path: Path,
        client: CollectorClient,
        state: SharedState,
        stop: threading.Event,
        wake: threading.Event,
        policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__(name="chatter-sender", daemon=True)
        self._outbox_path = outbox_path
        self._client = client
        self._state = state
        self._halt = stop
        self._wake = wake
        self._policy = policy or RetryPolicy()
        self._attempt = 0
        self._idle = False

    def run(self) -> None:
        outbox = Outbox(self._outbox_path)
        try:
            while not self._halt.is_set():
                wait = self.step(outbox)
                if self._idle:
                    # New slices (or stopping) wake us early; a backoff is never cut short.
                    self._wake.wait(wait)
                    self._wake.clear()
                elif wait > 0:
                    self._halt.wait(wait)
        finally:
            outbox.close()

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
            return self._backoff(f"collector unreachable: {exc.__class__.__name__}: {exc}")
        received = time.time()
        status = reply.status_code

        if status == 200:
            self._delivered(outbox, batch, reply, sent, received, key)
            return 0.0
        error, message, details = _error_of(reply)
        if status == 401 and error == "clock_skew" and details:
            server_time = dt.datetime.fromisoformat(str(details[0].get("server_time")))
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
            parked = outbox.park(batch.batch_id, f"{status} {error}: {message}"[:500], seqs)
            log.error(
                "collector refused %d slice(s) of batch %s (%s): parked",
                parked,
                batch.batch_id,
                message,
            )
            return 0.0
        if status == 429 or status >= 500:
            return self._backoff(f"{status} {error or reply.reason_phrase}", retry_after(reply))
        return self._backoff(f"unexpected {status} {error}: {message}")

    def _delivered(
        self,
        outbox: Outbox,
        batch: Batch,
        reply: httpx.Response,
        sent: float,
        received: float,
        key: DeviceKey,
    ) -> None:
        outbox.ack(batch.batch_id)
        data = msgspec.json.decode(reply.content, type=HeartbeatReply)
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
