"""ChatterTrack collector: a Flask app over SQLAlchemy (SQLite or PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from collector import config, errors
from collector.db import db as _db
from collector.web import headers


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    settings = config.from_environment() if test_config is None else dict(test_config)
    settings.setdefault("SESSION_COOKIE_SECURE", True)  # HTTPS only unless said otherwise
    app.config.from_mapping(settings)
    if not app.config.get("SECRET_KEY"):  # a test app without one: any secret will do
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
    )
    app.config["DATABASE_ENGINE"] = config.engine_config(app.config["DATABASE_URL"])
    # The largest body any endpoint takes; endpoints lower it for themselves.
    app.config["MAX_CONTENT_LENGTH"] = 16 << 20
    app.json.sort_keys = False  # type: ignore[attr-defined]

    _db.init_app(app)

    hops = int(app.config.get("PROXY_HOPS", 0))
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops
        )

    errors.register(app)
    headers.register(app)
    from collector.blueprints import admin, admin_ui, dashboard, ingest, meta, sales, stats
    from collector.blueprints import conversations as conversation_stats

    app.register_blueprint(meta.bp)
    app.register_blueprint(ingest.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(stats.bp)
    app.register_blueprint(conversation_stats.bp)
    app.register_blueprint(sales.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(admin_ui.bp)
    return app
