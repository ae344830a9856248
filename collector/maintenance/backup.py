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

A backup file is untrusted input: a crafted one could carry a trigger, a view or a
function that runs later with the collector's rights.  So a restore accepts only the
objects the collector's own migrations create at the backup's schema revision.  The
expected set is computed, not listed: the migrations are run on a scratch in-memory
SQLite database up to that revision.  SQLite: the copy's ``sqlite_master`` must hold
exactly those tables and indexes (no trigger, no view).  PostgreSQL: every entry of the
archive's table of contents (``pg_restore --list``) must be of a kind a dump of our schema
holds and name one of our tables, their sequences or our indexes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

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
    known = {script.revision for script in migrate.scripts().walk_revisions()}
    if revision not in known:
        raise DomainError(
            f"{source} is at schema revision {revision}, which this collector does not know: "
            "restore it with the collector version that made it, or a newer one"
        )
    return revision


@functools.cache
def _expected_schema(revision: str) -> frozenset[tuple[str, str, str]]:
    """(type, name, table) of every table and index our migrations make up to ``revision``.

    Computed by migrating a scratch in-memory SQLite database, so it is exactly what the
    migrations create, for every revision, without a list to keep in step by hand.
    """
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as connection:
            migrate.upgrade(connection, revision)
            rows = connection.exec_driver_sql(
                "SELECT type, name, tbl_name FROM sqlite_master"
            ).all()
    finally:
        engine.dispose()
    return frozenset((str(t), str(n), str(tb)) for t, n, tb in rows)


def _refuse_unexpected(source: Path, unexpected: list[str]) -> None:
    if unexpected:
        shown = ", ".join(sorted(unexpected)[:20])
        more = f" and {len(unexpected) - 20} more" if len(unexpected) > 20 else ""
        raise DomainError(
            f"{source} holds objects the collector's schema does not: {shown}{more}; "
            "refused, nothing restored"
        )


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


# Made by SQLite itself, depending on the data (AUTOINCREMENT) or on ANALYZE.
_SQLITE_INTERNAL = {
    ("table", "sqlite_sequence"),
    ("table", "sqlite_stat1"),
    ("table", "sqlite_stat4"),
}


def _sqlite_schema_problems(copy: sqlite3.Connection, revision: str) -> list[str]:
    rows = copy.execute("SELECT type, name, tbl_name FROM sqlite_master").fetchall()
    present = {(str(t), str(n), str(tb)) for t, n, tb in rows}
    expected = _expected_schema(revision)
    problems = [
        f"{kind} {name}"
        for kind, name, table in present - expected
        if (kind, name) not in _SQLITE_INTERNAL
    ]
    problems += [f"missing {kind} {name}" for kind, name, _ in expected - present]
    return problems


def _sqlite_restore(source: Path, target: Path, force: bool) -> None:
    try:
        src = _connect(source, "ro")
        check = src.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.Error as exc:
        raise DomainError(f"{source} is not a readable SQLite backup ({exc})") from None
    with contextlib.closing(src):
        if check != "ok":
            raise DomainError(f"{source} is damaged: {check}")
        revision = _known_revision(_sqlite_revision(src), source)
        existed = target.exists()
        if existed:
            _refuse_non_empty_sqlite(target, force)
        elif not target.parent.is_dir():
            raise DomainError(f"cannot create {target}: {target.parent} is not a directory")
        if existed:
            # The checked copy goes into the existing file in one write transaction, so
            # the file keeps its identity (a collector may hold it open) and its mode.
            with tempfile.TemporaryDirectory(prefix="chattertrack-restore-") as scratch:
                copy = Path(scratch) / "restore.db"
                with contextlib.closing(_checked_copy(src, copy, source, revision)) as checked:
                    _copy_into(checked, target)
        else:
            # A new database: the checked copy (0600, like a backup) is renamed into place.
            with files.private_file(target) as partial:
                _checked_copy(src, partial, source, revision).close()


def _checked_copy(
    src: sqlite3.Connection, copy: Path, source: Path, revision: str
) -> sqlite3.Connection:
    """Copy ``src`` to ``copy`` and check the copy, which is what gets restored: a file
    changed after the first look cannot slip anything past the check."""
    try:
        checked = sqlite3.connect(copy, timeout=10)
    except sqlite3.Error as exc:
        raise DomainError(f"restore failed: {exc}; nothing restored") from None
    try:
        src.backup(checked)
        checked.execute("PRAGMA trusted_schema = OFF")
        status = checked.execute("PRAGMA quick_check").fetchone()[0]
        if status != "ok":
            raise DomainError(f"{source} is damaged: {status}")
        if _sqlite_revision(checked) != revision:
            raise DomainError(f"{source} changed while it was read; nothing restored")
        _refuse_unexpected(source, _sqlite_schema_problems(checked, revision))
    except sqlite3.Error as exc:
        checked.close()
        raise DomainError(f"{source} is not a readable SQLite backup ({exc})") from None
    except BaseException:
        checked.close()
        raise
    return checked


def _copy_into(checked: sqlite3.Connection, target: Path) -> None:
    try:
        with contextlib.closing(sqlite3.connect(target, timeout=10)) as dst:
            # One step, one write transaction on the target: all or nothing.
            checked.backup(dst)
    except sqlite3.Error as exc:
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


# Every kind of entry a pg_dump of our schema holds (tests/collector/maintenance/
# test_backup.py derives it from a real dump), with how many names follow the schema:
# a constraint or a column default is named by its table and its own name.
_PG_ENTRY_KINDS = {
    "TABLE": 1,
    "TABLE DATA": 1,
    "SEQUENCE": 1,
    "SEQUENCE OWNED BY": 1,
    "SEQUENCE SET": 1,
    "DEFAULT": 2,
    "CONSTRAINT": 2,
    "FK CONSTRAINT": 2,
    "INDEX": 1,
}
# "<id>; <catalog oid> <oid> <kind> <schema> <names...> <owner>"
_PG_ENTRY = re.compile(r"^\d+;\s+\d+\s+\d+\s+(?P<rest>.*)$")


def _pg_entry_problem(line: str, tables: set[str], indexes: set[str]) -> str | None:
    """What is wrong with one ``pg_restore --list`` line, or None if it is ours."""
    match = _PG_ENTRY.match(line)
    if match is None:
        return f"unreadable entry {line!r}"
    rest = match["rest"]
    # Longest kinds first: "SEQUENCE OWNED BY" before "SEQUENCE".
    for kind in sorted(_PG_ENTRY_KINDS, key=len, reverse=True):
        if rest.startswith(kind + " "):
            break
    else:
        return rest.rsplit(" ", 1)[0] if " " in rest else rest
    words = rest[len(kind) + 1 :].split()
    names = words[1 : 1 + _PG_ENTRY_KINDS[kind]]
    described = f"{kind} {' '.join(words[:-1])}"
    if len(names) != _PG_ENTRY_KINDS[kind]:
        return described
    name = names[0]
    if kind in ("TABLE", "TABLE DATA", "DEFAULT", "CONSTRAINT", "FK CONSTRAINT"):
        ours = name in tables
    elif kind == "INDEX":
        ours = name in indexes
    else:  # a sequence: <table>_<column>_seq, made for a serial column
        ours = name.endswith("_seq") and any(name.startswith(f"{t}_") for t in tables)
    return None if ours else described


def _pg_archive_problems(source: Path, env: dict[str, str], revision: str) -> list[str]:
    listing = _run(
        [_client("pg_restore"), "--list", str(source)],
        env,
        f"{source} is not a readable pg_dump archive",
    )
    expected = _expected_schema(revision)
    tables = {n for t, n, _ in expected if t == "table" and not n.startswith("sqlite_")}
    indexes = {n for t, n, _ in expected if t == "index" and not n.startswith("sqlite_")}
    problems = []
    for line in listing.splitlines():
        if not line.strip() or line.startswith(";"):
            continue  # the header, and entries the archive marks as not to restore
        problem = _pg_entry_problem(line, tables, indexes)
        if problem is not None:
            problems.append(problem)
    return problems


def _pg_restore(source: Path, url: URL, force: bool) -> None:
    dbname, env = _libpq(url)
    revision = _known_revision(_dump_revision(source, env), source)
    _refuse_unexpected(source, _pg_archive_problems(source, env, revision))
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
