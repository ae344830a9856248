"""The payroll pages: a period's pay per chatter with every line (managers), the approval
that locks a period (admins), and a chatter's own pay ("My pay").

The numbers are the payroll API's body for the same period (``payroll.report.body``);
the download links go to the API (``/api/v1/payroll``), which this browser session may
call.  A team lead sees the chatters of their creators, a chatter only their own lines
(``payroll.report.visible``).  An adjustment line shows what it stands on: what arrived
or changed since the last approval (``payroll.sources``); a line of the period's own pay
links to the chatter's stats for its days.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from collector.auth import callers
from collector.auth.roles import LOGIN_ROLES, MANAGERS
from collector.db.models import User
from collector.db.text import count_of
from collector.errors import DomainError
from collector.http.auth import current_user, login_required
from collector.http.database import db
from collector.pages import bp
from collector.pages.admin import writing
from collector.pages.clock import Clock
from collector.pages.formatting import money
from collector.payroll import ledger, report, sources
from collector.payroll.periods import PayPeriod, PayPeriodError
from collector.stats.periods import zone
from shared.money import parse_amount
from shared.protocol import utc_now

# Where the page's download links point: the payroll API, asked by this session.
API = "/api/v1/payroll"
# What each kind of source item is called on the page.
SALE_TYPES = {"ppv_purchase": "PPV purchase", "tip": "Tip", "refund": "Refund"}


def _period(cal: ledger.Calendar, raw: str, now: dt.datetime) -> tuple[PayPeriod, str]:
    """The period asked for (a day in it or first..last), else the one holding today,
    with the reason it was not the one asked for."""
    if raw:
        try:
            return cal.schedule.parse(raw[:40]), ""
        except PayPeriodError as exc:
            return cal.schedule.containing(cal.today(now)), str(exc)
    return cal.schedule.containing(cal.today(now)), ""


def _downloads(period: PayPeriod) -> list[tuple[str, str]]:
    """(label, URL) of the API's files for the period: per chatter and per line."""
    out = []
    for view, what in (("chatters", "per chatter"), ("lines", "per line")):
        for fmt, kind in (("csv", "CSV"), ("xlsx", "Excel")):
            query = {"period": period.label(), "format": fmt, "view": view}
            out.append((f"{kind} {what}", f"{API}?{urlencode(query)}"))
    return out


def _stood_on(
    payroll: report.Payroll, lines: list[dict[str, Any]], found: list[Any], for_chatter: bool
) -> None:
    """Each line dict of the body with what it stands on: an adjustment its items (what
    arrived or changed), any line a link to the chatter's stats for its days."""
    session = db.session
    since, until = sources.changed_between(session, payroll.locked)
    tz = payroll.calendar.tz
    for row, line in zip(lines, found, strict=True):
        row["stats_args"] = {
            "preset": "custom",
            "start": row["first_day"],
            "end": row["last_day"],
            "tz": tz,
        }
        if not row["adjustment"]:
            continue
        items = sources.sources(
            session, line, tz, adjustment=True, since=since, until=until, for_chatter=for_chatter
        )
        for sale in items.get("sales", []):
            sale["type_label"] = SALE_TYPES.get(sale["type"], sale["type"])
            sale["amount"] = payroll.money(int(sale["amount_minor"] or 0))
            sale["occurred"] = dt.datetime.fromisoformat(sale["occurred_at"])
            sale["received"] = dt.datetime.fromisoformat(sale["received_at"])
        for moved in items.get("reassignments", []):
            moved["moment"] = dt.datetime.fromisoformat(moved["at"])
        for shift in items.get("shifts_changed", []):
            shift["moment"] = dt.datetime.fromisoformat(shift["at"])
        for rule in items.get("pay_rules_set", []):
            rule["moment"] = dt.datetime.fromisoformat(rule["created_at"])
        row["sources"] = items


def _context(user: User, raw: str, own: bool) -> dict[str, Any]:
    session = db.session
    now = utc_now()
    caller = callers.of_user(user, LOGIN_ROLES)
    cal = ledger.calendar(session)
    period, problem = _period(cal, raw, now)
    payroll = report.build(session, caller, period, now)
    body = report.body(payroll)
    by_chatter: dict[int, list[Any]] = defaultdict(list)
    for line in payroll.lines:
        by_chatter[line.chatter_id].append(line)
    ids = {p.key: cid for cid, p in payroll.people.items()}
    for row in body["chatters"]:
        # My pay's card: both never below 0, so one figure says what they add.
        row["bonus_and_topup"] = payroll.money(
            sum(parse_amount(row[k], payroll.exponent) for k in ("bonus", "minimum_topup"))
        )
        _stood_on(payroll, row["lines"], by_chatter[ids[row["key"]]], caller.role == "chatter")
    previous = cal.schedule.containing(period.first - dt.timedelta(days=1))
    following = cal.schedule.following(period)
    endpoint = "pages.my_pay_page" if own else "pages.payroll_page"
    return {
        "body": body,
        "period": period,
        "problem": problem,
        "today": cal.today(now),
        "current": cal.schedule.containing(cal.today(now)),
        "previous_url": url_for(endpoint, period=previous.label()),
        "next_url": url_for(endpoint, period=following.label()),
        "current_url": url_for(endpoint),
        "action": url_for(endpoint),
        "downloads": _downloads(period),
        "currency": payroll.currency,
        "clock": Clock(zone(cal.tz), now),
        "own": own,
        "can_approve": user.role == "admin" and not own,
        # Why this period cannot be approved now (None: it can); asked before the button.
        "refusal": (
            ledger.refusal(session, cal, period, now) if user.role == "admin" and not own else None
        ),
        "error": "",
        "adjustments": sum(1 for line in payroll.lines if line.origin != period),
        "approved": payroll.locked.approved_at if payroll.locked is not None else None,
    }


def _page(user: User, raw: str, own: bool, error: str = "", status: int = 200) -> tuple[str, int]:
    context = _context(user, raw, own)
    context["error"] = error
    return render_template("payroll.html", **context), status


@bp.get("/payroll")
@login_required(*MANAGERS)
def payroll_page() -> tuple[str, int]:
    """A period's pay per chatter, with every line; admins approve it here."""
    user = current_user()
    assert user is not None
    return _page(user, request.args.get("period", "").strip(), own=False)


@bp.get("/my-pay")
@login_required("chatter")
def my_pay_page() -> tuple[str, int]:
    """A chatter's own pay for a period: their lines and nothing of anyone else."""
    user = current_user()
    assert user is not None
    return _page(user, request.args.get("period", "").strip(), own=True)


@bp.get("/payroll/approve")
@login_required("admin")
def approve_payroll_confirm() -> str | tuple[str, int]:
    """The confirmation step before a period is locked for good; a period that cannot be
    approved shows why on the payroll page instead (409), before anyone confirms."""
    session = db.session
    cal = ledger.calendar(session)
    raw = request.args.get("period", "").strip()
    try:
        period = cal.schedule.parse(raw[:40])
    except PayPeriodError as exc:
        abort(400, description=str(exc))
    wrong = ledger.refusal(session, cal, period, utc_now())
    if wrong is not None:
        return _page(_me(), raw, own=False, error=wrong.message, status=wrong.status)
    payroll = report.build(session, callers.of_user(_me(), LOGIN_ROLES), period, utc_now())
    totals = report.body(payroll)["totals"]
    chatters = {line.chatter_id for line in payroll.lines}
    adjustments = sum(1 for line in payroll.lines if line.origin != period)
    consequences = [
        f"The pay of {period.first} to {period.last} ({cal.tz}) is stored as it is now: "
        f"{count_of(len(chatters), 'chatter')}, {money(totals['total'], payroll.currency)} "
        f"in all" + (f", {count_of(adjustments, 'adjustment line')}." if adjustments else "."),
        "The period is locked: its lines never change again. Sales, time, shifts or pay "
        "rules that change for it later are paid as adjustments in the next open period.",
        "Periods are approved in order; the approval is recorded in the audit log with your login.",
    ]
    return render_template(
        "admin/confirm.html",
        title=f"Approve and lock the pay period {period.first} to {period.last}?",
        consequences=consequences,
        action=url_for("pages.approve_payroll", period=period.label()),
        button="Approve and lock",
        cancel=url_for("pages.payroll_page", period=period.label()),
    )


@bp.post("/payroll/approve")
@login_required("admin")
def approve_payroll() -> Response | tuple[str, int]:
    """Lock the period (``ledger.approve``, audited); a refusal shows the page again with
    its reason (409): not over yet, not the next in order, already locked."""
    raw = (request.args.get("period") or request.form.get("period") or "").strip()[:40]
    try:
        with writing() as (session, me):
            cal = ledger.calendar(session)
            try:
                period = cal.schedule.parse(raw)
            except PayPeriodError as exc:
                raise DomainError(str(exc)) from None
            row = ledger.approve(session, cal, period, actor=me.email, now=utc_now())
            label = period.label()
            message = (
                f"Pay period {period.first} to {period.last} approved and locked "
                f"by {row.approved_by}."
            )
    except DomainError as exc:
        return _page(_me(), raw, own=False, error=exc.message, status=exc.status)
    flash(message)
    return redirect(url_for("pages.payroll_page", period=label))


def _me() -> User:
    user = current_user()
    assert user is not None
    return user


__all__ = ["approve_payroll", "approve_payroll_confirm", "my_pay_page", "payroll_page"]
