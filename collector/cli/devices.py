"""Enrollment tokens and devices."""

from __future__ import annotations

import json

import click

from collector.cli.context import (
    audit,
    get_chatter,
    now,
    parse_duration,
    session_scope,
    shown_time,
)
from collector.devices import enrollment, keys, management
from collector.devices.management import device_summary
from collector.errors import DomainError


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


@click.command("devices")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_devices(as_json: bool) -> None:
    """List devices with last seen time, agent version and missing slices."""
    with session_scope(write=False) as session:
        rows = [device_summary(d) for d in management.devices(session)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no devices yet; create a token with 'chatter-collector enroll-token CHATTER'")
        return
    header = ("DEVICE", "CHATTER", "HOST", "VERSION", "LAST SEEN", "MISSING", "STATE")
    click.echo("{:<37} {:<12} {:<16} {:<8} {:<21} {:>7}  {}".format(*header))
    for r in rows:
        state = "revoked" if r["revoked_at"] else "active"
        click.echo(
            f"{r['device_id']:<37} {r['chatter']:<12} {r['hostname'][:16]:<16} "
            f"{r['agent_version'][:8]:<8} {shown_time(r['last_seen_at']):<21} "
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


COMMANDS = [enroll_token, list_devices, revoke_device, rotate_key]
