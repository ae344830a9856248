"""The Flask app's configuration from the environment (tests pass a mapping).

Also where the collector keeps its files, from platformdirs.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "chattertrack"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_database_url() -> str:
    path = data_dir() / "collector.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def normalise_database_url(url: str) -> str:
    # Operators write postgresql://; we ship the psycopg 3 driver.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def from_environment() -> dict[str, Any]:
    url = os.environ.get("CHATTER_DATABASE_URL") or default_database_url()
    return {
        "DATABASE_URL": normalise_database_url(url),
        # Every worker process must sign sessions with the same key: from the
        # environment, else one generated once into the data directory.
        "SECRET_KEY": os.environ.get("CHATTER_SECRET_KEY") or stored_secret_key(),
        # Session cookies only over HTTPS unless turned off (make run serves plain HTTP).
        "SESSION_COOKIE_SECURE": os.environ.get("CHATTER_SECURE_COOKIES", "1") != "0",
        # How many reverse proxies (TLS terminators) stand in front; their
        # X-Forwarded-* headers are trusted only that deep.
        "PROXY_HOPS": int(os.environ.get("CHATTER_PROXY_HOPS", "0")),
        # The retention purge runs inside every serving process this often (0: never;
        # then run ``chatter-collector purge`` from cron instead).
        "PURGE_INTERVAL_SECONDS": float(os.environ.get("CHATTER_PURGE_INTERVAL", "3600")),
    }


def stored_secret_key() -> str:
    path = data_dir() / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of several workers starting at once, one writes and the others read.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def engine_config(database_url: str) -> dict[str, Any]:
    options: dict[str, Any] = {"url": normalise_database_url(database_url)}
    if options["url"].startswith("postgresql"):
        options.update(pool_pre_ping=True, pool_size=5, max_overflow=5)
    return options
