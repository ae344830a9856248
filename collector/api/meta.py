"""Health and the API description."""

from __future__ import annotations

from flask import Blueprint, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from collector.api.openapi import spec
from collector.http.database import db
from collector.http.errors import error_response
from collector.http.jsonio import json_response

bp = Blueprint("meta", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return error_response(503, "database_unavailable", "the database is not reachable")
    return json_response({"status": "ok", "database": db.engine.dialect.name})


@bp.get("/api/v1/openapi.json")
def openapi() -> Response:
    return json_response(spec())
