"""The manager's page: key figures, top chatters, revenue by day, every chatter's row.

Everything on it is the API's numbers for the same selection (``stats.reports``); the
key figures and the all-chatters table are shared with a chatter's page.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from flask import render_template, request, url_for
from sqlalchemy.orm import Session

from collector.auth.roles import MANAGERS
from collector.http.auth import current_user, login_required
from collector.http.database import db
from collector.pages import alerts, bp, page_selection, report_request, selection
from collector.pages.colours import OTHERS, SERIES, chatter_colour
from collector.pages.columns import page_columns
from collector.pages.figures import SHARED_NOTE, chart_amount, chatter_figures, partial_day
from collector.pages.formatting import cells
from collector.pages.selection import ALL_ZONES, PageSelection, creators_of
from collector.stats import present, reports
from shared.protocol import utc_now

# The all-chatters table on the stats page, in screen order; the export buttons ask
# the API for exactly these columns.
TABLE_COLUMNS = page_columns(
    present.CHATTER_COLUMNS,
    [
        ("name", "text"),
        ("total_sales", "money"),
        ("ppv_sales", "money"),
        ("tips", "money"),
        ("ppv_sent", "integer"),
        ("ppv_bought", "integer"),
        ("ppv_purchase_rate", "percent"),
        ("messages_sent", "integer"),
        ("keystrokes", "integer"),
        ("online_seconds", "duration"),
        ("active_seconds", "duration"),
        ("inactive_seconds", "duration"),
        ("regular_seconds", "duration"),
        ("avg_response_seconds", "wait"),
    ],
)
CELL_KINDS = [(name, kind) for name, _, kind in TABLE_COLUMNS[1:]]
TOP_LABELS = {
    "revenue": "Revenue",
    "activity": "Active time",
    "messages": "Messages sent",
    "response_time": "Response time",
}
TOP_FORMATS = {
    "revenue": "money",
    "activity": "duration",
    "messages": "integer",
    "response_time": "wait",
}


def _context(session: Session, req: reports.Request, sel: PageSelection) -> dict[str, Any]:
    # No median on this page: it would cost more than the rest of the page together
    # over long ranges; the API and exports offer it (METRICS.md).
    table = reports.chatters(session, req, medians=False)
    top = reports.top(session, req)
    revenue = reports.revenue(session, dataclasses.replace(req, compare=False))
    assert isinstance(table, dict) and isinstance(top, dict) and isinstance(revenue, dict)
    ids = {p.key: p.id for p in req.people}
    for row in table["chatters"]:
        row["colour"] = chatter_colour(ids.get(row["key"]) if row["key"] else None)
        # Formatted here, not cell by cell in the template: 200 rows x 13 cells.
        row["cells"] = cells(row, CELL_KINDS, req.currency)
    for item in top["items"]:
        item["colour"] = chatter_colour(ids[item["key"]])
    by = top["by"]
    slices = [
        {"label": i["name"], "value": chart_amount(i["value"]), "colour": i["colour"]}
        for i in top["items"]
    ]
    if top.get("others") is not None and chart_amount(top["others"]) > 0:
        slices.append(
            {"label": "Other chatters", "value": chart_amount(top["others"]), "colour": OTHERS}
        )
    if top.get("unattributed") is not None and chart_amount(top["unattributed"]) > 0:
        unattributed = {"label": "Unattributed", "value": chart_amount(top["unattributed"])}
        slices.append({**unattributed, "colour": chatter_colour(None)})
    shared = any(row["activity_shared"] for row in table["chatters"])
    has_activity = any(r["online_seconds"] for r in table["chatters"])
    has_sales = Decimal(table["totals"]["total_sales"]) != 0 or table["totals"]["messages_sent"]
    return {
        "sel": sel,
        "table": table,
        "top": top,
        "revenue": revenue,
        "figures": chatter_figures(table["totals"], table.get("previous_totals"), shared),
        "shared_note": SHARED_NOTE,
        "columns": TABLE_COLUMNS,
        "export_columns": ",".join(name for name, _, _ in TABLE_COLUMNS),
        "top_label": TOP_LABELS[by],
        "top_format": TOP_FORMATS[by],
        "top_labels": TOP_LABELS,
        "others_colour": OTHERS,
        "unattributed_colour": chatter_colour(None),
        "empty": not has_activity and not has_sales,
        "charts": {
            "colours": SERIES,
            "today": partial_day(sel, utc_now()),
            "top": {
                "kind": "bar" if by == "response_time" else "pie",
                "slices": slices,
                "format": TOP_FORMATS[by],
                "currency": req.currency,
            },
            "revenue": {
                "labels": [p["date"] for p in revenue["series"]],
                "ppv": [chart_amount(p["ppv"]) for p in revenue["series"]],
                "tips": [chart_amount(p["tips"]) for p in revenue["series"]],
                "currency": req.currency,
            },
        },
    }


@bp.get("/stats")
@login_required(*MANAGERS)
def stats_page() -> str:
    """The manager's page: key figures, top chatters, revenue, all chatters."""
    user = current_user()
    assert user is not None
    creators = creators_of(db.session, user)
    sel = page_selection(creators)
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
    context = _context(db.session, report_request(args), sel)
    state = {**sel.state(), **{k: v for k, v in wanted.items() if v}}

    def here(**changes: str) -> str:
        """This page with some choices changed; the others (search, order) kept."""
        merged: dict[str, Any] = {k: v for k, v in {**state, **changes}.items() if v}
        return url_for("pages.stats_page", **merged)

    return render_template(
        "stats.html",
        **context,
        creators=creators,
        presets=selection.PRESETS,
        wanted=wanted,
        zones=ALL_ZONES,
        here=here,
        open_alerts=alerts.open_alerts(user),
    )
