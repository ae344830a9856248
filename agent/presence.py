"""Live presence: every 30 s, a small signed message saying whether the chatter is active,
idle or paused, and how long since the last input (rounded to 10 s).  No counts, no keys.

It runs in a thread of its own with its own connection and short timeouts, so a slow or
failing collector never holds up slice delivery (``agent.sender``).  Presence is the live
state, never history: a message that cannot be delivered is dropped, not queued; the next
one says the same, newer.  When the collector answers 429 or 5xx the thread waits longer
(up to ``BACKOFF_CAP``, honouring Retry-After) before it asks again.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import msgspec

from agent.client import CollectorClient
from agent.sender import retry_after
from agent.state import SharedState
from agent.supervise import Supervised
from shared.protocol import (
    PRESENCE_INTERVAL,
    Presence,
    PresenceReply,
    PresenceState,
    presence_idle,
)

log = logging.getLogger(__name__)

PATH = "/api/v1/agents/presence"
# Well under the interval: a hanging collector costs one message, not the next ones.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
BACKOFF_CAP = 300.0
# The tests shorten the interval to see offline within seconds; people keep 30 s.
INTERVAL_ENV = "CHATTER_AGENT_PRESENCE_INTERVAL"


def interval_from_env() -> float:
    try:
        value = float(os.environ.get(INTERVAL_ENV, PRESENCE_INTERVAL))
    except ValueError:
        return float(PRESENCE_INTERVAL)
    return value if 0.2 <= value <= 3600 else float(PRESENCE_INTERVAL)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the runner knows now, replaced whole each tick (read from another thread)."""

    paused: bool
    last_input: float | None  # the agent's time of the last input (or session start)
    idle_threshold: int


def state_of(snapshot: Snapshot, now: float) -> tuple[PresenceState, int]:
    """The state and rounded idle seconds, by the timeline's own rule: active while the
    last input is at most the idle threshold ago."""
    if snapshot.paused:
        return "paused", 0  # no input is observed while paused
    if snapshot.last_input is None:
        return "idle", 0
    since = max(now - snapshot.last_input, 0.0)
    return ("active" if since <= snapshot.idle_threshold else "idle"), presence_idle(since)


def body(snapshot: Snapshot, now: float) -> bytes:
    state, idle = state_of(snapshot, now)
    sent_at = dt.datetime.fromtimestamp(int(now), dt.UTC)
    return msgspec.json.encode(Presence(state=state, idle_seconds=idle, sent_at=sent_at))


class PresenceSender(Supervised):
    def __init__(
        self,
        state: SharedState,
        snapshot: Callable[[], Snapshot],
        stop: threading.Event,
        *,
        interval: float = PRESENCE_INTERVAL,
        client: CollectorClient | None = None,
    ) -> None:
        super().__init__("presence", self._loop, stop, state.faults)
        self._state = state
        self._snapshot = snapshot
        self._interval = interval
        self._client = client or CollectorClient(
            state.config.server, timeout=httpx.Timeout(min(TIMEOUT.read or 10.0, interval) + 1)
        )
        self._failures = 0
        self.sent = 0  # delivered messages (for tests and status)
        self.last_problem: str | None = None

    def _loop(self) -> None:
        try:
            due = time.monotonic()
            while not self._halt.is_set():
                wait = self.send_once()
                due = (
                    max(due + self._interval, time.monotonic())
                    if wait is None
                    else (time.monotonic() + wait)
                )
                self._halt.wait(max(due - time.monotonic(), 0.0))
        finally:
            self._client.close()

    def send_once(self) -> float | None:
        """Send the state now; None to go on at the interval, else seconds to back off."""
        now = time.time() + self._state.clock_offset
        payload = body(self._snapshot(), now)
        try:
            reply = self._client.signed_post(
                PATH, payload, self._state.key, self._state.clock_offset
            )
        except httpx.HTTPError as exc:
            return self._dropped(f"collector unreachable ({exc.__class__.__name__})", None)
        if reply.status_code == 200:
            try:
                msgspec.json.decode(reply.content, type=PresenceReply)
            except msgspec.DecodeError:
                return self._dropped("200 without the collector's presence reply", None)
            self._failures = 0
            self.sent += 1
            if self.last_problem is not None:
                log.info("presence delivered again")
                self.last_problem = None
            return None
        if reply.status_code == 429 or reply.status_code >= 500:
            self._failures += 1
            backoff = min(BACKOFF_CAP, self._interval * 2 ** min(self._failures, 10))
            hint = retry_after(reply)
            return self._dropped(
                f"collector answered {reply.status_code}",
                min(max(backoff, hint or 0.0), BACKOFF_CAP),
            )
        # 401/403 (revoked, clock skew: the slice sender sorts those out), 404 (an older
        # collector without presence), 422: nothing to retry sooner than the next message.
        return self._dropped(f"collector answered {reply.status_code}", None)

    def _dropped(self, problem: str, backoff: float | None) -> float | None:
        if problem != self.last_problem:
            log.info("presence not delivered: %s; dropped", problem)
            self.last_problem = problem
        return backoff
