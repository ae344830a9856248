"""collector/db/liveness.py on a real PostgreSQL: a pooled connection the server closed is
replaced before a request uses it, and a live one is handed out without a round trip.

PostgreSQL only: SQLite has no server to close a connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from collector import create_app
from collector.http.database import db
from tests.collector.conftest import Collector
from tests.conftest import template_copy

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_agency(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Collector]:
    with template_copy(request, tmp_path, "postgresql", "live", agency=True) as url:
        app = create_app({"DATABASE_URL": url, "TESTING": True})
        transport = httpx.WSGITransport(app=app)
        with httpx.Client(transport=transport, base_url="http://collector.test") as http:
            yield Collector(app, http, url)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def admin(pg_agency: Collector) -> Iterator[Engine]:
    engine = create_engine(pg_agency.database_url)
    yield engine
    engine.dispose()


def _backends(admin: Engine) -> dict[int, str]:
    """The other connections to the test database: pid → when its state last changed."""
    with admin.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT pid, state_change::text FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
    return {pid: changed for pid, changed in rows}


def _terminate(admin: Engine, pids: list[int]) -> None:
    with admin.connect() as conn:
        for pid in pids:
            # With a time-out it waits until the backend has gone.
            assert conn.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid}).scalar()


def test_a_heartbeat_after_the_server_closed_every_connection_is_stored(
    pg_agency: Collector, admin: Engine
) -> None:
    """As after a database restart: no request fails for a connection the pool held."""
    agent = pg_agency.enroll("alice")
    assert agent.send(agent.slices(2)).json()["accepted"] == 2
    # Several pooled connections, all of them closed by the server.
    with pg_agency.app.app_context():
        held = [db.engine.connect() for _ in range(3)]
        for conn in held:
            conn.execute(text("SELECT 1"))
        for conn in held:
            conn.close()
    before = _backends(admin)
    assert len(before) >= 3
    _terminate(admin, list(before))

    reply = agent.send(agent.slices(2))
    assert reply.status_code == 200, reply.text
    assert reply.json()["accepted"] == 2
    with pg_agency.app.app_context():
        taken = [db.engine.connect() for _ in range(3)]
        assert [conn.execute(text("SELECT 1")).scalar() for conn in taken] == [1, 1, 1]
        for conn in taken:
            conn.close()
    assert not set(_backends(admin)) & set(before)


def test_a_live_pooled_connection_is_handed_out_without_a_query(
    pg_agency: Collector, admin: Engine
) -> None:
    with pg_agency.app.app_context():
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        (pid, changed), *others = _backends(admin).items()
        assert not others
        with db.engine.connect() as conn:
            # Checked out, nothing run yet: the server saw no ping.
            assert _backends(admin) == {pid: changed}
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() == pid
