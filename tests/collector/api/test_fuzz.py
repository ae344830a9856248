"""The fuzz lane: every operation of the OpenAPI document, no answer a 5xx (issue 12).

Schemathesis generates requests from the served document, in its positive mode (data the
schema allows) and its negative mode (data it forbids); our own mutations add what broke
the collector before: NUL characters, strings longer than any column, integers beyond
64 bits and JSON nested past the parser's limit, in bodies and query strings.  Requests
go to the real app over WSGI on SQLite and PostgreSQL with real credentials: a manager,
a chatter and an integration token, and an enrolled agent whose requests are signed
(``shared.signing``) over the exact body sent, so the signed routes are fuzzed past the
signature check.

Deterministic (derandomised, no example database) and bounded: CHATTER_FUZZ_EXAMPLES
examples per operation and generation mode (default 25); set it higher for a long run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode
from werkzeug.test import Client

from collector.api.openapi import spec
from collector.db.models import Chatter
from collector.devices import enrollment
from collector.http.database import db
from shared import signing
from tests.collector.conftest import Collector

EXAMPLES = int(os.environ.get("CHATTER_FUZZ_EXAMPLES", "25"))
HUGE_INTEGERS = [2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**40]
NUL_STRINGS = ["\x00", "a\x00b", "luna\x00", "\x00" * 300]


def _deep(depth: int) -> Any:
    value: Any = 1
    for i in range(depth):
        value = [value] if i % 2 else {"x": value}
    return value


# Replace one value of a JSON body (or query) by something hostile.
HOSTILE = st.one_of(
    st.sampled_from(NUL_STRINGS),
    st.integers(min_value=255, max_value=5000).map(lambda n: "x" * n),
    st.sampled_from(HUGE_INTEGERS),
    st.sampled_from([33, 40, 1000]).map(_deep),
)
# Known names and plausible values, so that generated events, sales and slices reach
# past "unknown creator" or "not a decimal amount" to the database.
KNOWN = {
    "creator": "luna",
    "chatter": "alice",
    "agent": "alice",
    "occurred_at": "2026-01-05T10:00:00Z",
    "currency": "USD",
    **dict.fromkeys(("amount", "price", "subtotal", "shipping", "tax"), "5.00"),
    "discount": "0.00",
}
# A slice the collector stores (its start is set per slice); the seq is left as generated.
SLICE = {"duration": 60, "active_seconds": 30, "input_seconds": 10, "paused_seconds": 0}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position in a JSON value (the root included)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


def _known(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: KNOWN.get(k, v) if isinstance(v, str) else _known(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_known(v) for v in value]
    return value


def _storable_slices(body: dict[str, Any]) -> dict[str, Any]:
    """A batch whose slices pass the batch rules: recent, aligned, distinct minutes."""
    base = int(time.time()) // 60 * 60 - 3600
    slices = [
        {
            **item,
            **SLICE,
            "keystrokes": 5,
            "mouse_events": 3,
            "start": dt.datetime.fromtimestamp(base - 60 * i, dt.UTC).isoformat(),
        }
        for i, item in enumerate(body["heartbeats"])
        if isinstance(item, dict)
    ]
    return {**body, "heartbeats": slices, "slice_seconds": None}


@dataclass
class Credentials:
    manager: str
    admin: str
    chatter: str
    integration: str
    key_id: str
    secret: str
    enrollment_tokens: list[str] = field(default_factory=list)


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_operation: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def _credentials(agency: Collector) -> Credentials:
    agency.cli("add-user", "boss@agency.test", "--role", "manager", input="x" * 12 + "\n")
    agent = agency.enroll("alice")
    with agency.app.app_context():
        session = db.session
        alice = session.query(Chatter).filter_by(key="alice").one()
        now = dt.datetime.now(dt.UTC)
        tokens = [
            enrollment.issue_token(session, alice, now, dt.timedelta(hours=1))
            for _ in range(EXAMPLES * 4)
        ]
        session.commit()
    return Credentials(
        manager=agency.token("manager"),
        admin=agency.token("admin"),
        chatter=agency.token("chatter", "alice"),
        integration=agency.token("integration"),
        key_id=agent.key_id,
        secret=agent.secret,
        enrollment_tokens=tokens,
    )


def _encode(case: Any) -> tuple[bytes | None, str | None]:
    """The exact body bytes to send (and sign), and their content type."""
    if case.body is None or type(case.body).__name__ == "NotSet":
        return None, None
    media = case.media_type or "application/json"
    if isinstance(case.body, bytes):
        return case.body, media
    if media == "application/x-ndjson" and isinstance(case.body, str):
        return case.body.encode("utf-8", "surrogatepass"), media
    return json.dumps(case.body).encode(), "application/json"


def _send(
    client: Client, creds: Credentials, case: Any, choice: int, tally: Tally
) -> tuple[int, str]:
    path = case.formatted_path
    body, media = _encode(case)
    headers = {k: str(v) for k, v in (case.headers or {}).items()}
    if media:
        headers["Content-Type"] = media
    security = case.operation.definition.raw.get("security", spec()["security"])
    schemes = {name for item in security for name in item}
    if "agentSignature" in schemes:
        stamp = int(time.time())
        headers.update(
            signing.signed_headers(
                creds.key_id, [creds.secret], case.method, path, stamp, body or b""
            )
        )
    elif "bearerToken" in schemes:
        right = creds.integration if path == "/api/v1/events" else creds.manager
        if case.method == "POST" and path.startswith("/api/v1/payroll/"):
            right = creds.admin  # approving a pay period and setting a pay rule
        # Mostly the token the route wants; sometimes another role's.
        token = [right, right, creds.chatter, creds.integration, creds.manager][choice % 5]
        headers["Authorization"] = f"Bearer {token}"
    reply = client.open(
        path,
        method=case.method,
        query_string=case.query or None,
        headers=headers,
        data=body,
    )
    tally.requests += 1
    tally.statuses[reply.status_code] += 1
    tally.by_operation[(f"{case.method} {case.path}", reply.status_code)] += 1
    return reply.status_code, reply.get_data()[:300].decode("utf-8", "replace")  # xlsx too


def _prepare(case: Any, creds: Credentials, mutation: tuple[int, Any, bool, bool]) -> None:
    """Steer a generated case: known names, a live enrollment token, a hostile value."""
    where, hostile, steer, in_query = mutation
    if steer and isinstance(case.body, dict | list):
        case.body = _known(case.body)
        beats = case.body.get("heartbeats") if isinstance(case.body, dict) else None
        if case.path == "/api/v1/heartbeats" and isinstance(beats, list):
            case.body = _storable_slices(case.body)
        if case.path == "/api/v1/events" and isinstance(case.body, list):
            case.body = case.body[:1]  # one bad event refuses them all: send one
    if (
        case.path == "/api/v1/agents/enroll"
        and isinstance(case.body, dict)
        and steer
        and creds.enrollment_tokens
    ):
        case.body = {**case.body, "token": creds.enrollment_tokens.pop()}
    if hostile is None:
        return
    if in_query and case.query:
        name = sorted(case.query)[where % len(case.query)]
        value = hostile if not isinstance(hostile, dict | list) else json.dumps(hostile)
        case.query = {**case.query, name: value}
    elif case.body is not None and isinstance(case.body, dict | list | str | int | float):
        positions = _paths(case.body)
        case.body = _replace(case.body, positions[where % len(positions)], hostile)


MUTATIONS = st.tuples(
    st.integers(min_value=0, max_value=10_000),
    st.one_of(st.none(), HOSTILE),
    st.booleans(),
    st.booleans(),
)


@pytest.fixture
def fuzz_app(agency: Collector) -> tuple[Flask, Credentials]:
    return agency.app, _credentials(agency)


def test_no_input_gets_a_5xx(fuzz_app: tuple[Flask, Credentials], database_url: str) -> None:
    app, creds = fuzz_app
    client = app.test_client()
    schema = schemathesis.openapi.from_dict(spec())
    tally = Tally()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(ops) for ops in spec()["paths"].values())
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate],
            )
            @given(case=strategy, mutation=MUTATIONS, choice=st.integers(0, 4))
            def fuzz(case: Any, mutation: tuple[int, Any, bool, bool], choice: int) -> None:
                _prepare(case, creds, mutation)
                status, text = _send(client, creds, case, choice, tally)
                if status >= 500:
                    tally.errors.append(
                        f"{case.method} {case.formatted_path} query={case.query!r} "
                        f"body={str(case.body)[:200]!r} -> {status} {text}"
                    )

            try:
                fuzz()
            except Unsatisfiable:
                # Nothing of this operation can break the schema (no parameters, no body).
                assert mode is GenerationMode.NEGATIVE, operation.label
    kind = database_url.split(":", 1)[0]
    statuses = dict(sorted(tally.statuses.items()))
    print(f"\nfuzz on {kind}: {tally.requests} requests, statuses {statuses}")
    for (label, status), count in sorted(tally.by_operation.items()):
        print(f"  {label} {status}: {count}")
    assert not tally.errors, "\n".join(tally.errors[:20])
    assert tally.requests >= len(operations) * EXAMPLES
