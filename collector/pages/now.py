"""The "Now" page: per creator, who is scheduled now and how they are doing (active, idle,
paused, offline), who is online without a shift, and every chatter's state.

The page refreshes itself: ``static/now.js`` reads ``GET /api/v1/presence`` every
``REFRESH_SECONDS`` and redraws the board in place (no reload, focus and scroll kept);
without the script the page is complete as served and a Reload link is there.
"""

from __future__ import annotations

import datetime as dt

from flask import render_template, request

from collector.auth import callers
from collector.auth.roles import MANAGERS
from collector.db import text
from collector.http.auth import current_user, login_required
from collector.http.database import db
from collector.pages import bp
from collector.pages.clock import Clock
from collector.presence import board
from collector.presence.state import OFFLINE
from collector.shifts.queries import load_occurrences
from shared.protocol import utc_now

REFRESH_SECONDS = 15
# ?refresh=N (seconds, within these bounds) for a wall screen that wants it faster or slower.
REFRESH_BOUNDS = (5, 300)


def state_text(live: board.Live, clock: Clock) -> str:
    """One line for a person: "active", "idle 4 min", "paused", "offline · last data 5 min
    ago".  Offline is no presence for 90 s; the last data may be a batch of slices that came
    since (an agent sending no presence), so it is never called "seen" there."""
    if live.state == OFFLINE:
        if live.last_seen is None:
            return "offline · no data yet"
        return f"offline · last data {clock.ago(live.last_seen)}"
    if live.state == "idle" and live.idle_seconds:
        minutes = live.idle_seconds // 60
        return f"idle {minutes} min" if minutes else f"idle {live.idle_seconds} s"
    return live.state


@bp.get("/now")
@login_required(*MANAGERS)
def now_page() -> str:
    user = current_user()
    assert user is not None
    limit = callers.creator_limit(user)
    now = utc_now()
    session = db.session
    scheduled = load_occurrences(session, now, now + dt.timedelta(seconds=1), creator_ids=limit)
    shown = board.build(session, now, scheduled, limit)
    clock = Clock.of(session, now)
    return render_template(
        "now.html",
        board=shown,
        clock=clock,
        state_text=lambda live: state_text(live, clock),
        refresh_seconds=_refresh(),
    )


def _refresh() -> int:
    value = text.whole_number(request.args.get("refresh", ""), 0, 10**18)
    if value is None:
        return REFRESH_SECONDS
    low, high = REFRESH_BOUNDS
    return min(max(value, low), high)
