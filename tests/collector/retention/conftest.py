"""A second, empty database of the same backend: the twin that is never purged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from collector import create_app
from collector.http.database import db
from tests.collector.conftest import Collector
from tests.conftest import template_copy


@pytest.fixture
def twin_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with template_copy(request, tmp_path, backend, "twin") as url:
        yield url


@pytest.fixture
def twin(twin_url: str) -> Iterator[Collector]:
    app = create_app({"DATABASE_URL": twin_url, "TESTING": True})
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://twin.test") as http:
        yield Collector(app, http, twin_url)
    with app.app_context():
        db.engine.dispose()
