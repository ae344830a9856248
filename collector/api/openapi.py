"""The OpenAPI 3.1 description of every endpoint, with schemas from the wire structs."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from collector.alerts.lifecycle import STATES
from collector.alerts.rules import KIND_INFO, MAX_EMAILS
from collector.api.payroll import MAX_LINE
from collector.db import text
from collector.db.alert_models import AlertRule
from collector.db.models import Device, SaleReassignment, Slice
from collector.db.payroll_models import HOURS_BASES
from collector.http.jsonio import MAX_DEPTH
from collector.payroll import report, rules
from collector.presence import state as presence_state
from collector.shifts.ahead import DEFAULT_DAYS as AHEAD_DAYS
from collector.shifts.ahead import MAX_DAYS as AHEAD_MAX_DAYS
from collector.stats.fans import SORTS as FAN_SORTS
from collector.stats.periods import EARLIEST, LATEST, MAX_DAYS
from shared import events as wire_events
from shared import protocol

_REF = "#/components/schemas/{name}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(name=name)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    """The error answers of an operation; 400 (a NUL character in the path, the query or a
    header, refused before any handler runs) and 405 happen on every one."""
    reasons = {
        400: "malformed request: a bad parameter, malformed JSON, JSON nested deeper than "
        f"{MAX_DEPTH} levels, or a NUL character in the path, query or a header",
        401: "missing, unknown or invalid credentials (or clock skew for agents)",
        403: "credentials valid but not allowed (revoked device, wrong role)",
        404: "the thing named in the path does not exist",
        405: "method not allowed on this path; the Allow header lists those that are",
        409: "conflicts with the current state (stale_key: rotate with the newest key; "
        "stale_retire: an uninstall message signed before the device's last batch; "
        "device_retired: presence signed before the device's uninstall)",
        413: "body or event count too large",
        422: "the request is well-formed but invalid; details list each problem",
        429: "too soon after the last one taken (presence_too_soon); retry after Retry-After",
        503: "database busy or unreachable; retry after Retry-After",
    }
    return {str(s): _json(_ref("ErrorBody"), reasons[s]) for s in sorted({400, 405, *statuses})}


# A string parameter: the request guard refuses a NUL character in any of them (400).
_TEXT = {"type": "string", "pattern": protocol.NO_NUL}


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
                "responses": {"200": _json(listing, "the OpenAPI description"), **_errors()},
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
                "summary": (
                    "Issue a new device key (signed with the newest key; the signing key "
                    "stays valid for 24 h), or the pending one again (signed with the key "
                    "it replaced)"
                ),
                "security": _SIGNED,
                "responses": {
                    "200": _json(_ref("RotateKeyResponse"), "new key, or the pending one"),
                    **_errors(401, 403, 409, 413, 503),
                },
            }
        },
        "/api/v1/agents/retire": {
            "post": {
                "summary": (
                    "The agent is being uninstalled: the device shows as uninstalled, with "
                    "the slices it leaves unsent (a batch or presence message it signs later "
                    "clears this)"
                ),
                "security": _SIGNED,
                "requestBody": {"required": True, **_json(_ref("RetireRequest"), "")},
                "responses": {
                    "200": _json(_ref("RetireReply"), "recorded"),
                    **_errors(400, 401, 403, 409, 413, 422, 503),
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
        "/api/v1/agents/presence": {
            "post": {
                "summary": (
                    f"The agent's state now, every {protocol.PRESENCE_INTERVAL} s while it "
                    "runs; the device's newest message (by sent_at) is kept, an older or "
                    "replayed one changes nothing (stored: false); at most one a device "
                    f"every {presence_state.MIN_INTERVAL.seconds} s (429 sooner; "
                    "CHATTER_PRESENCE_MIN_INTERVAL), none signed before the device's "
                    "uninstall (409); one signed after it makes the device current again"
                ),
                "security": _SIGNED,
                "requestBody": {"required": True, **_json(_ref("Presence"), "")},
                "responses": {
                    "200": _json(_ref("PresenceReply"), "received"),
                    **_errors(400, 401, 403, 409, 413, 422, 429, 503),
                },
            }
        },
        "/api/v1/presence": {
            "get": {
                "summary": (
                    "Who is there now: every chatter's state (active, idle, paused, or "
                    "offline after 90 s without presence; several devices: the most present "
                    "one), and per creator who is scheduled now and who is online without a "
                    "shift (a team lead: their creators)"
                ),
                "responses": {
                    "200": _json(_ref("PresenceBoard"), "the board now"),
                    **_errors(401, 403, 503),
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
                            "schema": {
                                "type": "array",
                                "items": _ref("Event"),
                                "minItems": 1,
                                "maxItems": wire_events.MAX_EVENTS_PER_REQUEST,
                            }
                        },
                        # One event per line; at least one line (422), at most 10,000 (413).
                        "application/x-ndjson": {"schema": {"type": "string", "minLength": 1}},
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
                "responses": {"200": _json(listing, "creators"), **_errors(401, 403, 503)},
            }
        },
        "/api/v1/chatters": {
            "get": {
                "summary": "Chatters with their creators (manager, admin)",
                "security": _TOKEN,
                "responses": {"200": _json(listing, "chatters"), **_errors(401, 403, 503)},
            }
        },
        **_stats_paths(),
        **_conversation_paths(),
        **_attendance_paths(),
        **_sales_paths(),
        **_shift_paths(),
        "/api/v1/devices": {
            "get": {
                "summary": "Enrolled devices, last seen, missing slices, queue health",
                "security": _TOKEN,
                "responses": {"200": _json(listing, "devices"), **_errors(401, 403, 503)},
            }
        },
        **_alert_paths(),
        **_payroll_paths(),
    }


def _query(name: str, schema: dict[str, Any], required: bool = False, **more: Any) -> Any:
    return {"name": name, "in": "query", "required": required, "schema": schema, **more}


_EXPORTS = {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}
    },
}


def _stats(summary: str, *extra: dict[str, Any], path_key: bool = False) -> dict[str, Any]:
    more = (404,) if path_key else ()  # an unknown chatter
    """A stats view: the common range parameters, JSON or an export by ``format``."""
    date = {"type": "string", "format": "date", "minLength": 10, "maxLength": 10}
    days = f"between {EARLIEST} and {LATEST}; end >= start, at most {MAX_DAYS} days (else 400)"
    parameters = [
        _query("start", date, True, description=f"first local day, {days}"),
        _query("end", date, True, description=f"last local day (inclusive), {days}"),
        _query(
            "tz",
            _TEXT,
            description="IANA zone such as Europe/Paris; default the agency's.  A zone whose "
            "local midnight is not on a quarter hour in the range is refused (400)",
        ),
        _query(
            "creator",
            _TEXT,
            description="a creator's key; default all (a manager login limited to some "
            "creators: all of theirs, another one: 403); unknown: 400",
        ),
        _query(
            "compare",
            {"enum": ["true", "false", "1", "0", "yes", "no"], "default": "true"},
            description="also compute the previous period of the same length",
        ),
        _query("format", {"enum": ["json", "csv", "xlsx"], "default": "json"}),
        *extra,
    ]
    if path_key:
        parameters.append({"name": "key", "in": "path", "required": True, "schema": _TEXT})
    ok = _json({"type": "object", "additionalProperties": True}, summary)
    ok["content"].update(_EXPORTS)
    return {
        "get": {
            "summary": summary,
            "security": _TOKEN,
            "parameters": parameters,
            "responses": {"200": ok, **_errors(400, 401, 403, *more, 503)},
        }
    }


def _stats_paths() -> dict[str, Any]:
    measures = {"enum": ["revenue", "activity", "messages", "response_time"]}
    return {
        "/api/v1/stats/chatters": _stats(
            "Every chatter's metrics for local days start..end (METRICS.md)",
            _query("q", _TEXT, description="search by name or key"),
            _query("sort", {**_TEXT, "default": "name"}, description="any row field; else 400"),
            _query("order", {"enum": ["asc", "desc"], "default": "asc"}),
            _query("columns", _TEXT, description="export columns, comma-separated; unknown: 400"),
        ),
        "/api/v1/stats/chatters/{key}/daily": _stats(
            "One chatter's metrics per local day, every day present",
            _query("columns", _TEXT, description="export columns, comma-separated; unknown: 400"),
            path_key=True,
        ),
        "/api/v1/stats/chatters/{key}/breakdown": _stats(
            "One chatter's revenue by creator and by kind: ppv_revenue and tip_revenue before "
            "refunds, refunds as a positive amount to deduct, and net_revenue = ppv_revenue + "
            "tip_revenue - refunds (= total_sales of the all-chatters row); compare is ignored",
            _query("columns", _TEXT, description="export columns, comma-separated; unknown: 400"),
            path_key=True,
        ),
        "/api/v1/stats/chatters/{key}/fans": _stats(
            "One chatter's fan interactions: per fan (creator key, creator_name, fan "
            "reference) the direct messages, PPVs, spend credited to the chatter, refunds (a "
            "positive amount to deduct), median wait and last contact; mass and automated "
            "messages make no fan (METRICS.md); paged in JSON, every matching fan in an export; "
            "sort=creator sorts by creator name; compare is ignored",
            _query("q", _TEXT, description="search the fan reference (substring, any case)"),
            _query(
                "sort",
                {"enum": list(FAN_SORTS), "default": "net_revenue"},
                description="top spenders first by default; else 400",
            ),
            _query("order", {"enum": ["asc", "desc"], "default": "desc"}),
            _query("page", {"type": "integer", "minimum": 1, "default": 1}),
            _query("per_page", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
            _query("columns", _TEXT, description="export columns, comma-separated; unknown: 400"),
            path_key=True,
        ),
        "/api/v1/stats/top": _stats(
            "Chatters ranked by a measure, with shares of the total",
            _query("by", measures, description="response_time ranks the fastest first"),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10}),
        ),
        "/api/v1/stats/revenue": _stats(
            "PPV sales and tips per local day or hour",
            _query("interval", {"enum": ["day", "hour"], "default": "day"}),
            _query("chatter", _TEXT, description="one chatter's sales only"),
        ),
    }


def _conversation_paths() -> dict[str, Any]:
    """Conversation analytics: no creator; admin and manager only (a chatter, or a manager
    login limited to some creators, gets 403)."""
    limit = _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10})

    def view(summary: str, *extra: dict[str, Any]) -> dict[str, Any]:
        found = _stats(summary, *extra)
        found["get"]["parameters"] = [
            p for p in found["get"]["parameters"] if p["name"] != "creator"
        ]
        return found

    return {
        "/api/v1/stats/conversations": view(
            "Conversation analytics: key figures, breakdown, top pages and auto messages",
            _replace_description(limit, "entries of top_urls and top_auto_messages"),
        ),
        "/api/v1/stats/conversations/agents": view(
            "Agent leaderboard (rating, requests, acceptance, conversations, sales), with days"
        ),
        "/api/v1/stats/conversations/trends": view(
            "Every conversation figure per local day or hour; requests by hour of day",
            _query("interval", {"enum": ["day", "hour"], "default": "day"}),
        ),
        "/api/v1/stats/conversations/nps": view(
            "NPS distribution and feedback detail (paginated by page and per_page)",
            _query("page", {"type": "integer", "minimum": 1, "default": 1}),
            _query("per_page", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
        ),
    }


def _attendance_paths() -> dict[str, Any]:
    """Attendance and coverage (METRICS.md): admin and manager only; a manager login
    limited to some creators sees only theirs.  A chatter's own attendance and shifts
    ahead: a chatter too, their own only."""

    def view(summary: str, *extra: dict[str, Any], path_key: bool = False) -> dict[str, Any]:
        found = _stats(summary, *extra, path_key=path_key)
        found["get"]["parameters"] = [
            p for p in found["get"]["parameters"] if p["name"] != "compare"
        ]
        return found

    paging = (
        _query("page", {"type": "integer", "minimum": 1, "default": 1}),
        _query("per_page", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
    )
    ok = _json(
        {"type": "object", "additionalProperties": True},
        "chatter (key, name), tz, from and to (local days), and shifts: shift_id, day, state "
        "(scheduled or swapped), chatter, planned_chatter, creator, creator_name, zone, "
        "starts_at and ends_at (UTC), local_start and local_end (in tz), seconds, note "
        "(null when the shift is planned for a chatter the caller may not see), in_progress",
    )
    return {
        "/api/v1/stats/chatters/{key}/attendance": view(
            "One chatter's attendance, for the chatter too (their own only, else 403): the "
            "attendance view with chatter=key (shifts, the chatter's totals, days)",
            *paging,
            _query(
                "table",
                {"enum": ["shifts", "chatters", "days"], "default": "shifts"},
                description="which table an export holds",
            ),
            path_key=True,
        ),
        "/api/v1/stats/chatters/{key}/shifts": {
            "get": {
                "summary": "The shifts a chatter works from now to the end of the days-th "
                "local day of tz (today the first), a running one included, by start; "
                "cancelled days left out, days swapped to them in; for the chatter too "
                "(their own only, else 403)",
                "security": _TOKEN,
                "parameters": [
                    {"name": "key", "in": "path", "required": True, "schema": _TEXT},
                    _query(
                        "tz",
                        _TEXT,
                        description="IANA zone such as Europe/Paris; default the agency's",
                    ),
                    _query(
                        "days",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": AHEAD_MAX_DAYS,
                            "default": AHEAD_DAYS,
                        },
                    ),
                ],
                "responses": {"200": ok, **_errors(400, 401, 403, 404, 503)},
            }
        },
        "/api/v1/stats/attendance": view(
            "Shift occurrences starting in the range (late start, early leave, no-show, "
            "online, active and paused time in the shift), per-chatter totals with time "
            "outside shifts",
            _query("chatter", _TEXT, description="one chatter's shifts, with days (else 403/404)"),
            *paging,
            _query(
                "table",
                {"enum": ["shifts", "chatters", "days"], "default": "shifts"},
                description="which table an export holds (days: with chatter)",
            ),
        ),
        "/api/v1/stats/coverage": view(
            "Per creator and local hour of the day: chatters required and online, uncovered "
            "hours, of the hours already over (hours_to_come: those not judged yet)"
        ),
    }


def _payroll_paths() -> dict[str, Any]:
    """Payroll (METRICS.md "Payroll"): reads for admins, managers (a team lead only the
    chatters of their creators) and a chatter (their own pay); approving a period and
    setting a pay rule for an admin token."""
    anything = {"type": "object", "additionalProperties": True}
    period = _query(
        "period",
        {**_TEXT, "maxLength": 40},
        description="a day in the pay period (YYYY-MM-DD) or the period as first..last; "
        "default the one holding today in the agency zone; not a period of the agency's "
        "pay calendar: 400",
    )
    chatter = _query("chatter", _TEXT, description="a chatter's key (not yours: 403; unknown: 404)")

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    ok = _json(
        anything,
        "period (first, last, label, kind, time_zone, status open or locked, over, "
        "approved_at, approved_by, carries_adjustments), currency, platform_fee_basis_points, "
        "chatters (per chatter: time by kind in seconds, net_sales, hourly_pay, commission, "
        "bonus, minimum_topup, adjustments, total, and lines), totals, without_pay_rule",
    )
    shown = {**ok, "content": {**ok["content"], **_EXPORTS}}
    amount = {"type": "integer", "minimum": 0, "maximum": rules.MAX_MINOR}
    rule = {
        "type": "object",
        "required": ["chatter", "valid_from"],
        "additionalProperties": False,
        "properties": {
            "chatter": {"type": "string", "pattern": wire_events.KEY_PATTERN},
            "valid_from": {"type": "string", "format": "date"},
            "hourly_minor": {**amount, "description": "pay per hour, in minor units"},
            "hours_basis": {"enum": list(HOURS_BASES), "default": "online"},
            "commission_basis_points": {
                "type": "integer",
                "minimum": 0,
                "maximum": 10_000,
                "description": "commission on net sales, 1250 = 12.5 %",
            },
            "commission_after_fee": {"type": "boolean", "default": False},
            "bonus_minor": {**amount, "description": "per period, pro rata by days"},
            "minimum_minor": {**amount, "description": "guarantee per period, pro rata"},
        },
    }
    return {
        "/api/v1/payroll": {
            "get": {
                "summary": "A pay period's pay: per chatter and line by line (a chatter their "
                "own; a manager limited to some creators their chatters)",
                "security": _TOKEN,
                "parameters": [
                    period,
                    _query("format", {"enum": list(report.FORMATS), "default": "json"}),
                    _query(
                        "view",
                        {"enum": list(report.VIEWS), "default": "chatters"},
                        description="which table an export holds: a row per chatter or per line",
                    ),
                ],
                "responses": {"200": shown, **_errors(400, 401, 403, 503)},
            }
        },
        "/api/v1/payroll/sources": {
            "get": {
                "summary": "What one line of a chatter's pay stands on: its sales and refunds, "
                "its time by day; for an adjustment what arrived or changed since the "
                "approval before",
                "security": _TOKEN,
                "parameters": [
                    period,
                    {**chatter, "required": True},
                    _query(
                        "line",
                        {"type": "integer", "minimum": 0, "maximum": MAX_LINE},
                        True,
                        description="the line's place (from 0) in the chatter's lines of the "
                        "period's body; past the last: 404",
                    ),
                ],
                "responses": {
                    "200": _json(anything, "period, chatter, line, and what it stands on"),
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
        "/api/v1/payroll/approve": {
            "post": {
                "summary": "Approve a pay period that is over and lock it (admin; audited); "
                "409 when it is not over (period_not_over), locked already (period_locked), "
                "before the last approved (period_before_lock) or not the next "
                "(period_out_of_order)",
                "security": _TOKEN,
                "requestBody": body(
                    {
                        "type": "object",
                        "required": ["period"],
                        "additionalProperties": False,
                        "properties": {"period": {**_TEXT, "maxLength": 40}},
                    }
                ),
                "responses": {
                    "200": _json(anything, "the locked period's pay, as GET /api/v1/payroll"),
                    **_errors(400, 401, 403, 409, 413, 503),
                },
            }
        },
        "/api/v1/payroll/rules": {
            "get": {
                "summary": "Pay rules by chatter and first day (admin, manager; a manager "
                "limited to some creators their chatters)",
                "security": _TOKEN,
                "parameters": [chatter],
                "responses": {
                    "200": _json(anything, "currency and rules"),
                    **_errors(400, 401, 403, 404, 503),
                },
            },
            "post": {
                "summary": "Set a chatter's pay rule from a day on (admin; audited); a rule "
                "from that day already: 409",
                "security": _TOKEN,
                "requestBody": body(rule),
                "responses": {
                    "201": _json(anything, "the rule"),
                    **_errors(400, 401, 403, 409, 413, 422, 503),
                },
            },
        },
    }


def _replace_description(parameter: dict[str, Any], text: str) -> dict[str, Any]:
    return {**parameter, "description": text}


def _sales_paths() -> dict[str, Any]:
    sale = {"type": "object", "additionalProperties": True}
    event = {"name": "event_id", "in": "path", "required": True, "schema": _TEXT}
    body = {
        "type": "object",
        "required": ["chatter", "reason"],
        "additionalProperties": False,
        "properties": {
            "chatter": {
                "anyOf": [{"type": "string", "pattern": wire_events.KEY_PATTERN}, {"type": "null"}],
                "description": "a chatter's key (unknown: 422); null: the automatic rules",
            },
            "reason": {
                "type": "string",
                "minLength": 1,
                "maxLength": text.length(SaleReassignment.reason),
                "pattern": protocol.NO_NUL,
                "description": "why, kept in the audit trail; empty or blank: 422",
            },
        },
    }
    return {
        "/api/v1/sales/{event_id}": {
            "get": {
                "summary": "A sale, whom it is credited to, and its reassignments",
                "security": _TOKEN,
                "parameters": [event],
                "responses": {
                    "200": _json(sale, "the sale"),
                    **_errors(401, 403, 404, 422, 503),
                },
            }
        },
        "/api/v1/sales/{event_id}/reassign": {
            "post": {
                "summary": "Credit a sale to another chatter, with a reason (audited)",
                "security": _TOKEN,
                "parameters": [event],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                },
                "responses": {
                    "200": _json(sale, "the sale after reassignment"),
                    **_errors(400, 401, 403, 404, 413, 422, 503),
                },
            }
        },
    }


def _alert_rule_body(required: list[str]) -> dict[str, Any]:
    kinds = "; ".join(
        f"{k}: {i.label.lower()}, threshold in {i.unit} ({i.low}-{i.high})"
        for k, i in KIND_INFO.items()
    )
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": {
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": text.length(AlertRule.name),
                "pattern": protocol.NO_NUL,
                "description": "no control or bidirectional-override characters (else 422)",
            },
            "kind": {"enum": list(KIND_INFO), "description": kinds},
            "threshold": {
                "type": "integer",
                "minimum": 1,
                "maximum": 86400,
                "description": "checked against the kind's range (else 422)",
            },
            "creator": {
                "anyOf": [{"type": "string", "pattern": protocol.NO_NUL}, {"type": "null"}],
                "description": "a creator's key (unknown: 422); null or absent: all creators",
            },
            "enabled": {"type": "boolean", "default": True},
            "webhook_url": {
                "anyOf": [
                    {
                        "type": "string",
                        "maxLength": text.length(AlertRule.webhook_url),
                        "pattern": protocol.NO_NUL,
                    },
                    {"type": "null"},
                ],
                "description": (
                    "an http:// or https:// address (else 422) of a public host: a loopback, "
                    "private, link-local, multicast or reserved address, or localhost, is "
                    "refused (422) unless CHATTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS=1; empty or "
                    "null: none"
                ),
            },
            "emails": {
                "type": "array",
                "maxItems": MAX_EMAILS,
                "items": {"type": "string", "maxLength": 254, "pattern": protocol.NO_NUL},
                "description": "e-mail addresses (a bad one: 422)",
            },
        },
    }


def _alert_paths() -> dict[str, Any]:
    """Alert rules (admin), alerts (manager, admin; a team lead's login: their creators'
    only) and the delivery log (admin)."""
    item = {"type": "object", "additionalProperties": True}
    rule_id = {"name": "rule_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    alert_id = {"name": "alert_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    limit = _query("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100})

    def body(required: list[str]) -> dict[str, Any]:
        return {
            "required": True,
            "content": {"application/json": {"schema": _alert_rule_body(required)}},
        }

    def change(summary: str) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "security": _TOKEN,
                "parameters": [alert_id],
                "responses": {
                    "200": _json(item, "the alert after the change"),
                    **_errors(401, 403, 404, 409, 503),
                },
            }
        }

    return {
        "/api/v1/alert-rules": {
            "get": {
                "summary": "Alert rules (admin); never their webhook secrets",
                "security": _TOKEN,
                "responses": {"200": _json(item, "rules"), **_errors(401, 403, 503)},
            },
            "post": {
                "summary": "Make an alert rule (admin, audited); the answer holds its webhook "
                "secret, shown this once",
                "security": _TOKEN,
                "requestBody": body(["name", "kind", "threshold"]),
                "responses": {
                    "201": _json(item, "the rule with webhook_secret"),
                    **_errors(400, 401, 403, 413, 422, 503),
                },
            },
        },
        "/api/v1/alert-rules/{rule_id}": {
            "get": {
                "summary": "An alert rule (admin)",
                "security": _TOKEN,
                "parameters": [rule_id],
                "responses": {"200": _json(item, "the rule"), **_errors(401, 403, 404, 503)},
            },
            "patch": {
                "summary": "Change an alert rule's given fields (admin, audited)",
                "security": _TOKEN,
                "parameters": [rule_id],
                "requestBody": body([]),
                "responses": {
                    "200": _json(item, "the rule"),
                    **_errors(400, 401, 403, 404, 413, 422, 503),
                },
            },
            "delete": {
                "summary": "Delete an alert rule with its alerts and deliveries (admin, audited)",
                "security": _TOKEN,
                "parameters": [rule_id],
                "responses": {"204": {"description": "deleted"}, **_errors(401, 403, 404, 503)},
            },
        },
        "/api/v1/alert-rules/{rule_id}/rotate-secret": {
            "post": {
                "summary": "A new webhook secret for the rule, shown this once (admin, audited)",
                "security": _TOKEN,
                "parameters": [rule_id],
                "responses": {
                    "200": _json(item, "id and webhook_secret"),
                    **_errors(401, 403, 404, 503),
                },
            }
        },
        "/api/v1/alerts": {
            "get": {
                "summary": "Alerts, newest first (manager, admin; a team lead's login: their "
                "creators' only)",
                "security": _TOKEN,
                "parameters": [
                    _query(
                        "state",
                        {"enum": list(STATES), "default": "active"},
                        description="active: open or acknowledged, not resolved",
                    ),
                    _query("kind", {"enum": list(KIND_INFO)}),
                    _query("creator", _TEXT, description="a creator's key; unknown: 400"),
                    _query("chatter", _TEXT, description="a chatter's key; unknown: 400"),
                    limit,
                ],
                "responses": {"200": _json(item, "alerts"), **_errors(400, 401, 403, 503)},
            }
        },
        "/api/v1/alerts/{alert_id}": {
            "get": {
                "summary": "An alert (manager, admin)",
                "security": _TOKEN,
                "parameters": [alert_id],
                "responses": {"200": _json(item, "the alert"), **_errors(401, 403, 404, 503)},
            }
        },
        "/api/v1/alerts/{alert_id}/acknowledge": change(
            "Acknowledge an alert: someone is on it; it stays open (manager, admin; audited; "
            "already acknowledged or resolved: 409)"
        ),
        "/api/v1/alerts/{alert_id}/resolve": change(
            "Resolve an alert by hand (manager, admin; audited; already resolved: 409)"
        ),
        "/api/v1/alerts/deliveries": {
            "get": {
                "summary": "The delivery log: each webhook and e-mail with its tries (admin)",
                "security": _TOKEN,
                "parameters": [
                    _query("alert", {"type": "integer", "minimum": 1}),
                    _query("status", {"enum": ["pending", "delivered", "failed"]}),
                    limit,
                ],
                "responses": {"200": _json(item, "deliveries"), **_errors(400, 401, 403, 503)},
            }
        },
    }


def _shift_paths() -> dict[str, Any]:
    """Schedules (collector.shifts): reads take a token or a dashboard session (a team lead
    sees their creators' only); changes want a manager or admin token and are audited."""
    anything = {"type": "object", "additionalProperties": True}
    time = {"type": "string", "pattern": "^([01]?[0-9]|2[0-4]):[0-5][0-9]$"}
    day = {"type": "string", "format": "date", "minLength": 10, "maxLength": 10}
    zone = {"type": "string", "maxLength": 64, "description": "IANA zone; default the agency's"}
    weekdays = {
        "type": "string",
        "maxLength": 100,
        "description": "mon,wed / mon-fri / fri-mon / daily; for a shift, empty or null: once",
    }
    shift = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "chatter": {**_TEXT, "maxLength": 63, "description": "assigned to the creator"},
            "creator": {**_TEXT, "maxLength": 63},
            "weekdays": {"anyOf": [weekdays, {"type": "null"}]},
            "start": {**time, "description": "local HH:MM"},
            "end": {
                **time,
                "description": "local HH:MM; at or before start: the next day; equal: 422",
            },
            "zone": {"anyOf": [zone, {"type": "null"}]},
            "first_day": {**day, "description": "the day of a one-off shift"},
            "last_day": {"anyOf": [day, {"type": "null"}]},
            "note": {"anyOf": [{**_TEXT, "maxLength": 200}, {"type": "null"}]},
        },
    }
    new_shift = {**shift, "required": ["chatter", "creator", "start", "end", "first_day"]}
    exception = {
        "type": "object",
        "additionalProperties": False,
        "required": ["day"],
        "properties": {
            "day": {**day, "description": "the local day the occurrence starts"},
            "kind": {"enum": ["cancelled", "swapped"], "default": "cancelled"},
            "chatter": {**_TEXT, "description": "swapped: who works the day"},
            "with_shift": {
                "type": "integer",
                "description": "swapped: the other chatter's shift, whose day goes to this "
                "shift's chatter (two exceptions, stored together)",
            },
            "with_day": {**day, "description": "the other shift's day; default day"},
            "note": {**_TEXT, "maxLength": 200},
        },
    }
    rule = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "creator": {**_TEXT, "maxLength": 63},
            "weekdays": weekdays,
            "start": time,
            "end": {**time, "description": "equal to start: the whole day"},
            "zone": {"anyOf": [zone, {"type": "null"}]},
            "required": {"type": "integer", "minimum": 0, "maximum": 1000},
        },
    }
    new_rule = {**rule, "required": ["creator", "weekdays", "start", "end", "required"]}
    shift_id = {"name": "shift_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    rule_id = {"name": "rule_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    filters = [
        _query("creator", _TEXT, description="a creator's key (unknown: 400; not yours: 403)"),
        _query("chatter", _TEXT, description="a chatter's key (unknown: 400)"),
    ]

    def op(summary: str, ok: str, *errors: int, **more: Any) -> dict[str, Any]:
        status = more.pop("status", "200")
        return {
            "summary": summary,
            "security": _TOKEN,
            **more,
            "responses": {status: _json(anything, ok), **_errors(401, 403, *errors, 503)},
        }

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    write = (404, 409, 413, 422)
    return {
        "/api/v1/shifts": {
            "get": op(
                "Shifts with their exceptions (paged)",
                "shifts, page, per_page, total",
                parameters=[
                    *filters,
                    _query("page", {"type": "integer", "minimum": 1, "default": 1}),
                    _query(
                        "per_page",
                        {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
                    ),
                ],
            ),
            "post": op(
                "Add a weekly or one-off shift (a chatter's overlapping occurrences: 409)",
                "the shift",
                409,
                413,
                422,
                status="201",
                requestBody=body(new_shift),
            ),
        },
        "/api/v1/shifts/{shift_id}": {
            "get": op("A shift and its exceptions", "the shift", 404, parameters=[shift_id]),
            "patch": op(
                "Change some of a shift's fields (checked as a whole)",
                "the shift, and the fields changed",
                *write,
                parameters=[shift_id],
                requestBody=body(shift),
            ),
            "delete": op(
                "Delete a shift and its exceptions (to keep its history, set last_day)",
                "deleted",
                404,
                parameters=[shift_id],
            ),
        },
        "/api/v1/shifts/{shift_id}/exceptions": {
            "post": op(
                "Cancel one day of a shift or hand it to another chatter",
                "the shift",
                *write,
                status="201",
                parameters=[shift_id],
                requestBody=body(exception),
            ),
        },
        "/api/v1/shifts/{shift_id}/exceptions/{day}": {
            "delete": op(
                "Restore a day as planned",
                "the shift",
                404,
                409,
                422,
                parameters=[
                    shift_id,
                    {"name": "day", "in": "path", "required": True, "schema": day},
                ],
            ),
        },
        "/api/v1/shifts/import": {
            "post": op(
                "Import a roster CSV (README, Schedules): every row or none; bad rows are "
                "listed in details with their line (code invalid_roster)",
                "added, shifts, skipped (repeated or already stored rows)",
                409,
                413,
                422,
                status="201",
                parameters=[
                    _query("from", day, description="first day of weekly rows; default today"),
                    _query(
                        "dry_run",
                        {"enum": ["true", "false", "1", "0", "yes", "no"]},
                        description="check only (200), write nothing",
                    ),
                ],
                requestBody={
                    "required": True,
                    "content": {"text/csv": {"schema": {"type": "string", "maxLength": 1 << 20}}},
                },
            ),
        },
        "/api/v1/shifts/occurrences": {
            "get": op(
                "Occurrences overlapping local days from..to of tz (UTC and local times)",
                "occurrences",
                parameters=[
                    _query("from", day, description="default today in tz; or start"),
                    _query("to", day, description="default from + 6 days; at most 62 days; or end"),
                    _query(
                        "start",
                        day,
                        description="the same as from, as the stats endpoints name it",
                    ),
                    _query(
                        "end", day, description="the same as to, as the stats endpoints name it"
                    ),
                    _query("tz", _TEXT, description="IANA zone; default the agency's"),
                    *filters,
                    _query(
                        "cancelled",
                        {"enum": ["true", "false", "1", "0", "yes", "no"]},
                        description="include cancelled occurrences (state cancelled)",
                    ),
                ],
            ),
        },
        "/api/v1/coverage-rules": {
            "get": op("Coverage rules", "coverage_rules", parameters=filters[:1]),
            "post": op(
                "Add a coverage rule: chatters a creator needs online by weekday and time",
                "the rule",
                409,
                413,
                422,
                status="201",
                requestBody=body(new_rule),
            ),
        },
        "/api/v1/coverage-rules/{rule_id}": {
            "get": op("A coverage rule", "the rule", 404, parameters=[rule_id]),
            "patch": op(
                "Change a coverage rule",
                "the rule",
                *write,
                parameters=[rule_id],
                requestBody=body(rule),
            ),
            "delete": op("Delete a coverage rule", "deleted", 404, parameters=[rule_id]),
        },
    }


# Strings the collector stores: their maxLength is their column's (collector.db.text).
_COLUMNS = {
    ("EnrollRequest", "hostname"): Device.hostname,
    ("EnrollRequest", "platform"): Device.platform,
    ("EnrollRequest", "agent_version"): Device.agent_version,
    ("HeartbeatBatch", "agent_version"): Device.agent_version,
    ("HeartbeatBatch", "batch_id"): Slice.batch_id,
}


def _state_server_rules(components: dict[str, Any]) -> None:
    """Add to the wire schemas what the collector checks beyond decoding them."""
    for (name, prop), column in _COLUMNS.items():
        schema = components[name]["properties"][prop]
        for variant in schema.get("anyOf", [schema]):
            if variant.get("type") == "string":
                limit = text.length(column)
                if limit is not None:
                    variant["maxLength"] = min(variant.get("maxLength", limit), limit)
    batch = components["HeartbeatBatch"]["properties"]
    batch["heartbeats"]["maxItems"] = protocol.MAX_BATCH_SLICES
    batch["slice_seconds"]["anyOf"][0]["enum"] = list(protocol.ALLOWED_SLICE_SECONDS)
    beat = components["Heartbeat"]
    beat["description"] += (
        f"\n\nChecked on arrival (422): start aligned to the slice length, no older than "
        f"{protocol.MAX_SLICE_AGE.days} days and ending at most 300 s after server time; "
        f"duration 1..{protocol.MAX_SLICE_DURATION} and at most the slice length; "
        "active_seconds + paused_seconds and input_seconds at most duration; at most "
        f"{protocol.MAX_KEYSTROKES_PER_SECOND} keystrokes and "
        f"{protocol.MAX_MOUSE_EVENTS_PER_SECOND} mouse events a second; start and seq "
        "unique in the batch; the slice overlaps no slice stored before by any device of "
        "the same chatter, unless both have the same start and length (code "
        "overlapping_slices, details name both); it is not older than the retention "
        "purge's cut (code purged_period, named as heartbeats[i].start).  The input timing "
        "fields come all five or none; bursts at most one per second of the slice, "
        "keyed_bursts and gaps at most bursts, gap_ms_sum at most what the gaps can span, "
        "gap_ms_sum_sq between gap_ms_sum² / gaps and gap_ms_sum x 86 400 000 (METRICS.md, "
        '"Regular (machine-like) input").'
    )


def _presence_board() -> dict[str, Any]:
    """The schema of ``GET /api/v1/presence`` (``collector.presence.board.as_dict``)."""
    moment = {"type": ["string", "null"], "format": "date-time"}
    person = {
        "type": "object",
        "properties": {
            "chatter": {"type": "string"},
            "name": {"type": "string"},
            "state": {"enum": [*protocol.PRESENCE_STATES, "offline"]},
            "online": {"type": "boolean"},
            "last_seen": moment,
            "idle_seconds": {"type": ["integer", "null"]},
            "devices_online": {"type": "integer"},
            "scheduled_for": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["chatter", "name", "state", "online", "last_seen", "idle_seconds"],
    }
    slot = {
        "allOf": [
            _ref("PresencePerson"),
            {
                "type": "object",
                "properties": {
                    "shift_id": {"type": "integer"},
                    "starts_at": {"type": "string", "format": "date-time"},
                    "ends_at": {"type": "string", "format": "date-time"},
                    "swapped": {"type": "boolean"},
                    "missing": {"type": "boolean", "description": "scheduled now and offline"},
                },
            },
        ]
    }
    creator = {
        "type": "object",
        "properties": {
            "creator": {"type": "string"},
            "name": {"type": "string"},
            "scheduled_count": {"type": "integer"},
            "scheduled_online": {"type": "integer"},
            "scheduled_offline": {"type": "integer"},
            "scheduled": {"type": "array", "items": _ref("PresenceSlot")},
            "unscheduled_online": {"type": "array", "items": _ref("PresencePerson")},
        },
    }
    board = {
        "type": "object",
        "properties": {
            "as_of": {"type": "string", "format": "date-time"},
            "offline_after_seconds": {"type": "integer"},
            "chatters": {"type": "array", "items": _ref("PresencePerson")},
            "creators": {"type": "array", "items": _ref("PresenceCreator")},
        },
        "required": ["as_of", "chatters", "creators"],
    }
    return {
        "PresencePerson": person,
        "PresenceSlot": slot,
        "PresenceCreator": creator,
        "PresenceBoard": board,
    }


@cache
def spec() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        [
            protocol.EnrollRequest,
            protocol.EnrollResponse,
            protocol.RotateKeyResponse,
            protocol.RetireRequest,
            protocol.RetireReply,
            protocol.HeartbeatBatch,
            protocol.HeartbeatReply,
            protocol.Presence,
            protocol.PresenceReply,
            protocol.ErrorBody,
            wire_events.Event,
        ],
        ref_template=_REF,
    )
    _state_server_rules(components)
    components["Event"] = {
        "oneOf": [
            _ref(cls.__name__)
            for cls in (*wire_events.CREATOR_EVENTS, *wire_events.CONVERSATION_EVENTS)
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
    components.update(_presence_board())
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
