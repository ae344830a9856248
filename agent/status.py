"""``chatter-agent status``: everything the agent collects and holds, nothing hidden."""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

import msgspec

from agent import paths
from agent.config import load_config
from agent.outbox import Outbox
from agent.pause import paused_until

# The running agent refreshes its status file every few seconds.
STALE_AFTER = 30.0


def collect() -> dict[str, Any]:
    config = load_config()
    running: dict[str, Any] = {}
    if paths.status_file().exists():
        running = msgspec.json.decode(paths.status_file().read_bytes())
    alive = (
        bool(running)
        and time.time() + config.clock_offset - running.get("last_tick", 0) < STALE_AFTER
    )
    outbox = Outbox(paths.outbox_file())
    try:
        counts = outbox.counts()
        today = dt.date.today().isoformat()
        totals = outbox.day(today)
        parked = outbox.parked_reasons()
    finally:
        outbox.close()
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
