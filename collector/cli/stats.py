"""``stats rebuild``: the derived statistics recomputed from the raw rows."""

from __future__ import annotations

import click

from collector.cli.context import session_scope
from collector.maintenance.rebuild import rebuild_everything


@click.group("stats")
def stats_group() -> None:
    """Maintain the precomputed statistics."""


@stats_group.command("rebuild")
def rebuild_command() -> None:
    """Recompute every derived fact and rollup (chatters, conversations) from the raw rows."""
    with session_scope() as session:
        rebuild_everything(session.connection())
    click.echo("statistics rebuilt")


COMMANDS = [stats_group]
