"""``add-user``, ``set-password`` and ``users``: dashboard accounts."""

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


@click.command("set-password")
@click.argument("email")
@click.option(
    "--must-change",
    is_flag=True,
    help="The person must choose a new password at their next login (one you gave them).",
)
def set_password(email: str, must_change: bool) -> None:
    """Give a login a new password, read from standard input; its sessions end."""
    password = _read_password()
    if not password:
        raise click.ClickException("no password given on standard input")
    with session_scope() as session:
        user = session.scalar(select(User).where(User.email == accounts.normalise_email(email)))
        if user is None:
            raise click.ClickException(f"no login {email!r} (see 'chatter-collector users')")
        accounts.set_password(user, password, must_change=must_change)
        audit(session, "set_password", user.email, must_change=must_change)  # never the password
        then = "; they choose a new one at their next login" if must_change else ""
        click.echo(f"password of {user.email} set, its sessions ended{then}")


@click.command("users")
def list_users() -> None:
    """List dashboard logins."""
    with session_scope(write=False) as session:
        for user in session.scalars(select(User).order_by(User.email)):
            chatter = f" chatter={user.chatter.key}" if user.chatter else ""
            state = "" if user.active else " (inactive)"
            state += " (must change password)" if user.must_change_password else ""
            click.echo(f"{user.email}  {user.role}{chatter}{state}")


COMMANDS = [add_user, set_password, list_users]
