"""``add-user`` and ``users``: dashboard accounts."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from collector.auth import accounts
from collector.auth.roles import LOGIN_ROLES
from collector.cli.context import audit, get_chatter, now, session_scope
from collector.db.models import User


def _read_password() -> str:
    """From standard input: typed twice at a terminal, else the first line of a pipe."""
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@click.command("add-user")
@click.argument("email")
@click.option("--role", type=click.Choice(LOGIN_ROLES), required=True)
@click.option("--chatter", "chatter_key", metavar="KEY", help="The chatter a chatter user is.")
def add_user(email: str, role: str, chatter_key: str | None) -> None:
    """Create a dashboard login; the password is read from standard input."""
    password = _read_password()
    with session_scope() as session:
        chatter = get_chatter(session, chatter_key) if chatter_key else None
        user = accounts.create_user(session, email, password, role, chatter, now())
        audit(session, "add_user", user.email, role=role, chatter=chatter_key)
        click.echo(f"user {user.email} ({role}) created")


@click.command("users")
def list_users() -> None:
    """List dashboard logins."""
    with session_scope(write=False) as session:
        for user in session.scalars(select(User).order_by(User.email)):
            chatter = f" chatter={user.chatter.key}" if user.chatter else ""
            state = "" if user.active else " (inactive)"
            click.echo(f"{user.email}  {user.role}{chatter}{state}")


COMMANDS = [add_user, list_users]
