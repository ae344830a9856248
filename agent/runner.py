"""The agent's main loop: one tick a second turns input into sealed, queued slices."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import msgspec

from agent import __version__, idle, paths
from agent.client import CollectorClient
from agent.counting import InputCounter
from agent.listeners import InputUnavailable, Listeners
from agent.outbox import Outbox
from agent.pause import PauseWatcher
from agent.sender import RetryPolicy, Sender
from agent.state import SharedState
from agent.timeline import Timeline, TimelineState

log = logging.getLogger(__name__)

# A tick this late means the process did not run (suspend, SIGSTOP, VM pause).
FROZEN_SECONDS = 10.0
# Wall and monotonic clocks disagreeing by this much: suspend or a clock change.
JUMP_SECONDS = 5.0
CHECKPOINT_EVERY = 10
STATUS_EVERY = 5
CROSSCHECK_EVERY = 5
RETRY_LISTENERS_EVERY = 60


class Runner:
    def __init__(
        self,
        state: SharedState,
        client: CollectorClient,
        *,
        policy: RetryPolicy | None = None,
        wall: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
        idle_probe: Callable[[], float | None] = idle.seconds_since_input,
        listeners: Callable[[InputCounter], Any] = Listeners,
    ) -> None:
        self.state = state
        self._client = client
        self._policy = policy or RetryPolicy()
        self._wall = wall
        self._mono = mono
        self._idle_probe = idle_probe
        self._make_listeners = listeners
        self.counter = InputCounter(self.now)
        self.outbox = Outbox(paths.outbox_file())
        self.timeline = self._restore_timeline()
        self._pause = PauseWatcher()
        self._paused = False
        self._listeners: Any = None
        self.input_source: str | None = None
        self.input_problem: str | None = None
        self._blind_checks = 0
        self._ticks = 0
        self._last: tuple[float, float] | None = None
        self.started = self.now()
        self.stop = threading.Event()
        self.wake = threading.Event()

    def now(self) -> float:
        """The collector's time, as far as we know it."""
        return self._wall() + self.state.clock_offset

    # Life cycle ----------------------------------------------------------------

    def run(self) -> None:
        self._start_input()
        sender = Sender(
            paths.outbox_file(), self._client, self.state, self.stop, self.wake, self._policy
        )
        sender.start()
        log.info("agent %s running (input: %s)", __version__, self.input_source or "none")
        try:
            while not self.stop.is_set():
                self.tick()
                # Wake just after the next whole second.
                self.stop.wait(1.0 - (self.now() % 1.0) + 0.01)
        finally:
            self.shutdown()
            self.wake.set()
            sender.join(timeout=30)
            self.outbox.close()

    def _start_input(self) -> None:
        self._start_listeners()
        second = int(self.now())
        os_idle = self._idle_probe()
        # The session starts active at the last input the OS saw, else now.
        self.timeline.anchor(second - int(os_idle) if os_idle is not None else second)

    def _start_listeners(self) -> None:
        try:
            self._listeners = self._make_listeners(self.counter)
            self._listeners.start()
        except (InputUnavailable, Exception) as exc:  # pynput raises many kinds
            self._listeners = None
            self.input_problem = str(exc) or exc.__class__.__name__
            if self._idle_probe() is not None:
                self.input_source = "OS idle clock only (no key counts)"
                log.error("input listeners unavailable (%s); using the OS idle clock", exc)
            else:
                self.input_source = None
                log.error("cannot observe input (%s): NOT tracking, so nobody is shown idle", exc)
            return
        if self.input_problem is not None:
            log.info("input listeners running again")
        self.input_source = "keyboard and mouse listeners"
        self.input_problem = None

    def _check_listeners(self) -> None:
        """Listeners that failed or died (display restarted) are tried again."""
        if self._listeners is not None and self._listeners.alive():
            return
        if self._listeners is not None:
            log.warning("input listeners stopped; restarting them")
            self._listeners.stop()
            self._listeners = None
        self._start_listeners()

    def shutdown(self) -> None:
        """Seal everything up to now (the exit is the last moment counted) and keep it."""
        if self._listeners is not None:
            self._listeners.stop()
        self.tick()
        second = int(self.now())
        os_idle = self._idle_probe()
        self.timeline.anchor(second - int(os_idle) if os_idle is not None else second)
        self._seal(second, final=True)
        self._checkpoint()
        self._write_status()
        log.info("agent stopped; current slice sealed")

    # One second ----------------------------------------------------------------

    def tick(self) -> None:
        wall, mono = self.now(), self._mono()
        second = int(wall)
        self._ticks += 1
        paused = self._pause.paused(wall)
        if paused != self._paused:
            self.timeline.anchor(second)
            log.info("tracking %s", "paused" if paused else "resumed")
            self._paused = paused
        if self._last is not None:
            last_wall, last_mono = self._last
            wall_step, mono_step = wall - last_wall, mono - last_mono
            if mono_step > FROZEN_SECONDS or abs(wall_step - mono_step) > JUMP_SECONDS:
                log.warning(
                    "time jumped (wall %+.0f s, monotonic %+.0f s): suspend or clock change; "
                    "the gap is not online time",
                    wall_step,
                    mono_step,
                )
            elif self.input_source is not None:
                self.timeline.run(int(last_wall), second, paused=paused)
        self._last = (wall, mono)

        for at, (keys, mouse) in self.counter.drain().items():
            if not paused:
                self.timeline.input(at, keys=keys, mouse=mouse)
        if self.input_source is not None and not paused and self._ticks % CROSSCHECK_EVERY == 0:
            self._crosscheck(wall)
        self._seal(second)
        self._follow_settings(second)
        if self._ticks % RETRY_LISTENERS_EVERY == 0:
            self._check_listeners()
        if self._ticks % CHECKPOINT_EVERY == 0:
            self._checkpoint()
        if self._ticks % STATUS_EVERY == 0:
            self._write_status()

    def _crosscheck(self, wall: float) -> None:
        """Input the OS saw but the listeners missed: count its time, and say so."""
        os_idle = self._idle_probe()
        if os_idle is None:
            return
        listeners_quiet = wall - self.counter.last_input > 3 * CROSSCHECK_EVERY
        if self._listeners is None or (os_idle < CROSSCHECK_EVERY and listeners_quiet):
            self.timeline.input(int(wall - os_idle))
            if self._listeners is not None:
                self._blind_checks += 1
                if self._blind_checks == 3:
                    self.input_problem = (
                        "the OS reports input that the listeners do not see (Wayland window, "
                        "missing permission?): active time comes from the OS idle clock and "
                        "key counts may be low"
                    )
                    log.warning(self.input_problem)
        elif not listeners_quiet:
            self._blind_checks = 0

    def _seal(self, second: int, *, final: bool = False) -> None:
        sealed = False
        for start in self.timeline.sealable(second, final=final):
            totals = self.timeline.seal(start)
            if totals.duration == 0:
                continue
            day = dt.datetime.fromtimestamp(start).date().isoformat()
            if self.outbox.add(totals, day) is not None:
                sealed = True
        if sealed:
            self.wake.set()

    def _follow_settings(self, second: int) -> None:
        settings = self.state.settings
        self.timeline.idle_threshold = settings.idle_threshold_seconds
        if settings.slice_seconds == self.timeline.slice_seconds:
            return
        # Every allowed length divides 60, so switching at a minute boundary keeps
        # all slices aligned; the seconds until that boundary are not tracked.
        self.timeline.anchor(second)
        self._seal(second, final=True)
        fresh = Timeline(settings.slice_seconds, settings.idle_threshold_seconds)
        fresh.state.sealed_until = second - second % 60 + 60
        fresh.anchor(fresh.state.sealed_until)
        self.timeline = fresh
        log.info("slice length is now %d s (from the next minute)", settings.slice_seconds)

    # Persistence ---------------------------------------------------------------

    def _restore_timeline(self) -> Timeline:
        settings = self.state.settings
        raw = self.outbox.get_meta("timeline")
        timeline = Timeline(settings.slice_seconds, settings.idle_threshold_seconds)
        if raw:
            try:
                saved = msgspec.json.decode(raw, type=TimelineState)
            except msgspec.DecodeError:
                log.warning("unreadable timeline checkpoint ignored")
            else:
                if saved.slice_seconds == settings.slice_seconds:
                    timeline = Timeline.restore(saved, settings.idle_threshold_seconds)
        sealed = self.outbox.last_sealed()
        if sealed is not None:
            # Never record over a slice sealed before the restart.  If it had another
            # length (the setting changed while stopped), the new length starts at the
            # next minute boundary, a boundary of both, as _follow_settings does.
            start, end = sealed
            if end - start != timeline.slice_seconds:
                end = -(-end // 60) * 60
            timeline.skip_until(end)
        return timeline

    def _checkpoint(self) -> None:
        self.timeline.idle_threshold = self.state.settings.idle_threshold_seconds
        self.outbox.set_meta("timeline", msgspec.json.encode(self.timeline.state).decode())

    def _write_status(self) -> None:
        status = {
            "pid": os.getpid(),
            "version": __version__,
            "started_at": self.started,
            "last_tick": self.now(),
            "paused": self._paused,
            "input_source": self.input_source,
            "input_problem": self.input_problem,
            "last_success": self.state.last_success,
            "last_error": self.state.last_error,
            "credentials_refused": self.state.credentials_refused,
            "clock_offset": self.state.clock_offset,
        }
        path = paths.status_file()
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(msgspec.json.encode(status))
        os.replace(tmp, path)
