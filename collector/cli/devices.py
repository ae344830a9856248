"""Enrollment tokens and devices."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import BinaryIO

import click

from collector.cli.context import (
    audit,
    get_chatter,
    now,
    parse_duration,
    session_scope,
    shown_time,
)
from collector.config import public_url
from collector.db.text import count_of
from collector.devices import bulk, enrollment, keys, management
from collector.devices.management import device_summary
from collector.errors import DomainError
from collector.files import check_target, private_file


@click.command("enroll-token")
@click.argument("chatter_key")
@click.option("--ttl", default="72h", show_default=True, help="Lifetime, e.g. 30m, 72h, 7d.")
def enroll_token(chatter_key: str, ttl: str) -> None:
    """Print a single-use enrollment token for a chatter's computer (token only)."""
    lifetime = parse_duration(ttl)
    with session_scope() as session:
        chatter = get_chatter(session, chatter_key)
        try:
            token = enrollment.issue_token(session, chatter, now(), lifetime)
        except DomainError as exc:
            if exc.status == 409:  # the chatter, not the lifetime
                raise click.ClickException(str(exc)) from None
            raise click.BadParameter(str(exc), param_hint="--ttl") from None
        audit(session, "enroll_token", chatter_key, ttl=ttl)
    click.echo(token)


@click.command("enroll-tokens")
@click.option(
    "--csv",
    "source",
    required=True,
    type=click.File("rb"),
    help="The chatters: a CSV whose first row names the columns chatter (key or name), "
    "and optionally computer and ttl; - reads standard input.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the tokens' CSV here (readable by you only); default: standard output.",
)
@click.option("--force", is_flag=True, help="Replace the --out file if it exists.")
@click.option(
    "--ttl", default="72h", show_default=True, help="Lifetime of rows without a ttl: 30m, 72h, 7d."
)
@click.option(
    "--server",
    envvar="CHATTER_PUBLIC_URL",
    metavar="URL",
    help="The collector's address for the install commands in the CSV "
    "(default: $CHATTER_PUBLIC_URL; without it the CSV has no commands).",
)
def enroll_tokens(
    source: BinaryIO, out: Path | None, force: bool, ttl: str, server: str | None
) -> None:
    """Make enrollment tokens for many computers at once, from a CSV of chatters.

    All or nothing: a wrong row (unknown chatter, repeated row, bad ttl...) is named and
    no token is made.  The output is a CSV with one token per row, its expiry in UTC and
    in the agency's zone, and the install commands for Linux/macOS and Windows.
    """
    lifetime = parse_duration(ttl)
    try:
        enrollment.check_lifetime(lifetime)
    except DomainError as exc:
        raise click.BadParameter(exc.message, param_hint="--ttl") from None
    try:
        address = public_url(server or "")
    except DomainError as exc:
        raise click.BadParameter(exc.message, param_hint="--server") from None
    data = source.read(bulk.MAX_BYTES + 1)
    if out is not None:
        try:
            check_target(out, force)
        except DomainError as exc:
            raise click.BadParameter(exc.message, param_hint="--out") from None
    written = False
    try:
        with session_scope() as session:
            wanted = bulk.wanted(session, bulk.read_rows(data), lifetime)
            issued = bulk.issue(session, wanted, now())
            audit(session, "enroll_tokens", f"{len(issued)} tokens", count=len(issued), ttl=ttl)
            body = bulk.to_csv(issued, bulk.agency_zone(session), address)
            if out is not None:
                # Written before the commit: a file that cannot be written makes no token.
                with private_file(out) as partial:
                    partial.write_bytes(body)
                written = True
    except BaseException:
        if written and out is not None:
            out.unlink(missing_ok=True)  # the commit failed: the file's tokens do not exist
        raise
    if out is None:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    else:
        click.echo(f"{len(issued)} tokens written to {out}", err=True)
    if not address:
        click.echo("no --server or CHATTER_PUBLIC_URL: the CSV has no install commands", err=True)


@click.command("devices")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_devices(as_json: bool) -> None:
    """List devices with last seen time, agent version and missing slices."""
    with session_scope(write=False) as session:
        found = management.devices(session)
        rows = [device_summary(d) for d in found]
        states = [management.state(d).describe(shown_time) for d in found]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no devices yet; create a token with 'chatter-collector enroll-token CHATTER'")
        return
    header = ("DEVICE", "CHATTER", "HOST", "VERSION", "LAST SEEN", "MISSING", "STATE")
    click.echo("{:<37} {:<12} {:<16} {:<8} {:<23} {:>7}  {}".format(*header))
    for r, state in zip(rows, states, strict=True):
        click.echo(
            f"{r['device_id']:<37} {r['chatter']:<12} {r['hostname'][:16]:<16} "
            f"{r['agent_version'][:8]:<8} {shown_time(r['last_seen_at']):<23} "
            f"{r['missing_slices']:>7}  {state}"
        )


@click.command("revoke-device")
@click.argument("device_id")
def revoke_device(device_id: str) -> None:
    """Revoke a device: its next request is refused."""
    with session_scope() as session:
        device = management.find_device(session, device_id)
        management.revoke(device, now())
        audit(session, "revoke_device", device.uid)
        uid = device.uid
    click.echo(f"device {uid} revoked")


@click.command("rotate-key")
@click.argument("device_id")
def rotate_key(device_id: str) -> None:
    """Ask a device to rotate its key at its next heartbeat (its queue is kept)."""
    with session_scope() as session:
        device = management.find_device(session, device_id)
        keys.request_rotation(device, now())
        audit(session, "request_key_rotation", device.uid)
        uid = device.uid
    click.echo(f"device {uid} will rotate its key at its next heartbeat")


@click.command("withdraw-enroll-tokens")
@click.argument("chatter_key")
def withdraw_enroll_tokens(chatter_key: str) -> None:
    """End every unused enrollment token of a chatter now (a token given to the wrong
    person, a lost CSV of tokens); computers already enrolled keep working."""
    with session_scope() as session:
        chatter = get_chatter(session, chatter_key)
        count = enrollment.withdraw_chatter(session, chatter, now())
        audit(session, "withdraw_enroll_tokens", chatter.key, count=count)
    click.echo(f"{count_of(count, 'unused enrollment token')} of {chatter_key} withdrawn")


COMMANDS = [
    enroll_token,
    enroll_tokens,
    withdraw_enroll_tokens,
    list_devices,
    revoke_device,
    rotate_key,
]
