"""The shop's database besides the bulk load: the agents, a manager token, the agency's zone."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, text

from bench.conversations_data.parameters import AGENTS, MANAGER_TOKEN, TZ_NAME
from collector.auth import credentials


def add_people(engine: Engine) -> None:
    """The agents (chatters ``agent-01`` ...), a manager token and the agency's time zone."""
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO chatters (id, key, name, active, created_at) "
                "VALUES (:i, :k, :n, :a, :c)"
            ),
            [
                {"i": i, "k": f"agent-{i:02d}", "n": f"Agent {i:02d}", "a": True, "c": now}
                for i in range(1, AGENTS + 1)
            ],
        )
        conn.execute(
            text(
                "INSERT INTO api_tokens (name, role, token_hash, created_at) "
                "VALUES ('bench manager', 'manager', :h, :c)"
            ),
            {"h": credentials.token_hash(MANAGER_TOKEN), "c": now},
        )
        conn.execute(
            text(
                "INSERT INTO settings (name, scope, value, updated_at) "
                "VALUES ('agency_timezone', 'global', :z, :c)"
            ),
            {"z": TZ_NAME, "c": now},
        )
