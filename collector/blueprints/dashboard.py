"""The browser side for people: login, logout, the manager's stats page, a chatter's page.

Server-rendered pages with a session cookie; every form carries a CSRF token.  The
numbers come from the same report builders as the JSON API (collector/stats/reports.py),
and the export buttons link to the API with the page's own selection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from collector import admin_views, csrf, users
from collector.access import (
    MANAGERS,
    ROLES,
    current_user,
    end_sessions,
    login_required,
    start_session,
)
from collector.auth import Caller
from collector.db import begin_write, db
from collector.errors import ApiError
from collector.settings import get_value
from collector.stats import reports
from collector.stats.periods import zone
from collector.web import conversations_page as conversations
from collector.web import formatting, pages, selection
from shared.protocol import utc_now

bp = Blueprint("dashboard", __name__)
bp.before_request(csrf.protect)

# Browser libraries served from the collector itself: name -> file under node_modules,
# installed by the set-up (scripts/setup-assets.sh) from collector/assets/package-lock.json.
VENDOR = {"chart.js": "chart.js/dist/chart.umd.min.js"}


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {"csrf_token": csrf.token, "current_user": current_user}


def _safe_next(target: str | None) -> str | None:
    """Only a plain path on this site: never an open redirect.

    Browsers drop tabs and newlines and read backslashes as slashes, so a slash, a
    tab and "/evil" would become "//evil": anything but printable ASCII is refused.
    """
    if not target or not target.isascii() or not target.isprintable() or " " in target:
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@bp.get("/login")
def login_form() -> str:
    return render_template(
        "login.html", email="", message=None, next=_safe_next(request.args.get("next"))
    )


@bp.post("/login")
def login() -> Response | tuple[str, int]:
    email = request.form.get("email", "")
    password = request.form.get("password", "")
    target = _safe_next(request.form.get("next"))
    address = request.remote_addr or "unknown"
    session_ = db.session
    begin_write(session_)
    try:
        user = users.authenticate(session_, email, password, address, utc_now())
    except users.LoginRefused as exc:
        session_.commit()  # keep the failure: it is what the limit counts
        status = 429 if exc.locked else 401
        page = render_template("login.html", email=email, message=str(exc), next=target)
        return page, status
    session_.commit()
    start_session(user)
    return redirect(target or url_for("dashboard.home"))


@bp.post("/logout")
def logout() -> Response:
    """Ends this account's sessions everywhere: a copied cookie is worthless after it."""
    if "user_id" in session:
        begin_write(db.session)  # before the lookup: the read and the bump are one write
        user = current_user()
        if user is not None:
            end_sessions(user)
        db.session.commit()
    session.clear()
    return redirect(url_for("dashboard.login_form"))


@bp.get("/")
def home() -> Response:
    """Everyone's start page: managers the stats page, a chatter their own page."""
    user = current_user()
    if user is None:
        return redirect(url_for("dashboard.login_form"))
    if user.role == "chatter":
        if user.chatter is None:
            abort(403, description="this login is not linked to a chatter; ask an admin")
        return redirect(url_for("dashboard.chatter_page", key=user.chatter.key))
    return redirect(url_for("dashboard.stats_page"))


@bp.get("/assets/<name>")
def vendor_asset(name: str) -> Response:
    if name not in VENDOR:
        abort(404)
    root = Path(current_app.config.get("ASSETS_DIR") or Path(__file__).parents[1] / "assets")
    path = root / "node_modules" / VENDOR[name]
    if not path.is_file():
        abort(404, description=f"{name} is not installed: run scripts/setup-assets.sh")
    return send_file(path, mimetype="text/javascript", max_age=3600)


def _selection(creators: list[tuple[str, str]]) -> selection.PageSelection:
    agency_tz = str(get_value(db.session, "agency_timezone"))
    keys = {key for key, _ in creators}
    return selection.from_args(request.args, agency_tz, utc_now(), keys)


def _report_request(args: dict[str, str]) -> reports.Request:
    user = current_user()
    assert user is not None  # login_required ran
    caller = Caller(user.role, user.chatter_id, user.email)
    try:
        return reports.build_request(db.session, caller, args)
    except ApiError as exc:
        abort(exc.status, description=exc.message)


@bp.get("/stats")
@login_required(*MANAGERS)
def stats_page() -> str:
    """The manager's page: key figures, top chatters, revenue, all chatters."""
    user = current_user()
    assert user is not None
    creators = pages.creators(db.session, user)
    sel = _selection(creators)
    wanted = {name: request.args.get(name, "") for name in ("by", "q", "sort", "order")}
    # A stale or edited link falls back to the defaults rather than to an error page.
    for name, allowed in (
        ("by", reports.TOP_MEASURES),
        ("sort", reports.SORTABLE),
        ("order", reports.ORDERS),
    ):
        if wanted[name] not in allowed:
            wanted[name] = ""
    args = {**sel.query(), **{k: v for k, v in wanted.items() if v}}
    req = _report_request(args)
    try:
        context = pages.stats_page(db.session, req, sel)
    except ApiError as exc:
        abort(exc.status, description=exc.message)
    state = {**sel.state(), **{k: v for k, v in wanted.items() if v}}

    def here(**changes: str) -> str:
        """This page with some choices changed; the others (search, order) kept."""
        merged: dict[str, Any] = {k: v for k, v in {**state, **changes}.items() if v}
        return url_for("dashboard.stats_page", **merged)

    return render_template(
        "stats.html",
        **context,
        creators=creators,
        presets=selection.PRESETS,
        wanted=wanted,
        zones=COMMON_ZONES,
        here=here,
    )


@bp.get("/chatters/<key>")
@login_required(*ROLES)
def chatter_page(key: str) -> str:
    """One chatter's numbers; a chatter reaches only their own page."""
    user = current_user()
    assert user is not None
    if user.role == "chatter" and (user.chatter is None or user.chatter.key != key):
        abort(403, description="a chatter sees only their own page")
    creators = pages.creators(db.session, user)
    sel = _selection(creators)
    req = _report_request(sel.query())
    try:
        context = pages.chatter_page(db.session, req, key, sel)
    except ApiError as exc:
        abort(exc.status, description=exc.message)
    return render_template(
        "chatter.html",
        **context,
        creators=creators,
        presets=selection.PRESETS,
        zones=COMMON_ZONES,
        own=user.role == "chatter",
        clock=admin_views.Clock(zone(sel.tz), utc_now()),  # times in the page's zone
    )


# Offered in the time zone field; any IANA name can be typed.
COMMON_ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Kyiv",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "Asia/Manila",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Dubai",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Africa/Lagos",
    "Africa/Nairobi",
]


@bp.app_template_filter("fmt")
def _format(value: Any, kind: str, currency: str = "") -> str:
    """One filter for every kind of figure: ``{{ value|fmt('money', currency) }}``."""
    return formatting.shown(value, kind, currency)


@bp.get("/conversations")
@login_required(*MANAGERS)
def conversations_page() -> str:
    """Conversation analytics: the chat widget's figures, trends, ratings and agents."""
    # The shop is the agency's, not a creator's: a creator in a link is left out.
    agency_tz = str(get_value(db.session, "agency_timezone"))
    args = {k: v for k, v in request.args.items() if k != "creator"}
    sel = selection.from_args(args, agency_tz, utc_now(), ())
    choices = conversations.Choices.from_args(request.args)
    req = _report_request(sel.query())
    try:
        context = conversations.build(db.session, req, sel, choices)
    except ApiError as exc:
        abort(exc.status, description=exc.message)

    def here(**changes: Any) -> str:
        """This page with some choices changed; the selection and the others kept."""
        merged = {**sel.state(), **choices.state(), **changes}
        return url_for("dashboard.conversations_page", **{k: v for k, v in merged.items() if v})

    return render_template(
        "conversations.html",
        **context,
        presets=selection.PRESETS,
        zones=COMMON_ZONES,
        here=here,
        creator_ignored=bool(request.args.get("creator")),
    )
