"""Read-only views of people and devices for managers and admins."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from collector.auth import require_token
from collector.db import db
from collector.devices import device_summary
from collector.jsonio import json_response
from collector.models import Chatter, Creator, Device

bp = Blueprint("admin", __name__, url_prefix="/api/v1")


@bp.get("/creators")
def list_creators() -> Response:
    session = db.session
    require_token(session, "admin", "manager")
    creators = session.scalars(select(Creator).order_by(Creator.key))
    return json_response(
        {"creators": [{"key": c.key, "name": c.name, "active": c.active} for c in creators]}
    )


@bp.get("/chatters")
def list_chatters() -> Response:
    session = db.session
    require_token(session, "admin", "manager")
    chatters = session.scalars(
        select(Chatter).options(selectinload(Chatter.creators)).order_by(Chatter.key)
    )
    items: list[dict[str, Any]] = [
        {
            "key": c.key,
            "name": c.name,
            "active": c.active,
            "creators": sorted(cr.key for cr in c.creators),
        }
        for c in chatters
    ]
    return json_response({"chatters": items})


@bp.get("/devices")
def list_devices() -> Response:
    session = db.session
    require_token(session, "admin", "manager")
    devices = session.scalars(
        select(Device).options(selectinload(Device.chatter)).order_by(Device.enrolled_at)
    )
    return json_response({"devices": [device_summary(d) for d in devices]})
