"""The dashboard's HTML pages: login, the account (own password), the manager's stats
page, a chatter's page, conversation analytics, and the admin pages (``pages.admin``).

Server-rendered with a session cookie; every form carries a CSRF token.  The numbers
come from the same report builders as the JSON API, and the export buttons link to the
API with the page's own selection.  Each page module registers its views on ``bp``; a
view builds its template's context from the reports (``figures`` for the key figures,
``formatting`` for every number a person reads).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, request
from markupsafe import Markup

from collector.auth import callers
from collector.auth.roles import LOGIN_ROLES, MANAGERS
from collector.db.settings import get_value
from collector.db.text import count_of
from collector.devices import management
from collector.http import csrf
from collector.http.auth import current_user
from collector.http.database import db
from collector.pages import formatting, selection
from collector.shifts.fields import minute_of, times_label, weekdays_label, weekdays_of
from collector.stats import reports
from shared.protocol import utc_now

bp = Blueprint("pages", __name__)

# Every date field's format, written out: the server reads ISO days, and a browser that
# shows <input type=date> as plain text (or a person typing into it) needs telling so.
ISO_DATE = Markup(
    'placeholder="YYYY-MM-DD" pattern="[0-9]{4}-[0-9]{2}-[0-9]{2}" title="A date: YYYY-MM-DD"'
)
bp.before_request(csrf.protect)


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {
        "csrf_token": csrf.token,
        "current_user": current_user,
        "managers": MANAGERS,
        "limited": lambda user: callers.creator_limit(user) is not None,
        "device_state": management.state,  # the one wording of a device's state
        "iso_date": ISO_DATE,  # the attributes of every <input type="date">
    }


@bp.app_template_filter("fmt")
def _format(value: Any, kind: str, currency: str = "") -> str:
    """One filter for every kind of figure: ``{{ value|fmt('money', currency) }}``."""
    return formatting.shown(value, kind, currency)


# A global, not a context variable: the macros of an imported template see it too.
bp.app_template_global("duration_parts")(formatting.duration_parts)  # so far + to come


@bp.app_template_filter("days")
def _days(weekdays: str | None) -> str:
    """A shift's or coverage rule's days ("mon-fri", as the API gives them) for people:
    ``{{ rule.weekdays|days }}`` is "Mon–Fri" (``shifts.fields.weekdays_label``)."""
    return weekdays_label(weekdays_of(weekdays)) if weekdays else ""


@bp.app_template_filter("times")
def _times(start: str, end: str) -> str:
    """ "22:00–06:00 (+1)": ``{{ shift.start|times(shift.end) }}`` (``fields.times_label``)."""
    return times_label(minute_of(start), minute_of(end, "end", end=True))


@bp.app_template_filter("count_of")
def _count_of(n: int, word: str, words: str | None = None) -> str:
    """ "1 shift", "2 shifts": ``{{ n|count_of('shift') }}`` (``db.text.count_of``)."""
    return count_of(n, word, words)


def page_selection(
    creators: list[tuple[str, str]], args: Mapping[str, str] | None = None
) -> selection.PageSelection:
    """The range, zone and creator a page shows, from its query string (or ``args``)."""
    agency_tz = str(get_value(db.session, "agency_timezone"))
    keys = {key for key, _ in creators}
    return selection.from_args(request.args if args is None else args, agency_tz, utc_now(), keys)


def report_request(args: dict[str, str]) -> reports.Request:
    """The reports' request for the logged-in person (login_required ran)."""
    user = current_user()
    assert user is not None
    return reports.build_request(db.session, callers.of_user(user, LOGIN_ROLES), args)


# The page modules register their views on bp; they use everything above.
from collector.pages import (  # noqa: E402
    account,
    admin,
    alerts,
    assets,
    attendance,
    chatters,
    conversations,
    login,
    now,
    payroll,
    stats,
)

BLUEPRINTS: tuple[Blueprint, ...] = (bp, admin.bp)

__all__ = [
    "BLUEPRINTS",
    "account",
    "alerts",
    "assets",
    "attendance",
    "bp",
    "chatters",
    "conversations",
    "login",
    "now",
    "payroll",
    "stats",
]
