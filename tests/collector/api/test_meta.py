"""Health and the API description: valid, covering every route, unchanged unless meant."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from openapi_spec_validator import validate

from tests.collector.conftest import Collector

# The document as served before the collector was reorganised by domain (issue 11).  A
# change to the API changes this file in the same commit, on purpose and reviewed.
DOCUMENT = Path(__file__).with_name("openapi.json")


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


def test_openapi_document_is_the_committed_one(collector: Collector) -> None:
    served = collector.http.get("/api/v1/openapi.json").content
    assert served == DOCUMENT.read_bytes()
