"""``reassign-sale``, ``sale`` and ``stats rebuild``."""

from __future__ import annotations

import json

import click

from collector import sales
from collector.cli.context import actor, now, session_scope
from collector.conversations.rebuild import rebuild as rebuild_conversations
from collector.jsonio import dumps
from collector.stats.rollups import rebuild


@click.command("reassign-sale")
@click.argument("event_id")
@click.option("--to", "chatter", metavar="CHATTER", help="Credit the sale to this chatter.")
@click.option(
    "--automatic", is_flag=True, help="Drop a reassignment: back to the attribution rules."
)
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
def reassign_sale(event_id: str, chatter: str | None, automatic: bool, reason: str) -> None:
    """Credit a PPV purchase or tip to another chatter, on the record."""
    if (chatter is None) == (not automatic):
        raise click.UsageError("give exactly one of --to CHATTER or --automatic")
    with session_scope() as session:
        try:
            result = sales.reassign(session, event_id, chatter, reason, actor(), now())
        except sales.SaleError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{event_id} is now credited to {result['credited_to'] or 'nobody (unattributed)'}")


@click.command("sale")
@click.argument("event_id")
def show_sale(event_id: str) -> None:
    """Show a sale's credit and its reassignment history (JSON)."""
    with session_scope(write=False) as session:
        try:
            body = sales.describe(session, sales.find_sale(session, event_id))
        except sales.SaleError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(json.dumps(json.loads(dumps(body)), indent=2))


@click.group("stats")
def stats_group() -> None:
    """Maintain the precomputed statistics."""


@stats_group.command("rebuild")
def rebuild_command() -> None:
    """Recompute every derived fact and rollup (chatters, conversations) from the raw rows."""
    with session_scope() as session:
        rebuild(session.connection())
        rebuild_conversations(session.connection())
    click.echo("statistics rebuilt")


COMMANDS = [reassign_sale, show_sale, stats_group]
