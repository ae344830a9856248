"""Creators and chatters, read-only, for managers and admins."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from collector.auth.roles import MANAGERS
from collector.db.models import Chatter, Creator
from collector.http.auth import require_token
from collector.http.database import db
from collector.http.jsonio import json_response

bp = Blueprint("people", __name__, url_prefix="/api/v1")


@bp.get("/creators")
def list_creators() -> Response:
    session = db.session
    require_token(session, *MANAGERS)
    creators = session.scalars(select(Creator).order_by(Creator.key))
    return json_response(
        {"creators": [{"key": c.key, "name": c.name, "active": c.active} for c in creators]}
    )


@bp.get("/chatters")
def list_chatters() -> Response:
    session = db.session
    require_token(session, *MANAGERS)
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
