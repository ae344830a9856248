"""``purge``, ``chatter-export`` and ``chatter-erase``: the data lifecycle."""

from __future__ import annotations

import json
from pathlib import Path

import click

from collector import files
from collector.cli.context import actor, get_chatter, now, session_scope
from collector.db.text import count_of
from collector.errors import DomainError
from collector.retention import privacy
from collector.retention.purge import purge


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
def purge_command(dry_run: bool) -> None:
    """Delete raw slices and chatter events past their retention (rollups stay)."""
    with session_scope() as session:
        report = purge(session, now(), actor(), dry_run=dry_run)
        if report is None:
            raise click.ClickException("another process is purging now; try again later")
        if dry_run:
            session.rollback()
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"{verb} {count_of(report.slices_deleted, 'slice')} before {report.slices_before} and "
        f"{count_of(report.events_deleted, 'event')} before {report.events_before}"
    )
    if report.events_kept_as_anchors:
        click.echo(
            f"kept {count_of(report.events_kept_as_anchors, 'older event')} that later sales and "
            "reply times still depend on"
        )
    if report.reassignments_deleted:
        click.echo(
            f"{verb} {count_of(report.reassignments_deleted, 'reassignment record')} of those sales"
        )


@click.command("chatter-export")
@click.argument("key")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def chatter_export(key: str, file: Path, force: bool) -> None:
    """Write everything stored about chatter KEY to FILE as JSON ('-': standard output).

    The file is readable by its owner only, like a backup: it is personal data."""
    with session_scope(write=False) as session:
        chatter = get_chatter(session, key)
        data = privacy.export(session, chatter, now())
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if str(file) == "-":
        click.echo(text, nl=False)
        return
    try:
        files.check_target(file, force)
        with files.private_file(file) as partial:
            partial.write_text(text, encoding="utf-8")
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"wrote {file}: {count_of(len(data['slices']), 'slice')}, "
        f"{count_of(len(data['events']), 'event')}"
    )


@click.command("chatter-erase")
@click.argument("key")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def chatter_erase(key: str, yes: bool) -> None:
    """Erase chatter KEY's personal data and devices; the agency's sales totals stay."""
    with session_scope() as session:
        chatter = get_chatter(session, key)
        if not yes:
            click.confirm(
                f"Erase {key}: delete their devices, slices, activity, logins and tokens, "
                "and replace their name and key by a pseudonym? This cannot be undone",
                abort=True,
            )
        erasure = privacy.erase(session, chatter, actor(), now())
    click.echo(
        f"erased {key}: now {erasure.pseudonym}; deleted {count_of(erasure.devices, 'device')}, "
        f"{count_of(erasure.slices, 'slice')}, {count_of(erasure.logins, 'login')}, "
        f"{count_of(erasure.api_tokens, 'API token')}; sales stay credited to {erasure.pseudonym}"
    )


COMMANDS = [purge_command, chatter_export, chatter_erase]
