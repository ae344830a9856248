"""Enrolled devices, read-only, for managers and admins."""

from __future__ import annotations

from flask import Blueprint, Response

from collector.auth.roles import MANAGERS
from collector.devices import management
from collector.http.auth import require_token
from collector.http.database import db
from collector.http.jsonio import json_response

bp = Blueprint("devices", __name__, url_prefix="/api/v1")


@bp.get("/devices")
def list_devices() -> Response:
    session = db.session
    require_token(session, *MANAGERS)
    devices = management.devices(session)
    return json_response({"devices": [management.device_summary(d) for d in devices]})
