"""Database lanes for every storage test: SQLite and a real PostgreSQL.

Each backend gets one migrated template per test session (per pytest-xdist
worker); every test then gets its own copy (a file copy for SQLite, CREATE
DATABASE ... TEMPLATE for PostgreSQL), so tests are isolated and still run the
real migrations.  A PostgreSQL copy is dropped in the background once its test
is done: DROP DATABASE waits for a checkpoint (a second or more while the
server is busy), and concurrent drops share one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import filelock
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from collector.db.engine import configure_engine
from collector.maintenance import upgrade

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get(
    "CHATTER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@contextmanager
def building_from_the_checkout() -> Iterator[None]:
    """Held while a test builds the package from this checkout.

    A build writes chattertrack.egg-info (and pip's build/) into the checkout, so two at
    once (pytest-xdist workers, or two runs) could read each other's half-written files.
    """
    key = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    # filelock, not fcntl: the agent's tests also run on Windows (.github/workflows/agent.yml).
    with filelock.FileLock(Path(tempfile.gettempdir()) / f"chattertrack-build-{key}.lock"):
        yield


def _pg_admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )


def _migrated(url: str) -> None:
    engine = create_engine(url)
    configure_engine(engine)
    upgrade.upgrade(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrated(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    try:
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the server means the lane cannot run
        where = make_url(PG_ADMIN_URL).render_as_string()
        reason = f"PostgreSQL lane not run: cannot reach {where} ({exc.__class__.__name__})"
        if IN_CI:
            pytest.fail(reason + "; under CI=true PostgreSQL is required")
        pytest.skip(reason)
    name = f"ct_template_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    _migrated(_pg_url(name))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class _Dropper:
    """Drops databases on a few background threads; ``close`` waits and reports failures."""

    def __init__(self) -> None:
        self._admin = _pg_admin_engine()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="drop-database")
        self._pending: list[Future[None]] = []

    def drop(self, name: str) -> None:
        self._pending.append(self._pool.submit(self._drop, name))

    def _drop(self, name: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._admin.dispose()
        for done in self._pending:
            done.result()  # a failed drop is reported at the end of the session


@pytest.fixture(scope="session")
def pg_dropper(pg_template: str) -> Iterator[_Dropper]:
    """Drops the copies of ``pg_template``; the template goes after them."""
    dropper = _Dropper()
    yield dropper
    dropper.close()


def _pg_url(database: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


def _add_agency(url: str) -> None:
    from tests.collector.conftest import add_agency  # the agency fixture's people

    add_agency(url)


@pytest.fixture(scope="session")
def sqlite_agency_template(sqlite_template: Path) -> Path:
    """``sqlite_template`` with the people of the ``agency`` fixture."""
    path = sqlite_template.with_name("agency.db")
    shutil.copyfile(sqlite_template, path)
    _add_agency(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_agency_template(pg_template: str) -> Iterator[str]:
    """``pg_template`` with the people of the ``agency`` fixture."""
    name = f"ct_template_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    _add_agency(_pg_url(name))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def template_copy(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str, name: str, agency: bool = False
) -> Iterator[str]:
    """A new database of ``backend`` copied from its migrated template (with the ``agency``
    fixture's people when asked), dropped after."""
    if backend == "sqlite":
        fixture = "sqlite_agency_template" if agency else "sqlite_template"
        template: Path = request.getfixturevalue(fixture)
        path = tmp_path / f"{name}.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("pg_agency_template" if agency else "pg_template")
    dropper: _Dropper = request.getfixturevalue("pg_dropper")
    database = f"ct_{name}_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}" TEMPLATE "{template_name}"'))
    admin.dispose()
    yield _pg_url(database)
    dropper.drop(database)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database of each backend: empty, or, for a test that uses the
    ``agency`` fixture (tests/collector/conftest.py), already holding its people, copied
    from a template that added them once per session rather than by four commands a test.
    """
    agency = "agency" in request.fixturenames
    with template_copy(request, tmp_path, request.param, "test", agency) as url:
        yield url
