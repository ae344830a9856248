"""Creators and chatters."""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from collector.agency import people
from collector.cli.context import audit, check_key, now, session_scope
from collector.db.models import Chatter, Creator


@click.command("add-creator")
@click.argument("key", callback=check_key)
@click.option("--name", required=True, help="Display name.")
def add_creator(key: str, name: str) -> None:
    """Add a creator with a unique KEY."""
    with session_scope() as session:
        creator = people.add_creator(session, key, name, now())
        audit(session, "add_creator", key, name=creator.name)
    click.echo(f"creator {key} added")


@click.command("add-chatter")
@click.argument("key", callback=check_key)
@click.option("--name", required=True, help="Display name.")
@click.option("--creator", "creators", multiple=True, help="Creator KEY (repeatable).")
def add_chatter(key: str, name: str, creators: tuple[str, ...]) -> None:
    """Add a chatter with a unique KEY, assigned to creators."""
    with session_scope() as session:
        chatter = people.add_chatter(session, key, name, creators, now())
        assigned = [c.key for c in chatter.creators]
        audit(session, "add_chatter", key, name=chatter.name, creators=assigned)
    click.echo(f"chatter {key} added")


@click.command("creators")
def list_creators() -> None:
    """List creators."""
    with session_scope(write=False) as session:
        for c in session.scalars(select(Creator).order_by(Creator.key)):
            click.echo("\t".join([c.key, c.name] + ([] if c.active else ["(inactive)"])))


@click.command("chatters")
def list_chatters() -> None:
    """List chatters and their creators."""
    with session_scope(write=False) as session:
        query = select(Chatter).options(selectinload(Chatter.creators)).order_by(Chatter.key)
        for c in session.scalars(query):
            creators = ",".join(sorted(cr.key for cr in c.creators)) or "-"
            click.echo("\t".join([c.key, c.name, creators] + ([] if c.active else ["(inactive)"])))


COMMANDS = [add_creator, add_chatter, list_creators, list_chatters]
