"""ChatterTrack collector: a Flask app over SQLAlchemy (SQLite or PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from collector import config
from collector.http import errors, headers, inputs, metrics
from collector.http.database import db as database

if TYPE_CHECKING:
    from collector.alerts.delivery import Policy as DeliveryPolicy
    from collector.alerts.mail import SmtpSettings


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

    database.init_app(app)

    hops = int(app.config.get("PROXY_HOPS", 0))
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops
        )

    errors.register(app)
    headers.register(app)
    metrics.register(app)
    inputs.register(app)
    from collector import api, pages

    for blueprint in (*api.BLUEPRINTS, *pages.BLUEPRINTS):
        app.register_blueprint(blueprint)
    _schedule_purge(app)
    _schedule_alerts(app)
    return app


def _schedule_purge(app: Flask) -> None:
    """The retention purge every PURGE_INTERVAL_SECONDS (0 or unset: off, as in tests)."""
    interval = float(app.config.get("PURGE_INTERVAL_SECONDS") or 0)
    if interval <= 0:
        return
    from collector.retention.schedule import PurgeScheduler

    with app.app_context():
        scheduler = PurgeScheduler(database.engine, interval)
    app.extensions["chattertrack.purge"] = scheduler
    scheduler.start()


def smtp_of(app: Flask) -> SmtpSettings:
    """The app's SMTP settings as the alerts' mailer takes them."""
    from collector.alerts.mail import SmtpSettings

    c = app.config
    return SmtpSettings(
        host=str(c.get("SMTP_HOST") or ""),
        port=int(c.get("SMTP_PORT") or 25),
        sender=str(c.get("SMTP_FROM") or ""),
        starttls=bool(c.get("SMTP_STARTTLS")),
        username=str(c.get("SMTP_USERNAME") or ""),
        password=str(c.get("SMTP_PASSWORD") or ""),
    )


def alert_policy(app: Flask) -> DeliveryPolicy:
    """How the app's alert messages are sent (the settings' part of it)."""
    from collector.alerts.delivery import Policy

    return Policy(allow_private=bool(app.config.get("ALERTS_ALLOW_PRIVATE_WEBHOOKS")))


def _schedule_alerts(app: Flask) -> None:
    """Alert evaluation and delivery every ALERTS_INTERVAL_SECONDS (0 or unset: off, as in
    tests and every command but ``serve``)."""
    interval = float(app.config.get("ALERTS_INTERVAL_SECONDS") or 0)
    if interval <= 0:
        return
    from collector.alerts.schedule import AlertScheduler

    with app.app_context():
        scheduler = AlertScheduler(database.engine, interval, smtp_of(app), alert_policy(app))
    app.extensions["chattertrack.alerts"] = scheduler
    scheduler.start()
