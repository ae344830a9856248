"""``stats rebuild``: the derived statistics recomputed from the raw rows."""

from __future__ import annotations

import click

from collector.cli.context import actor, session_scope
from collector.maintenance.rebuild import rebuild_everything


@click.group("stats")
def stats_group() -> None:
    """Maintain the precomputed statistics."""


@stats_group.command("rebuild")
def rebuild_command() -> None:
    """Remove overlapping slices (the first-stored of each second stays), then recompute
    every derived fact and rollup (chatters, conversations) from the raw rows."""
    with session_scope() as session:
        repaired = rebuild_everything(session.connection(), actor=actor())
    for line in repaired.lines():
        click.echo(line)
    click.echo("statistics rebuilt")


COMMANDS = [stats_group]
