"""Every location the agent uses, from platformdirs; CHATTER_AGENT_HOME moves them all."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import platformdirs

APP_NAME = "chattertrack"


def _base(kind: str) -> Path:
    home = os.environ.get("CHATTER_AGENT_HOME")
    if home:
        return Path(home) / kind
    finders: dict[str, Callable[..., str]] = {
        "config": platformdirs.user_config_dir,
        "data": platformdirs.user_data_dir,
        "log": platformdirs.user_log_dir,
    }
    return Path(finders[kind](APP_NAME, appauthor=False)) / "agent"


def config_dir() -> Path:
    return _base("config")


def data_dir() -> Path:
    return _base("data")


def log_dir() -> Path:
    return _base("log")


def config_file() -> Path:
    return config_dir() / "agent.json"


def credentials_file() -> Path:
    return config_dir() / "device-key.json"


def outbox_file() -> Path:
    return data_dir() / "outbox.db"


def pause_file() -> Path:
    return data_dir() / "paused-until"


def status_file() -> Path:
    return data_dir() / "status.json"


def lock_file() -> Path:
    return data_dir() / "agent.lock"


def log_file() -> Path:
    return log_dir() / "agent.log"
