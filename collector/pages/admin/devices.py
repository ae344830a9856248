"""Admin page for devices: last seen, agent version, queue health; rotate a key, revoke."""

from __future__ import annotations

from flask import abort, render_template, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from collector.db.models import User
from collector.devices import keys, management
from collector.errors import DomainError
from collector.http.auth import login_required
from collector.http.database import db
from collector.pages.admin import Page, bp, record, submit
from shared.protocol import utc_now

DONE = ".devices_page"  # where a change lands


def _devices(error: str = "", status: int = 200) -> Page:
    session = db.session
    rows = [
        (device, management.queue_health(device.queue_health, device.last_seen_at))
        for device in management.devices(session, newest_live_first=True)
    ]
    page = render_template(
        "admin/devices.html",
        rows=rows,
        clock_warn=management.CLOCK_WARN_SECONDS,
        error=error,
    )
    return page, status


def _failed(exc: DomainError) -> Page:
    return _devices(exc.message, exc.status)


@bp.get("/devices")
@login_required("admin")
def devices_page() -> Page:
    return _devices()


@bp.post("/devices/<uid>/rotate")
@login_required("admin")
def rotate_device_key(uid: str) -> Response | Page:

    def change(session: Session, me: User) -> str:
        device = management.find_device(session, uid)
        keys.request_rotation(device, utc_now())
        record(session, me, "request_key_rotation", device.uid)
        return f"{device.hostname} will get a new key at its next heartbeat (its queue is kept)."

    return submit(change, _failed, DONE)


@bp.get("/devices/<uid>/revoke")
@login_required("admin")
def revoke_device_confirm(uid: str) -> str:
    try:
        device = management.find_device(db.session, uid)
    except DomainError as exc:
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

    def change(session: Session, me: User) -> str:
        device = management.find_device(session, uid)
        if not management.revoke(device, utc_now()):
            raise DomainError(f"{device.hostname} ({device.uid}) is already revoked", 409)
        record(session, me, "revoke_device", device.uid)
        return f"{device.hostname} revoked: its next request will be refused."

    return submit(change, _failed, DONE)
