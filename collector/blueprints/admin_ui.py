"""Admin pages: creators and chatters, enrollment tokens, devices, API tokens, settings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from collector import csrf
from collector.access import login_required

bp = Blueprint("admin_ui", __name__, url_prefix="/admin")
bp.before_request(csrf.protect)

# (endpoint, label) of every admin page, in the order the top bar shows them.
NAV: list[tuple[str, str]] = [("admin_ui.index", "Admin")]


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    return {"admin_nav": NAV}


@bp.get("/")
@login_required("admin")
def index() -> str:
    return render_template("admin/index.html")
