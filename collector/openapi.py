"""The OpenAPI 3.1 description of every endpoint, with schemas from the wire structs."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from shared import events as wire_events
from shared import protocol

_REF = "#/components/schemas/{name}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(name=name)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "malformed request",
        401: "missing, unknown or invalid credentials (or clock skew for agents)",
        403: "credentials valid but not allowed (revoked device, wrong role)",
        413: "body or event count too large",
        422: "the request is well-formed but invalid; details list each problem",
        503: "database busy or unreachable; retry after Retry-After",
    }
    return {str(s): _json(_ref("ErrorBody"), reasons[s]) for s in statuses}


_SIGNED: list[dict[str, list[str]]] = [{"agentSignature": []}]
_TOKEN: list[dict[str, list[str]]] = [{"bearerToken": []}]


def _paths() -> dict[str, Any]:
    listing = {"type": "object", "additionalProperties": True}
    return {
        "/healthz": {
            "get": {
                "summary": "Database reachable",
                "security": [],
                "responses": {"200": _json(listing, "healthy"), **_errors(503)},
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": _json(listing, "the OpenAPI description")},
            }
        },
        "/api/v1/agents/enroll": {
            "post": {
                "summary": "Exchange a single-use enrollment token for a device key",
                "security": [],
                "requestBody": {"required": True, **_json(_ref("EnrollRequest"), "")},
                "responses": {
                    "201": _json(_ref("EnrollResponse"), "enrolled"),
                    **_errors(400, 401, 403, 413, 422, 503),
                },
            }
        },
        "/api/v1/agents/rotate-key": {
            "post": {
                "summary": "Issue a new device key; older keys stay valid for 24 h",
                "security": _SIGNED,
                "responses": {
                    "200": _json(_ref("RotateKeyResponse"), "new key"),
                    **_errors(401, 403, 503),
                },
            }
        },
        "/api/v1/heartbeats": {
            "post": {
                "summary": "Store a batch of sealed slices exactly once (per device and start)",
                "security": _SIGNED,
                "requestBody": {"required": True, **_json(_ref("HeartbeatBatch"), "")},
                "responses": {
                    "200": _json(_ref("HeartbeatReply"), "stored; counts accepted and duplicates"),
                    **_errors(400, 401, 403, 413, 422, 503),
                },
            }
        },
        "/api/v1/events": {
            "post": {
                "summary": "Store up to 10,000 events (JSON array or NDJSON), idempotent by id",
                "security": _TOKEN,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"type": "array", "items": _ref("Event"), "maxItems": 10000}
                        },
                        "application/x-ndjson": {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "200": _json(_ref("EventsReply"), "stored"),
                    **_errors(400, 401, 403, 413, 422, 503),
                },
            }
        },
        "/api/v1/creators": {
            "get": {
                "summary": "Creators (manager, admin)",
                "security": _TOKEN,
                "responses": {"200": _json(listing, "creators"), **_errors(401, 403)},
            }
        },
        "/api/v1/chatters": {
            "get": {
                "summary": "Chatters with their creators (manager, admin)",
                "security": _TOKEN,
                "responses": {"200": _json(listing, "chatters"), **_errors(401, 403)},
            }
        },
        "/api/v1/stats/chatters": {
            "get": {
                "summary": "Every chatter's metrics for local days start..end (METRICS.md)",
                "security": _TOKEN,
                "parameters": [
                    {
                        "name": "start",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "format": "date"},
                    },
                    {
                        "name": "end",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "format": "date"},
                    },
                    {"name": "tz", "in": "query", "schema": {"type": "string"}},
                    {"name": "creator", "in": "query", "schema": {"type": "string"}},
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _json(listing, "one row per chatter"),
                    **_errors(400, 401, 403),
                },
            }
        },
        "/api/v1/devices": {
            "get": {
                "summary": "Enrolled devices, last seen, missing slices, queue health",
                "security": _TOKEN,
                "responses": {"200": _json(listing, "devices"), **_errors(401, 403)},
            }
        },
    }


@cache
def spec() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        [
            protocol.EnrollRequest,
            protocol.EnrollResponse,
            protocol.RotateKeyResponse,
            protocol.HeartbeatBatch,
            protocol.HeartbeatReply,
            protocol.ErrorBody,
            wire_events.Event,
        ],
        ref_template=_REF,
    )
    components["Event"] = {
        "oneOf": [
            _ref(name) for name in ("FanMessage", "MessageSent", "PpvPurchase", "Tip", "Refund")
        ],
        "discriminator": {"propertyName": "type"},
    }
    components["EventsReply"] = {
        "type": "object",
        "properties": {
            "received": {"type": "integer"},
            "accepted": {"type": "integer"},
            "duplicates": {"type": "integer"},
            "conflicts": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["received", "accepted", "duplicates", "conflicts"],
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ChatterTrack collector API",
            "version": "1",
            "description": "Agents sign requests (see README, 'Request signing'); "
            "people and integrations send 'Authorization: Bearer <token>'.",
        },
        "paths": _paths(),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerToken": {"type": "http", "scheme": "bearer"},
                "agentSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Agent-Signature",
                    "description": "v1=HMAC-SHA256 hex with X-Agent-Key and X-Agent-Timestamp",
                },
            },
        },
        "security": _TOKEN,
    }
