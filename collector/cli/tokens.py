"""API tokens for people and integrations."""

from __future__ import annotations

import click
from sqlalchemy import select

from collector.auth import tokens
from collector.auth.roles import TOKEN_ROLES
from collector.cli.context import audit, get_chatter, now, session_scope, shown_time
from collector.db.models import ApiToken


@click.command("api-token")
@click.argument("name")
@click.option(
    "--role", required=True, type=click.Choice(TOKEN_ROLES), help="What the token may do."
)
@click.option("--chatter", "chatter_key", help="The chatter a chatter token belongs to.")
def api_token(name: str, role: str, chatter_key: str | None) -> None:
    """Print a new bearer token (shown once; stored hashed)."""
    if role == "chatter" and not chatter_key:
        raise click.UsageError("a chatter token needs --chatter KEY")
    if role != "chatter" and chatter_key:
        raise click.UsageError("--chatter only goes with --role chatter")
    with session_scope() as session:
        chatter = get_chatter(session, chatter_key) if chatter_key else None
        _row, token = tokens.create(session, name, role, chatter, now())
        audit(session, "api_token", name, role=role, chatter=chatter_key)
    click.echo(token)


@click.command("api-tokens")
def list_tokens() -> None:
    """List API tokens (never the tokens themselves), with when each was last used."""
    with session_scope(write=False) as session:
        for t in session.scalars(select(ApiToken).order_by(ApiToken.id)):
            state = "revoked" if t.revoked_at else "active"
            used = shown_time(t.last_used_at)
            click.echo(f"{t.id}\t{t.name}\t{t.role}\t{state}\tlast used: {used}")


@click.command("revoke-token")
@click.argument("token_id", type=int)
def revoke_token(token_id: int) -> None:
    """Revoke an API token by the id shown in 'api-tokens'."""
    with session_scope() as session:
        row = tokens.revoke(session, token_id, now())
        audit(session, "revoke_token", row.name, id=token_id)
    click.echo(f"token {token_id} revoked")


COMMANDS = [api_token, list_tokens, revoke_token]
