"""``reassign-sale`` and ``sale``: a sale's credit, and moving it on the record."""

from __future__ import annotations

import json

import click

from collector.agency import sales
from collector.cli.context import actor, now, session_scope
from collector.http.jsonio import dumps


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
        result = sales.reassign(session, event_id, chatter, reason, actor(), now())
    click.echo(f"{event_id} is now credited to {result['credited_to'] or 'nobody (unattributed)'}")


@click.command("sale")
@click.argument("event_id")
def show_sale(event_id: str) -> None:
    """Show a sale's credit and its reassignment history (JSON)."""
    with session_scope(write=False) as session:
        body = sales.describe(session, sales.find_sale(session, event_id))
        click.echo(json.dumps(json.loads(dumps(body)), indent=2))


COMMANDS = [reassign_sale, show_sale]
