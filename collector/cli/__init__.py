"""``chatter-collector``: the admin command line."""

from __future__ import annotations

import click

from collector.cli import (
    alerts,
    backup,
    database,
    devices,
    importer,
    payroll,
    people,
    retention,
    sales,
    server,
    settings,
    shifts,
    stats,
    tokens,
    users,
)
from collector.cli.context import CliState


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database",
    envvar="CHATTER_DATABASE_URL",
    metavar="URL",
    help="SQLAlchemy URL (default: $CHATTER_DATABASE_URL, else a SQLite file in the data dir).",
)
@click.version_option(package_name="chattertrack")
@click.pass_context
def main(ctx: click.Context, database: str | None) -> None:
    """ChatterTrack collector: people, devices, tokens, settings, import, serving."""
    ctx.obj = CliState(database)
    ctx.call_on_close(ctx.obj.close)


for module in (
    database,
    backup,
    server,
    people,
    devices,
    tokens,
    settings,
    importer,
    sales,
    stats,
    users,
    retention,
    alerts,
    shifts,
    payroll,
):
    for command in module.COMMANDS:
        main.add_command(command)
