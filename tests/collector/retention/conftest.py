"""A second, empty database of the same backend: the twin that is never purged."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from collector import create_app
from tests.collector.conftest import Collector
from tests.conftest import PG_ADMIN_URL, _pg_admin_engine


@pytest.fixture
def twin_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if database_url.startswith("sqlite"):
        path = tmp_path / "twin.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template: str = request.getfixturevalue("pg_template")
    name = f"ct_twin_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def twin(twin_url: str) -> Iterator[Collector]:
    import httpx

    from collector.http.database import db

    app = create_app({"DATABASE_URL": twin_url, "TESTING": True})
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://twin.test") as http:
        yield Collector(app, http, twin_url)
    with app.app_context():
        db.engine.dispose()
