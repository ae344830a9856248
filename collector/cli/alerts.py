"""``alerts``: evaluate the rules once, send what is due, list, acknowledge, resolve."""

from __future__ import annotations

import click
from flask import current_app

from collector.alerts import delivery, lifecycle, messages
from collector.alerts.evaluate import evaluate
from collector.cli.context import CliState, actor, audit, now, session_scope, shown_time
from collector.db.alert_models import KINDS
from collector.db.text import count_of
from collector.http.database import db


@click.group("alerts")
def alerts() -> None:
    """Alert rules' evaluation and the alerts they opened (rules: Admin → Alerts, or the API)."""


@alerts.command("evaluate")
@click.option("--no-send", is_flag=True, help="Only evaluate; leave the deliveries queued.")
def evaluate_command(no_send: bool) -> None:
    """Evaluate every enabled rule once (as the scheduler does), then send due messages."""
    with session_scope() as session:
        result = evaluate(session, now())
        if result is None:
            raise click.ClickException("another process is evaluating alerts now; try again later")
        summary = result.as_dict()
    click.echo(
        f"opened {summary['opened']}, resolved {summary['resolved']}, still open "
        f"{summary['still_open']}; {count_of(summary['deliveries_queued'], 'message')} queued"
    )
    if no_send:
        return
    state = click.get_current_context().find_object(CliState)
    assert state is not None
    from collector import alert_policy, smtp_of

    with state.app.app_context():
        sent = delivery.send_due(db.engine, smtp_of(current_app), alert_policy(current_app))
    click.echo(f"sent {sent.delivered}, to retry {sent.retrying}, given up {sent.failed}")


@alerts.command("list")
@click.option(
    "--state",
    type=click.Choice(lifecycle.STATES),
    default="active",
    show_default=True,
    help="active: open or acknowledged.",
)
@click.option("--kind", type=click.Choice(KINDS))
@click.option(
    "--limit", type=click.IntRange(1, lifecycle.MAX_LIMIT), default=100, show_default=True
)
def list_command(state: str, kind: str | None, limit: int) -> None:
    """Alerts, newest first: id, state, opened, message."""
    with session_scope(write=False) as session:
        found = lifecycle.listing(session, state=state, kind=kind, limit=limit)
        lines = [
            f"{a.id}\t{messages.state(a)}\t{shown_time(a.opened_at)}\t{a.message}" for a in found
        ]
    click.echo("\n".join(lines) if lines else "no alerts")


def _change(alert_id: int, action: str) -> None:
    with session_scope() as session:
        alert = lifecycle.get(session, alert_id)
        who = actor()
        if action == "acknowledge":
            lifecycle.acknowledge(alert, who, now())
        else:
            lifecycle.resolve(alert, who, now())
        audit(session, f"alert_{action}", f"alert:{alert_id}", message=alert.message)
    click.echo(f"alert {alert_id} {action}d")


@alerts.command("ack")
@click.argument("alert_id", type=click.IntRange(1, lifecycle.MAX_ID))
def ack_command(alert_id: int) -> None:
    """Acknowledge an alert: someone is on it (it stays open until it resolves)."""
    _change(alert_id, "acknowledge")


@alerts.command("resolve")
@click.argument("alert_id", type=click.IntRange(1, lifecycle.MAX_ID))
def resolve_command(alert_id: int) -> None:
    """Resolve an alert by hand."""
    _change(alert_id, "resolve")


COMMANDS = [alerts]
