"""Enrolled devices, read-only, for managers and admins."""

from __future__ import annotations

from flask import Blueprint, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from collector.auth.roles import MANAGERS
from collector.db.models import Device
from collector.devices.management import device_summary
from collector.http.auth import require_token
from collector.http.database import db
from collector.http.jsonio import json_response

bp = Blueprint("devices", __name__, url_prefix="/api/v1")


@bp.get("/devices")
def list_devices() -> Response:
    session = db.session
    require_token(session, *MANAGERS)
    devices = session.scalars(
        select(Device).options(selectinload(Device.chatter)).order_by(Device.enrolled_at)
    )
    return json_response({"devices": [device_summary(d) for d in devices]})
