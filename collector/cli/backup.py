"""``backup FILE`` and ``restore FILE``: the whole database, SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import click

from collector import config
from collector.cli.context import CliState
from collector.errors import DomainError
from collector.maintenance import backup as backups


def _url(state: CliState) -> str:
    return config.normalise_database_url(state.database or config.default_database_url())


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.pass_obj
def backup(state: CliState, file: Path, force: bool) -> None:
    """Write a consistent copy of the database to FILE, also while the collector runs.

    SQLite: a SQLite file; PostgreSQL: a pg_dump custom-format archive (pg_dump on PATH).
    The file holds personal data: it is created readable by its owner only.
    """
    try:
        made = backups.backup(_url(state), file, force=force)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"backup (schema revision {made.revision}) written to {made.path}, {made.size:,} bytes"
    )


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the content of a database that is not empty.")
@click.pass_obj
def restore(state: CliState, file: Path, force: bool) -> None:
    """Restore a backup FILE into the database (--database), then upgrade its schema.

    The database must be new or empty unless --force is given.  The backup may hold only
    the collector's own tables and indexes at its schema revision: a backup carrying
    anything else (a trigger, a view, a function, another table) is refused, nothing
    restored.  A new SQLite database is created readable by its owner only.
    """
    url = _url(state)
    try:
        revision = backups.restore(file, url, force=force)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"restored {file}; the database is at schema revision {revision}")


COMMANDS = [backup, restore]
