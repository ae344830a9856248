"""``add-user``, ``set-password`` and ``users``: dashboard accounts."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from collector.agency import people
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
@click.option(
    "--creators",
    metavar="KEY,KEY",
    default="",
    help="A manager sees only these creators (a team lead); default: all.",
)
def add_user(email: str, role: str, chatter_key: str | None, creators: str) -> None:
    """Create a dashboard login; the password is read from standard input."""
    keys = _creator_keys(creators)
    password = _read_password()
    with session_scope() as session:
        chatter = get_chatter(session, chatter_key) if chatter_key else None
        user = accounts.create_user(session, email, password, role, chatter, now())
        people.set_user_creators(session, user, keys)
        limit = sorted(c.key for c in user.creators)
        audit(session, "add_user", user.email, role=role, chatter=chatter_key, creators=limit)
        click.echo(f"user {user.email} ({role}) created{_limit_shown(user)}")


@click.command("set-creators")
@click.argument("email")
@click.argument("creators", metavar="KEY,KEY", required=False, default="")
@click.option("--all", "every", is_flag=True, help="Lift the limit: every creator.")
def set_creators(email: str, creators: str, every: bool) -> None:
    """Limit a manager login to these creators (a team lead), or lift it with --all."""
    keys = _creator_keys(creators)
    if bool(keys) == every:
        raise click.UsageError("give the creators (KEY,KEY) or --all, not both or neither")
    with session_scope() as session:
        user = people.find_user(session, email)
        change = people.set_user_creators(session, user, keys)
        if change:
            audit(session, "set_user_creators", user.email, **change)
        click.echo(f"{user.email}: {'sees' if change else 'already sees'}{_limit_shown(user)}")


def _creator_keys(raw: str | None) -> list[str]:
    """KEY,KEY as keys; a value naming none (",") is refused, never read as "every"."""
    if raw is None:
        return []
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if raw.strip() and not keys:
        raise click.UsageError(f"no creator key in {raw!r}: give KEY,KEY")
    return keys


def _limit_shown(user: User) -> str:
    if user.role != "manager":
        return ""
    keys = sorted(c.key for c in user.creators)
    return f" creators={','.join(keys)}" if keys else " every creator"


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
            limit = f" creators={','.join(sorted(c.key for c in user.creators))}"
            state = "" if user.active else " (inactive)"
            state += " (must change password)" if user.must_change_password else ""
            click.echo(f"{user.email}  {user.role}{chatter}{limit if user.creators else ''}{state}")


COMMANDS = [add_user, set_password, list_users, set_creators]
