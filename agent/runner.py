"""The agent's main loop: one tick a second turns input into sealed, queued slices.

The loop and the input listeners are supervised: an unexpected error is logged, shown
in ``status`` and the work started again after a growing pause.  A sealed slice the
outbox cannot take (disk full, outbox damaged while running) is held in memory and
written as soon as the outbox takes it again; ``status`` says how many are held.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from agent import __version__, idle, paths
from agent.client import CollectorClient
from agent.counting import InputCounter
from agent.listeners import InputUnavailable, Listeners
from agent.outbox import Outbox, is_damage, set_aside_if_damaged
from agent.pause import PauseWatcher
from agent.presence import PresenceSender, Snapshot
from agent.sender import RetryPolicy, Sender
from agent.state import SharedState
from agent.timeline import SliceTotals, Timeline, TimelineState

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
        boot: Callable[[], float | None] | None = None,
        idle_probe: Callable[[], float | None] = idle.seconds_since_input,
        listeners: Callable[[InputCounter], Any] = Listeners,
        presence_interval: float | None = None,
    ) -> None:
        self.state = state
        self._client = client
        self._policy = policy or RetryPolicy()
        self._wall = wall
        self._mono = mono
        self._boot = boot or suspend_clock
        self._idle_probe = idle_probe
        self._make_listeners = listeners
        self.counter = InputCounter(self.now)
        self.outbox_problem: str | None = None
        # What was set aside while this process ran (the loss itself is kept in the outbox).
        self.set_aside_notice: str | None = None
        self.outbox = self._open_outbox()
        # Sealed slices the outbox could not take yet (disk full), oldest first.
        self._unsaved: list[tuple[SliceTotals, str]] = []
        self.timeline = self._restore_timeline()
        self._pause = PauseWatcher()
        self._paused = False
        self._listeners: Any = None
        self._listeners_retry_at = 0.0
        self.input_source: str | None = None
        self.input_problem: str | None = None
        self._blind_checks = 0
        self._ticks = 0
        self._last: tuple[float, float] | None = None
        self._last_clocks: tuple[float, float | None, float] | None = None
        self.started = self.now()
        self.stop = threading.Event()
        self.wake = threading.Event()
        self._sender: Sender | None = None
        # Live presence (agent/presence.py): None sends none (the unit tests' runners).
        self._presence_interval = presence_interval
        self.presence = Snapshot(False, None, state.settings.idle_threshold_seconds)
        # Set by request_stop() from a signal handler, which must take no lock: the handler
        # runs in the main thread, possibly while that thread holds self.stop's own lock
        # inside Event.wait, and Event.set() there would wait for it forever.
        self._stop_requested = False

    def now(self) -> float:
        """The collector's time, as far as we know it."""
        return self._wall() + self.state.clock_offset

    # Life cycle ----------------------------------------------------------------

    def run(self) -> None:
        self._start_input()
        # The clock may have been changed while the agent was stopped: the sender asks the
        # collector for its time first, before the first slice is sealed.
        self.state.time_check.set()
        sender = self._sender = Sender(
            paths.outbox_file(), self._client, self.state, self.stop, self.wake, self._policy
        )
        sender.start()
        presence = None
        if self._presence_interval is not None:
            presence = PresenceSender(
                self.state, lambda: self.presence, self.stop, interval=self._presence_interval
            )
            presence.start()
        log.info("agent %s running (input: %s)", __version__, self.input_source or "none")
        try:
            while not self._stopping():
                try:
                    self.tick()
                except Exception as exc:  # supervised: the loop goes on after a pause
                    self._sleep(self.state.faults.failed("counting", exc))
                    self.state.faults.restarted("counting")
                    continue
                # Wake just after the next whole second.
                self._sleep(1.0 - (self.now() % 1.0) + 0.01)
        finally:
            self.stop.set()  # here, in the main thread's own time, not in the handler
            self.shutdown()
            self.wake.set()
            sender.join(timeout=30)
            if presence is not None:
                presence.join(timeout=15)
            self.outbox.close()

    def request_stop(self) -> None:
        """Safe in a signal handler: a plain assignment, seen within a second."""
        self._stop_requested = True

    def _stopping(self) -> bool:
        return self._stop_requested or self.stop.is_set()

    def _sleep(self, seconds: float) -> None:
        """Wait on self.stop in steps of at most a second, so that a stop requested by a
        signal (which cannot set the event) is seen in time."""
        end = time.monotonic() + max(seconds, 0.0)
        while not self._stopping():
            left = end - time.monotonic()
            if left <= 0:
                return
            self.stop.wait(min(left, 1.0))

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
            self._listeners_retry_at = self._mono() + RETRY_LISTENERS_EVERY
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
        """Listeners that died (display restarted, an error in their thread) are a fault:
        logged, shown in status, started again after a growing pause.  Listeners that
        could not start are tried again every minute."""
        mono = self._mono()
        if self._listeners is not None:
            if self._listeners.alive():
                return
            reason = _why_stopped(self._listeners)
            self._listeners_retry_at = mono + self.state.faults.failed("input listeners", reason)
            self.input_problem = f"the input listeners stopped ({reason}); starting them again"
            self._listeners.stop()
            self._listeners = None
            return
        if mono >= self._listeners_retry_at:
            self._start_listeners()
            if self._listeners is not None:
                self.state.faults.restarted("input listeners")

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
        self._write_status(stopped=True)
        if self._unsaved:
            # Counted in the status file; the next start reports them as lost.
            log.error(
                "agent stopped with %d sealed slice(s) the outbox could not take: lost",
                len(self._unsaved),
            )
        else:
            log.info("agent stopped; current slice sealed")

    # One second ----------------------------------------------------------------

    def tick(self) -> None:
        self._absorb_clock_change()
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
                    "time jumped (wall %+.0f s, monotonic %+.0f s): suspend, a frozen process "
                    "or the collector's time; the gap is not online time",
                    wall_step,
                    mono_step,
                )
                if wall_step < mono_step - JUMP_SECONDS:
                    # The collector moved our time back (a clock change taken for a suspend,
                    # or a start with a stale offset): what was recorded ahead never was.
                    self.timeline.forget_from(second)
            elif self.input_source is not None:
                self.timeline.run(int(last_wall), second, paused=paused)
        self._last = (wall, mono)

        for at, (keys, mouse) in self.counter.drain().items():
            if not paused:
                self.timeline.input(at, keys=keys, mouse=mouse)
        for start_ms, keyed in self.counter.drain_bursts():
            if not paused:
                self.timeline.burst(start_ms, keyed=keyed)
        if self.input_source is not None and not paused and self._ticks % CROSSCHECK_EVERY == 0:
            self._crosscheck(wall)
        self._note_presence(paused)
        self._seal(second)
        self._follow_settings(second)
        self._check_listeners()
        if self._ticks % CHECKPOINT_EVERY == 0:
            self._checkpoint()
        if self._ticks % STATUS_EVERY == 0 or self._ticks == 1:  # at once: running
            self._write_status()

    def _absorb_clock_change(self) -> None:
        """A change of the computer's clock (by hand, by time sync, a fixed time zone) is
        not time passing: the offset absorbs it, so the agent's time goes on smoothly and
        no slice lands an hour off, and the collector is asked for its time at once.

        The change is the wall clock's step minus the step of a clock that counts
        suspended time too (CLOCK_BOOTTIME on Linux, CLOCK_MONOTONIC on macOS).  Where
        there is none (Windows), only a backward step is surely a change: a forward one
        may be a suspend, and the collector's time settles it.
        """
        raw, boot, mono = self._wall(), self._boot(), self._mono()
        last, self._last_clocks = self._last_clocks, (raw, boot, mono)
        if last is None:
            return
        if boot is not None and last[1] is not None:
            changed = (raw - last[0]) - (boot - last[1])
        else:
            changed = (raw - last[0]) - (mono - last[2])
            if changed > JUMP_SECONDS:
                self._ask_collector_time()
                return
        if abs(changed) <= JUMP_SECONDS:
            return
        offset = self.state.shift_offset(-changed)
        log.warning(
            "the computer's clock was changed by %+.0f s: the agent's time goes on where it "
            "was (offset now %+.0f s); asking the collector for its time",
            changed,
            offset,
        )
        self._ask_collector_time()

    def _ask_collector_time(self) -> None:
        self.state.time_check.set()
        self.wake.set()

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

    def _note_presence(self, paused: bool) -> None:
        """The state the presence thread reports: the timeline's last input or anchor."""
        points = [p[-1] for p in (self.timeline.state.inputs, self.timeline.state.anchors) if p]
        self.presence = Snapshot(paused, max(points, default=None), self.timeline.idle_threshold)

    def _seal(self, second: int, *, final: bool = False) -> None:
        for start in self.timeline.sealable(second, final=final):
            totals = self.timeline.seal(start)
            if totals.duration == 0:
                continue
            self._unsaved.append((totals, dt.datetime.fromtimestamp(start).date().isoformat()))
        self._save_unsaved()

    def _save_unsaved(self) -> None:
        """Into the outbox, oldest first; what it cannot take stays in memory."""
        if self.state.outbox_damaged.is_set() and not self._replace_damaged_outbox():
            return  # held in memory until the new outbox is there
        saved = 0
        while self._unsaved:
            totals, day = self._unsaved[0]
            try:
                self.outbox.add(totals, day)
            except sqlite3.Error as exc:
                self._outbox_failed(exc)
                break
            self._unsaved.pop(0)
            saved += 1
        if saved:
            self.wake.set()
            if not self._unsaved and self.outbox_problem is not None:
                log.warning("the outbox takes slices again: %d held in memory saved", saved)
                self.outbox_problem = None

    def _outbox_failed(self, exc: sqlite3.Error) -> None:
        full = "full" in str(exc).lower() or getattr(exc, "sqlite_errorcode", 0) == 13
        if not full and is_damage(exc):
            self.state.outbox_damaged.set()  # set aside at the next tick
        what = (
            "the disk is full"
            if full
            else "the outbox is damaged (it is being set aside)"
            if is_damage(exc)
            else f"the outbox cannot be written ({exc})"
        )
        problem = (
            f"{what}: {len(self._unsaved)} sealed slice(s) held in memory, still counting; "
            "queued slices are kept"
        )
        if self.outbox_problem is None or self.outbox_problem.split(":")[0] != what:
            log.error("%s (%s)", problem, exc)
        self.outbox_problem = problem

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

    def _replace_damaged_outbox(self) -> bool:
        """Set the damaged outbox aside once the sender has let go of it; True when a
        usable outbox is open again."""
        sender = self._sender
        if sender is not None and sender.is_alive() and not self.state.sender_released.is_set():
            return False
        self.outbox.close()
        self.outbox = self._open_outbox()
        self.state.sender_released.clear()
        self.state.outbox_generation += 1
        self.state.outbox_damaged.clear()
        return True

    def _open_outbox(self) -> Outbox:
        path = paths.outbox_file()
        aside = set_aside_if_damaged(path)
        outbox = Outbox(path)
        carried = _unsaved_at_last_exit()
        if carried:
            outbox.record_loss(
                carried, f"the disk was full when the agent stopped: {carried} slice(s) unsaved"
            )
            log.error("%d sealed slice(s) were held in memory at the last exit: lost", carried)
        if aside is not None:
            outbox.continue_after(aside.mark)
            outbox.record_loss(aside.lost, aside.reason)
            self.set_aside_notice = (
                f"{aside.reason}: a new outbox was started; {aside.lost} unsent slice(s) lost "
                "(reported to the collector)"
            )
            log.error(self.set_aside_notice)
        return outbox

    def _checkpoint(self) -> None:
        self.timeline.idle_threshold = self.state.settings.idle_threshold_seconds
        try:
            self.outbox.set_meta("timeline", msgspec.json.encode(self.timeline.state).decode())
        except sqlite3.Error as exc:
            if is_damage(exc):
                self.state.outbox_damaged.set()
            log.debug("timeline checkpoint not written: %s", exc)

    def _write_status(self, *, stopped: bool = False) -> None:
        status = {
            "pid": os.getpid(),
            # status must not call a stopped agent running for the next half minute.
            "stopped": stopped,
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
            "faults": self.state.faults.snapshot(),
            "outbox_problem": self.outbox_problem or self.set_aside_notice,
            "unsaved_slices": len(self._unsaved),
            "today": self._today(),
        }
        write_status(paths.status_file(), msgspec.json.encode(status))

    def _today(self) -> dict[str, int | str]:
        """Today so far: the outbox's day and what is not in it yet, read at one moment."""
        date, pending = self._not_sealed()
        try:
            saved = self.outbox.day(date)
        except sqlite3.Error:
            return {}  # status reads the outbox itself
        return {"date": date, **{k: v + saved[k] for k, v in pending.items()}}

    def _not_sealed(self) -> tuple[str, dict[str, int]]:
        """Today's time and input not in the outbox yet: the open slices as they would be
        sealed now (seconds after the last input count once the next input or the idle
        threshold settles them) and slices held in memory.  ``status`` adds this to the
        outbox's day so that it shows now, not a slice length and a threshold ago."""
        preview = Timeline.restore(
            msgspec.json.decode(msgspec.json.encode(self.timeline.state), type=TimelineState),
            self.timeline.idle_threshold,
        )
        now = int(self.now())
        today = dt.datetime.fromtimestamp(now).date().isoformat()
        slices = [preview.seal(start) for start in preview.sealable(now, final=True)]
        slices += [totals for totals, _day in self._unsaved]
        mine = [t for t in slices if dt.datetime.fromtimestamp(t.start).date().isoformat() == today]
        return today, {
            "online": sum(t.duration - t.paused_seconds for t in mine),
            "active": sum(t.active_seconds for t in mine),
            "paused": sum(t.paused_seconds for t in mine),
            "keystrokes": sum(t.keystrokes for t in mine),
            "mouse_events": sum(t.mouse_events for t in mine),
        }


def write_status(path: Path, data: bytes) -> None:
    """Replace the status file; on a full disk, overwrite it in place instead.

    A new file needs a free block; the old file's own block is still there, so ``status``
    keeps telling the truth (disk full, slices held in memory) when it matters most.  The
    rest of a longer old text is blanked with spaces (JSON ignores them).
    """
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or not path.exists():
            raise
    with open(path, "r+b") as handle:
        size = os.fstat(handle.fileno()).st_size
        handle.write(data + b" " * max(size - len(data), 0))


def suspend_clock() -> float | None:
    """A clock that keeps counting while the computer sleeps, or None where there is none
    we trust (Windows: not known here; the collector's time settles it there)."""
    if sys.platform.startswith("linux"):
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    if sys.platform == "darwin":  # macOS's CLOCK_MONOTONIC goes on during sleep
        return time.clock_gettime(time.CLOCK_MONOTONIC)
    return None


def _unsaved_at_last_exit() -> int:
    """Sealed slices the last run held in memory when it ended (disk full): lost."""
    try:
        last = msgspec.json.decode(paths.status_file().read_bytes())
        return max(int(last.get("unsaved_slices") or 0), 0)
    except (OSError, ValueError, TypeError, AttributeError, msgspec.DecodeError):
        return 0


def _why_stopped(listeners: Any) -> Exception:
    """The error that ended a listener thread, when pynput kept it (join re-raises it)."""
    for listener in getattr(listeners, "threads", lambda: [])():
        try:
            listener.join(0)
        except Exception as exc:
            return exc
    return RuntimeError("the listener thread ended")
