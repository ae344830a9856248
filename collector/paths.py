"""Every filesystem location the collector uses, from platformdirs."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "chattertrack"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_database_url() -> str:
    path = data_dir() / "collector.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"
