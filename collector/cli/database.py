"""``db upgrade`` and ``db current``."""

from __future__ import annotations

import click
from sqlalchemy.exc import OperationalError

from collector.cli.context import CliState
from collector.db import migrate
from collector.http.database import db
from collector.maintenance.upgrade import upgrade as upgrade_database


@click.group("db")
def db_group() -> None:
    """Create or migrate the database."""


@db_group.command("upgrade")
@click.pass_obj
def upgrade(state: CliState) -> None:
    """Create the database or bring it to the latest schema."""
    with state.app.app_context():
        try:
            repaired = upgrade_database(db.engine)
            revision = migrate.current(db.engine)
        except OperationalError as exc:
            raise click.ClickException(f"cannot reach the database: {exc.orig}") from None
        if repaired is not None:
            for line in repaired.lines():
                click.echo(line)
            click.echo("statistics rebuilt")
        click.echo(f"database at revision {revision} ({db.engine.url.render_as_string()})")


@db_group.command("current")
@click.pass_obj
def current(state: CliState) -> None:
    """Show the database's schema revision and the latest one."""
    with state.app.app_context():
        click.echo(f"current: {migrate.current(db.engine)}  head: {migrate.head()}")


COMMANDS = [db_group]
