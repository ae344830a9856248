"""Backing up the collector's database and restoring it into a new one.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the whole database
in one step inside one read transaction.  In WAL mode a reader never blocks the writers,
so the collector keeps serving and ingesting, and the copy is the database as of one
moment: every write transaction (a heartbeat batch, an event batch) is wholly in it or
wholly out.  The copy is a single self-contained file (rollback journal, no -wal).

PostgreSQL: ``pg_dump`` in its custom format, which reads one snapshot of the database;
``pg_restore`` puts it back in a single transaction.  The PostgreSQL client programs
must be on PATH (same major version as the server, or newer).

A restore goes into a new or empty database only (``force`` replaces the content of a
non-empty one), checks first that the file is a ChatterTrack backup this collector
understands, and then upgrades the restored database to the newest schema.  A failed
backup or restore writes nothing: the backup is written under a temporary name and
renamed when complete; a restore is one transaction.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from collector import files
from collector.db import migrate
from collector.db.engine import configure_engine
from collector.errors import DomainError
from collector.maintenance.upgrade import upgrade

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
_CLIENT_HINT = (
    "install the PostgreSQL client programs (Debian: apt-get install postgresql-client; "
    "the same major version as the server or newer)"
)


@dataclass(frozen=True)
class Backup:
    path: Path
    revision: str
    size: int


def backup(database_url: str, target: Path, *, force: bool = False) -> Backup:
    """Write a consistent copy of the database to ``target`` (mode 0600)."""
    url = make_url(database_url)
    files.check_target(target, force)
    with files.private_file(target) as partial:
        if url.get_backend_name() == "sqlite":
            revision = _sqlite_backup(_sqlite_path(url, must_exist=True), partial)
        elif url.get_backend_name() == "postgresql":
            revision = _pg_dump(url, partial)
        else:
            raise DomainError(f"cannot back up a {url.get_backend_name()} database")
    return Backup(target, revision, target.stat().st_size)


def restore(source: Path, database_url: str, *, force: bool = False) -> str:
    """Restore ``source`` into the database; return the revision it is at afterwards."""
    url = make_url(database_url)
    kind = _backup_kind(source)
    backend = url.get_backend_name()
    if kind != backend:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise DomainError(
            f"{source} is a {names[kind]} backup: restore it into a {names[kind]} database "
            f"(--database), not into {names.get(backend, backend)}"
        )
    if kind == "sqlite":
        _sqlite_restore(source, _sqlite_path(url, must_exist=False), force)
    else:
        _pg_restore(source, url, force)
    engine = create_engine(url)
    configure_engine(engine)
    try:
        upgrade(engine)
        return migrate.current(engine) or ""
    finally:
        engine.dispose()


# -- files --------------------------------------------------------------------------------


def _backup_kind(source: Path) -> str:
    try:
        with source.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise DomainError(f"cannot read {source}: {exc.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise DomainError(
        f"{source} is not a ChatterTrack backup (neither a SQLite database nor a pg_dump "
        "custom-format archive)"
    )


def _known_revision(revision: str | None, source: Path) -> str:
    if not revision:
        raise DomainError(f"{source} is not a ChatterTrack backup (no schema revision in it)")
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    known = {script.revision for script in scripts.walk_revisions()}
    if revision not in known:
        raise DomainError(
            f"{source} is at schema revision {revision}, which this collector does not know: "
            "restore it with the collector version that made it, or a newer one"
        )
    return revision


# -- SQLite -------------------------------------------------------------------------------


def _sqlite_path(url: URL, *, must_exist: bool) -> Path:
    if not url.database or url.database == ":memory:":
        raise DomainError("a backup needs a SQLite database file, not an in-memory database")
    path = Path(url.database)
    if must_exist and not path.is_file():
        raise DomainError(f"no SQLite database at {path}")
    return path


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    # mode=rw / ro: never create a database by opening a path that does not exist.
    return sqlite3.connect(f"file:{quote(str(path))}?mode={mode}", uri=True, timeout=10)


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return str(row[0]) if row else None


def _sqlite_backup(source: Path, partial: Path) -> str:
    try:
        with contextlib.closing(_connect(source, "rw")) as src:
            if _sqlite_revision(src) is None:
                raise DomainError(f"{source} is not a ChatterTrack database")
            with contextlib.closing(sqlite3.connect(partial)) as copy:
                src.backup(copy)  # all pages in one step: one snapshot
                copy.execute("PRAGMA journal_mode=DELETE")
                revision = _sqlite_revision(copy)
    except sqlite3.Error as exc:
        raise DomainError(f"backup of {source} failed: {exc}; nothing written") from None
    assert revision is not None
    return revision


def _sqlite_restore(source: Path, target: Path, force: bool) -> None:
    try:
        src = _connect(source, "ro")
        check = src.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.Error as exc:
        raise DomainError(f"{source} is not a readable SQLite backup ({exc})") from None
    with contextlib.closing(src):
        if check != "ok":
            raise DomainError(f"{source} is damaged: {check}")
        _known_revision(_sqlite_revision(src), source)
        existed = target.exists()
        if existed:
            _refuse_non_empty_sqlite(target, force)
        elif not target.parent.is_dir():
            raise DomainError(f"cannot create {target}: {target.parent} is not a directory")
        try:
            with contextlib.closing(sqlite3.connect(target, timeout=10)) as dst:
                # One step, one write transaction on the target: all or nothing.
                src.backup(dst)
        except sqlite3.Error as exc:
            if not existed:
                target.unlink(missing_ok=True)
            raise DomainError(f"restore into {target} failed: {exc}; nothing restored") from None


def _refuse_non_empty_sqlite(target: Path, force: bool) -> None:
    try:
        with contextlib.closing(_connect(target, "ro")) as existing:
            tables = existing.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()[0]
    except sqlite3.Error as exc:
        raise DomainError(f"{target} exists and is not a SQLite database ({exc})") from None
    if tables and not force:
        raise DomainError(
            f"{target} is not empty ({tables} tables): restore into a new database, "
            "or pass --force to replace its content"
        )


# -- PostgreSQL ---------------------------------------------------------------------------


def _client(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise DomainError(f"{program} is not on PATH: {_CLIENT_HINT}")
    return found


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URL for the client programs, the password in their environment."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)  # never on a command line (process list)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise DomainError(f"{what}: {done.stderr.strip() or f'exit status {done.returncode}'}")
    return done.stdout


def _pg_dump(url: URL, partial: Path) -> str:
    dbname, env = _libpq(url)
    command = [_client("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
    _run(
        [*command, f"--file={partial}", f"--dbname={dbname}"],
        env,
        "pg_dump failed; nothing written",
    )
    revision = _dump_revision(partial, env)
    if revision is None:
        raise DomainError(f"{url.database} is not a ChatterTrack database; nothing written")
    return revision


def _dump_revision(archive: Path, env: dict[str, str]) -> str | None:
    """The alembic_version row inside a custom-format archive, read by pg_restore."""
    script = _run(
        [_client("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(archive)],
        env,
        f"{archive} is not a readable pg_dump archive",
    )
    lines = script.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and i + 1 < len(lines):
            value = lines[i + 1].strip()
            return None if value == "\\." else value
    return None


def _pg_restore(source: Path, url: URL, force: bool) -> None:
    dbname, env = _libpq(url)
    _known_revision(_dump_revision(source, env), source)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = connection.execute(
                text(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"
                )
            ).scalar_one()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip()
        raise DomainError(f"cannot reach the database to restore into: {reason}") from None
    finally:
        engine.dispose()
    if tables and not force:
        raise DomainError(
            f"the database {url.database} is not empty ({tables} tables): restore into a "
            "new database (createdb), or pass --force to replace its content"
        )
    command = [_client("pg_restore"), "--no-owner", "--no-privileges"]
    command += ["--single-transaction", "--exit-on-error", f"--dbname={dbname}"]
    if tables:
        command += ["--clean", "--if-exists"]
    _run([*command, str(source)], env, "pg_restore failed; the database is unchanged")
