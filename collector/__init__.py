"""ChatterTrack collector: a Flask app over SQLAlchemy (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from collector import config, errors
from collector.db import db as _db


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(config.from_environment() if test_config is None else {})
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.config.setdefault("SECRET_KEY", "dev")
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
    from collector.blueprints import admin, ingest, meta, sales, stats

    app.register_blueprint(meta.bp)
    app.register_blueprint(ingest.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(stats.bp)
    app.register_blueprint(sales.bp)
    return app
