"""Migrations build exactly the models' schema; the API description covers every route."""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from openapi_spec_validator import validate
from sqlalchemy import create_engine

from collector import migrate
from collector.models import Base
from tests.collector.conftest import Collector


def test_migrations_match_models(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert migrate.current(engine) == migrate.head()
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_db_upgrade_is_idempotent(collector: Collector) -> None:
    first = collector.cli("db", "upgrade").output
    second = collector.cli("db", "upgrade").output
    assert f"revision {migrate.head()}" in first and first == second


def test_openapi_is_valid_and_complete(app: Flask, collector: Collector) -> None:
    spec = collector.http.get("/api/v1/openapi.json").json()
    validate(spec)
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        # The API, not the browser pages (login, dashboard).
        if rule.rule.startswith("/api/") or rule.rule == "/healthz"
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    assert routes <= documented, routes - documented


def test_healthz(collector: Collector) -> None:
    reply = collector.http.get("/healthz")
    assert reply.status_code == 200 and reply.json()["status"] == "ok"
