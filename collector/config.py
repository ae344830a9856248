"""The Flask app's configuration from the environment (tests pass a mapping).

Also where the collector keeps its files, from platformdirs.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from collector.errors import DomainError

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
        # The address chatters' computers reach the collector at, for the install commands
        # the Enrollment page and bulk enrollment write (unset: the address the admin's
        # browser used, which is wrong when IT works on the server itself).
        "PUBLIC_URL": public_url(os.environ.get("CHATTER_PUBLIC_URL", "")),
        # The folder of agent bundles and install scripts served at /agent/downloads/
        # (collector.devices.downloads); `make agent-dist` fills dist/ with them.
        "AGENT_DOWNLOADS": os.environ.get("CHATTER_AGENT_DOWNLOADS")
        or str(data_dir() / "agent-downloads"),
        # Where the processes of this host share the downloads' SHA-256 sums (unset: a
        # folder of this user's in the temporary directory).
        "AGENT_DOWNLOADS_CACHE": os.environ.get("CHATTER_AGENT_DOWNLOADS_CACHE") or None,
        # Alert rules are evaluated, and due alert messages sent, inside every serving
        # process this often (0: never; then run ``chatter-collector alerts evaluate``).
        "ALERTS_INTERVAL_SECONDS": float(os.environ.get("CHATTER_ALERTS_INTERVAL", "60")),
        # The least time between two presence messages of one device the collector takes
        # (a sooner one is refused, 429); the agent sends one every 30 s.
        "PRESENCE_MIN_INTERVAL_SECONDS": float(
            os.environ.get("CHATTER_PRESENCE_MIN_INTERVAL", "15")
        ),
        # Alert webhooks may go to loopback, private and other non-public addresses (off:
        # only public ones, README "Alerts"; on: a receiver on the agency's own network).
        "ALERTS_ALLOW_PRIVATE_WEBHOOKS": os.environ.get(
            "CHATTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS", "0"
        )
        .strip()
        .lower()
        in ("1", "true", "yes"),
        **smtp_settings(os.environ),
    }


def smtp_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The SMTP server alert e-mails go through (README, "Alerts"); unset host: none."""
    raw_port = env.get("CHATTER_SMTP_PORT", "") or "25"
    if not re.fullmatch("[0-9]{1,5}", raw_port) or not 0 < int(raw_port) < 65536:
        raise DomainError(f"CHATTER_SMTP_PORT={raw_port!r} is not a port number (1-65535)")
    starttls = env.get("CHATTER_SMTP_STARTTLS", "0").strip().lower()
    if starttls not in ("0", "1", "true", "false", "yes", "no", ""):
        raise DomainError(f"CHATTER_SMTP_STARTTLS={starttls!r}: use 1 or 0")
    return {
        "SMTP_HOST": env.get("CHATTER_SMTP_HOST", "").strip(),
        "SMTP_PORT": int(raw_port),
        "SMTP_FROM": env.get("CHATTER_SMTP_FROM", "").strip(),
        "SMTP_STARTTLS": starttls in ("1", "true", "yes"),
        "SMTP_USERNAME": env.get("CHATTER_SMTP_USERNAME", ""),
        "SMTP_PASSWORD": env.get("CHATTER_SMTP_PASSWORD", ""),
    }


def public_url(value: str) -> str:
    """``CHATTER_PUBLIC_URL`` checked and without its trailing slash ("" when unset).

    It is pasted into shell and PowerShell commands, so only a plain http(s) address of
    a host, with an optional port and path, is taken.
    """
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # not a number, or out of range
        port_ok = False
    plain = all(
        (ch.isascii() and ch.isalnum()) or ch in "-._~:/[]%" for ch in value.partition("://")[2]
    )
    if (
        parts.scheme not in ("http", "https")
        or not port_ok
        or not parts.hostname
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
        or not plain
    ):
        raise DomainError(
            f"CHATTER_PUBLIC_URL={value!r} is not an address such as "
            "https://track.example-agency.com (http or https, a host, an optional port and "
            "path; no user, query or spaces)"
        )
    return value.rstrip("/")


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
        # No pool_pre_ping: a round trip per checkout; db/liveness.py checks without one.
        options.update(pool_size=5, max_overflow=5)
    return options
