"""``settings set|unset|list``."""

from __future__ import annotations

import click

from collector.agency import settings as changes
from collector.cli.context import audit, get_chatter, session_scope
from collector.db import settings as agency_settings
from collector.errors import DomainError


@click.group("settings")
def settings_group() -> None:
    """Agency-wide or per-chatter settings; agents pick changes up from heartbeat replies."""


@settings_group.command("set")
@click.argument("name")
@click.argument("value")
@click.option("--chatter", "chatter_key", help="Set it for one chatter only.")
def set_setting(name: str, value: str, chatter_key: str | None) -> None:
    """Set NAME to VALUE."""
    with session_scope() as session:
        chatter = get_chatter(session, chatter_key) if chatter_key else None
        try:
            parsed = changes.set_value(session, name, value, chatter)
        except DomainError as exc:
            raise click.ClickException(f"{name}: {exc}") from None
        audit(session, "set_setting", name, value=str(parsed), chatter=chatter_key)
    where = f" for chatter {chatter_key}" if chatter_key else ""
    click.echo(f"{name} = {parsed}{where}")


@settings_group.command("unset")
@click.argument("name")
@click.option("--chatter", "chatter_key", help="Remove the chatter's own value.")
def unset_setting(name: str, chatter_key: str | None) -> None:
    """Return NAME to the agency value (or the default)."""
    with session_scope() as session:
        chatter = get_chatter(session, chatter_key) if chatter_key else None
        removed = changes.unset_value(session, name, chatter)
        if removed:
            audit(session, "unset_setting", name, chatter=chatter_key)
    click.echo(f"{name} {'unset' if removed else 'was not set'}")


@settings_group.command("list")
@click.option("--chatter", "chatter_key", help="Show what applies to one chatter.")
def list_settings(chatter_key: str | None) -> None:
    """Show every setting's effective value."""
    with session_scope(write=False) as session:
        chatter = get_chatter(session, chatter_key) if chatter_key else None
        values = agency_settings.effective(session, chatter.id if chatter else None)
    for name, value in values.items():
        help_text = agency_settings.DEFINITIONS[name].help
        click.echo(f"{name} = {value}\t# {help_text}")


COMMANDS = [settings_group]
