"""``chatter-agent status``: everything the agent collects and holds, nothing hidden."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
from typing import Any

import msgspec

from agent import paths
from agent.config import load_config
from agent.outbox import Outbox, QueueCounts
from agent.pause import paused_until

# The running agent refreshes its status file every few seconds.
STALE_AFTER = 30.0


def collect() -> dict[str, Any]:
    config = load_config()
    running: dict[str, Any] = {}
    if paths.status_file().exists():
        try:
            running = msgspec.json.decode(paths.status_file().read_bytes())
        except msgspec.DecodeError:  # caught mid-rewrite (in place, on a full disk)
            time.sleep(0.2)
            running = msgspec.json.decode(paths.status_file().read_bytes())
    alive = (
        bool(running)
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
    pause = paused_until()
    return {
        "server": config.server,
        "device_id": config.device_id,
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
        "collected": "per time slice: start, seconds online/active/paused/with input, "
        "and the number of key presses and mouse events. Never which key, never text.",
        "files": {
            "config": str(paths.config_file()),
            "outbox": str(paths.outbox_file()),
            "log": str(paths.log_file()),
        },
    }


def _iso(stamp: float | int | None) -> str | None:
    if stamp is None:
        return None
    return dt.datetime.fromtimestamp(stamp).astimezone().isoformat(timespec="seconds")


def _hms(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def render(status: dict[str, Any]) -> str:
    today = status["today"]
    lines = [
        f"ChatterTrack agent — {'running' if status['running'] else 'NOT RUNNING'}"
        + (f" (pid {status['pid']})" if status["pid"] else ""),
        f"  server            {status['server']}",
        f"  device            {status['device_id']}",
        f"  input             {status['input_source'] or '-'}",
    ]
    if status["input_problem"]:
        lines.append(f"  input problem     {status['input_problem']}")
    if status["paused"]:
        lines.append(f"  PAUSED            until {status['paused_until'] or 'you resume'}")
    lines += [
        f"  last send         {status['last_successful_send'] or 'never'}",
        f"  queued / parked   {status['queued_slices']} / {status['parked_slices']} slices",
        f"  dropped (full)    {status['dropped_slices']} slices",
    ]
    if status["last_error"]:
        lines.append(f"  last error        {status['last_error']}")
    if status["outbox_problem"]:
        lines.append(f"  OUTBOX            {status['outbox_problem']}")
    if status["lost_slices"] or status["lost_reason"]:
        lines.append(
            f"  lost              {status['lost_slices']} slices ({status['lost_reason']}); "
            "reported to the collector"
        )
    for name, fault in status["faults"].items():
        state = (
            "running again"
            if fault["restart_at"] is None
            else f"starting again at {_iso(fault['restart_at'])}"
        )
        lines.append(
            f"  FAILED            {name}: {fault['failures']}× since start, last at "
            f"{_iso(fault['at'])}: {fault['last_error']} ({state})"
        )
    if status["credentials_refused"]:
        lines.append(f"  REFUSED           {status['credentials_refused']}")
    for item in status["parked_reasons"]:
        lines.append(f"  parked            {item['slices']} × {item['reason']}")
    lines += [
        f"  today ({today['date']})  online {_hms(today['online_seconds'])}, "
        f"active {_hms(today['active_seconds'])}, idle {_hms(today['idle_seconds'])}, "
        f"paused {_hms(today['paused_seconds'])}",
        f"{'':20}{today['keystrokes']} key presses, {today['mouse_events']} mouse events",
        f"  collected         {status['collected']}",
        f"  log               {status['files']['log']}",
    ]
    return os.linesep.join(lines)
