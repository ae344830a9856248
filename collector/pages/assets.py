"""Browser libraries served from the collector itself: nothing loads from another site."""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, send_file
from werkzeug.wrappers import Response

from collector.pages import bp

# Name -> file under node_modules, installed by the set-up (scripts/setup-assets.sh)
# from collector/assets/package-lock.json.
VENDOR = {"chart.js": "chart.js/dist/chart.umd.min.js"}


@bp.get("/assets/<name>")
def vendor_asset(name: str) -> Response:
    if name not in VENDOR:
        abort(404)
    root = Path(current_app.config.get("ASSETS_DIR") or Path(__file__).parents[1] / "assets")
    path = root / "node_modules" / VENDOR[name]
    if not path.is_file():
        abort(404, description=f"{name} is not installed: run scripts/setup-assets.sh")
    return send_file(path, mimetype="text/javascript", max_age=3600)
