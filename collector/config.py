"""Configuration from the environment; tests pass a mapping instead."""

from __future__ import annotations

import os
import secrets
from typing import Any

from collector.paths import default_database_url


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
        # Sessions arrive with the dashboard; a random key means logins do
        # not survive a restart, so production must set CHATTER_SECRET_KEY.
        "SECRET_KEY": os.environ.get("CHATTER_SECRET_KEY") or secrets.token_hex(32),
        # How many reverse proxies (TLS terminators) stand in front; their
        # X-Forwarded-* headers are trusted only that deep.
        "PROXY_HOPS": int(os.environ.get("CHATTER_PROXY_HOPS", "0")),
    }


def engine_config(database_url: str) -> dict[str, Any]:
    options: dict[str, Any] = {"url": normalise_database_url(database_url)}
    if options["url"].startswith("postgresql"):
        options.update(pool_pre_ping=True, pool_size=5, max_overflow=5)
    return options
