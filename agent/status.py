"""``chatter-agent status``: everything the agent collects and holds, nothing hidden."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import textwrap
import time
from typing import Any

import msgspec

from agent import paths
from agent.config import load_config
from agent.outbox import Outbox, QueueCounts
from agent.pause import paused_until

# The running agent refreshes its status file every few seconds.
STALE_AFTER = 30.0


def _running_status() -> dict[str, Any]:
    """What the running agent last wrote; {} (not running) if there is nothing readable."""
    for attempt in range(2):
        try:
            running = msgspec.json.decode(paths.status_file().read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, msgspec.DecodeError):  # caught mid-rewrite (in place: disk full)
            if attempt == 0:
                time.sleep(0.2)
            continue
        fresh = isinstance(running, dict) and isinstance(running.get("last_tick"), int | float)
        return running if fresh else {}
    return {}


def collect() -> dict[str, Any]:
    config = load_config()
    running = _running_status()
    alive = (
        bool(running)
        and not running.get("stopped")
        and time.time() + config.clock_offset - running.get("last_tick", 0) < STALE_AFTER
    )
    today = dt.date.today().isoformat()
    unreadable = None
    try:
        outbox = Outbox(paths.outbox_file())
        try:
            counts = outbox.counts()
            totals = outbox.day(today)
            parked = outbox.parked_reasons()
        finally:
            outbox.close()
    except sqlite3.DatabaseError as exc:
        unreadable = (
            f"the outbox cannot be read ({exc}); the agent sets a damaged outbox aside "
            "and starts a new one when it starts"
        )
        counts = QueueCounts(0, 0, 0, None)
        totals = {k: 0 for k in ("online", "active", "paused", "keystrokes", "mouse_events")}
        parked = []
    if alive and (running.get("today") or {}).get("date") == today:
        # The running agent's figure includes the open slices: now, not minutes ago.
        totals = {k: int(v) for k, v in running["today"].items() if k != "date"}
    pause = paused_until()
    info: dict[str, Any] = {
        "server": config.server,
        "device_id": config.device_id,
        "chatter_name": config.chatter_name,
        "stats_url": config.stats_url,
        "running": alive,
        "pid": running.get("pid") if alive else None,
        "input_source": running.get("input_source") if alive else None,
        "input_problem": running.get("input_problem") if alive else None,
        "paused": pause is not False,
        "paused_until": None if pause is False or pause is None else _iso(float(pause)),
        "last_successful_send": _iso(running.get("last_success")),
        "last_error": running.get("last_error"),
        "credentials_refused": running.get("credentials_refused"),
        # Loops that failed and were started again (sender, counting, input listeners).
        "faults": (running.get("faults") or {}) if alive else {},
        "outbox_problem": unreadable or (running.get("outbox_problem") if alive else None),
        "unsaved_slices": running.get("unsaved_slices", 0) if alive else 0,
        "lost_slices": counts.lost,
        "lost_reason": counts.lost_reason,
        "clock_offset_seconds": config.clock_offset,
        "settings": msgspec.to_builtins(config.settings),
        "queued_slices": counts.queued,
        "parked_slices": counts.parked,
        "parked_reasons": [{"reason": r, "slices": n} for r, n in parked],
        "dropped_slices": counts.dropped,
        "oldest_queued": _iso(counts.oldest),
        "today": {
            "date": today,
            "online_seconds": totals["online"],
            "active_seconds": totals["active"],
            "idle_seconds": totals["online"] - totals["active"],
            "paused_seconds": totals["paused"],
            "keystrokes": totals["keystrokes"],
            "mouse_events": totals["mouse_events"],
        },
        "collected": "for each slice of time, how many seconds you were online, active "
        "or paused and how many keys and mouse events there were. Never which key, never "
        "what you type, no screenshots.",
        "files": {
            "config": str(paths.config_file()),
            "outbox": str(paths.outbox_file()),
            "log": str(paths.log_file()),
        },
    }
    info["delivery"] = delivery(info)
    return info


def delivery(status: dict[str, Any]) -> str:
    """Whether what was counted reaches the server, in words."""
    waiting = status["queued_slices"]
    if status["credentials_refused"]:
        return (
            f"the server refuses this computer ({status['credentials_refused']}): ask IT. "
            f"{waiting} slices are kept here until then."
        )
    if waiting == 0 and status["last_successful_send"] is None:
        return (
            "nothing sent yet: time is sent in slices once each is final (a slice length "
            "and the idle threshold after it ends, a few minutes)."
        )
    if waiting == 0:
        return (
            "every finished slice has reached the server; the last few minutes follow once "
            "their slices are final."
        )
    since = _when(status["oldest_queued"])
    if status["last_error"]:
        return (
            f"{waiting} slices are waiting to be sent (the oldest from {since}): "
            f"{status['last_error']}. They are kept and sent when the server can be reached."
        )
    if not status["running"]:
        return f"{waiting} slices are waiting; they are sent when the agent runs again."
    return f"{waiting} slices are being sent."


def _iso(stamp: float | int | None) -> str | None:
    if stamp is None:
        return None
    return dt.datetime.fromtimestamp(stamp).astimezone().isoformat(timespec="seconds")


def _hms(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _when(iso: str | None) -> str:
    """A local time as people read it: '14:05' today, else 'Mon 30 Nov 14:05'."""
    if not iso:
        return "never"
    moment = dt.datetime.fromisoformat(iso).astimezone()
    if moment.date() == dt.date.today():
        return f"{moment:%H:%M}"
    return f"{moment:%a %d %b %H:%M}"


def render(status: dict[str, Any]) -> str:
    today = status["today"]
    who = f" for {status['chatter_name']}" if status["chatter_name"] else ""
    if status["running"]:
        head = f"ChatterTrack is running and counts{who}."
    else:
        head = (
            f"ChatterTrack is NOT running{who}: it starts at your next login "
            "(or run 'chatter-agent run')."
        )
    lines = [head]
    if status["paused"]:
        until = _when(status["paused_until"]) if status["paused_until"] else None
        lines.append(
            f"Tracking is PAUSED until {until}."
            if until
            else "Tracking is PAUSED until you resume it ('chatter-agent resume')."
        )
    day = dt.date.fromisoformat(today["date"])
    lines += [
        "",
        f"Today ({day:%a %d %b}), counted so far:",
        f"  online        {_hms(today['online_seconds'])}"
        f"   (active {_hms(today['active_seconds'])}, idle {_hms(today['idle_seconds'])})",
        f"  paused        {_hms(today['paused_seconds'])}",
        f"  key presses   {today['keystrokes']:,}   mouse events {today['mouse_events']:,}",
        "",
        *textwrap.wrap(f"Sending: {status['delivery']}", 80, subsequent_indent="  "),
        f"  last sent     {_when(status['last_successful_send'])}",
    ]
    if status["stats_url"]:
        lines.append(f"Your stats:   {status['stats_url']} (log in with your ChatterTrack account)")
    problems = []
    if status["input_problem"]:
        problems.append(f"input: {status['input_problem']}")
    if status["outbox_problem"]:
        problems.append(f"storage: {status['outbox_problem']}")
    if status["lost_slices"] or status["lost_reason"]:
        problems.append(
            f"{status['lost_slices']} slices were lost on this computer "
            f"({status['lost_reason']}); the server was told"
        )
    for name, fault in status["faults"].items():
        state = (
            "running again"
            if fault["restart_at"] is None
            else f"starting again at {_when(_iso(fault['restart_at']))}"
        )
        problems.append(
            f"{name} failed {fault['failures']}× since the start, last at "
            f"{_when(_iso(fault['at']))}: {fault['last_error']} ({state})"
        )
    for item in status["parked_reasons"]:
        problems.append(f"{item['slices']} slices refused by the server: {item['reason']}")
    if status["dropped_slices"]:
        problems.append(
            f"{status['dropped_slices']} old slices were dropped (kept longer than allowed)"
        )
    if problems:
        lines += ["", "Problems:"]
        for problem in problems:
            lines += textwrap.wrap(problem, 80, initial_indent="  - ", subsequent_indent="    ")
    lines += [
        "",
        *textwrap.wrap(f"What is counted: {status['collected']}", 80),
        f"Server {status['server']} · device {status['device_id'][:8]} · "
        f"log {status['files']['log']}",
    ]
    return os.linesep.join(lines)
