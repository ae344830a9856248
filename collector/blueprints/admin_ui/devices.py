"""Admin page for devices: last seen, agent version, queue health; rotate a key, revoke."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from collector import device_admin
from collector.access import login_required
from collector.blueprints.admin_ui import (
    FIXABLE,
    Conflict,
    Page,
    bp,
    or_404,
    record,
    status_of,
    writing,
)
from collector.db import db
from shared.protocol import utc_now


def _devices(error: str = "", status: int = 200) -> Page:
    session = db.session
    rows = [
        (device, device_admin.queue_health(device.queue_health, device.last_seen_at))
        for device in device_admin.devices(session)
    ]
    page = render_template(
        "admin/devices.html",
        rows=rows,
        clock_warn=device_admin.CLOCK_WARN_SECONDS,
        error=error,
    )
    return page, status


@bp.get("/devices")
@login_required("admin")
def devices_page() -> Page:
    return _devices()


@bp.post("/devices/<uid>/rotate")
@login_required("admin")
def rotate_device_key(uid: str) -> Response | Page:
    try:
        with writing() as (session, me):
            device = device_admin.find_device(session, uid)
            device_admin.request_rotation(device, utc_now())
            host = device.hostname
            record(session, me, "request_key_rotation", device.uid)
    except FIXABLE as exc:
        or_404(exc)
        return _devices(str(exc), status_of(exc))
    flash(f"{host} will get a new key at its next heartbeat (its queue is kept).")
    return redirect(url_for(".devices_page"))


@bp.get("/devices/<uid>/revoke")
@login_required("admin")
def revoke_device_confirm(uid: str) -> str:
    try:
        device = device_admin.find_device(db.session, uid)
    except device_admin.DeviceError as exc:
        abort(404, description=str(exc))
    return render_template(
        "admin/confirm.html",
        title=f"Revoke {device.hostname} ({device.chatter.name})?",
        consequences=[
            f"Device {device.uid} is refused from its next request on.",
            "Its slices already stored are kept; the agent keeps its unsent queue.",
            "This cannot be undone: to track this computer again, enroll it with a new token.",
        ],
        action=url_for(".revoke_device", uid=device.uid),
        button="Revoke device",
        cancel=url_for(".devices_page"),
    )


@bp.post("/devices/<uid>/revoke")
@login_required("admin")
def revoke_device(uid: str) -> Response | Page:
    try:
        with writing() as (session, me):
            device = device_admin.find_device(session, uid)
            if not device_admin.revoke(device, utc_now()):
                raise Conflict(f"{device.hostname} ({device.uid}) is already revoked")
            host = device.hostname
            record(session, me, "revoke_device", device.uid)
    except FIXABLE as exc:
        or_404(exc)
        return _devices(str(exc), status_of(exc))
    flash(f"{host} revoked: its next request will be refused.")
    return redirect(url_for(".devices_page"))
