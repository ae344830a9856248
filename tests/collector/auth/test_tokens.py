"""API tokens record their last use: every use counts, at most one write a minute."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, select, update

from collector.auth import tokens
from collector.db.engine import configure_engine, write_transaction
from collector.db.models import ApiToken
from collector.http.database import db
from shared.protocol import utc_now
from tests.collector.auth.test_accounts import login
from tests.collector.conftest import Collector
from tests.collector.ingest.test_events import ev


@contextmanager
def counted_updates(engine: Engine) -> Iterator[list[str]]:
    """The UPDATE statements on api_tokens that ``engine`` runs inside the block."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def last_used(collector: Collector, name_prefix: str) -> dt.datetime | None:
    engine = create_engine(collector.database_url)
    with engine.connect() as conn:
        row = conn.execute(
            select(ApiToken.last_used_at).where(ApiToken.name.startswith(name_prefix))
        ).one()
    engine.dispose()
    return row[0]


def set_last_used(collector: Collector, value: dt.datetime | None) -> None:
    engine = create_engine(collector.database_url)
    with engine.begin() as conn:
        conn.execute(update(ApiToken).values(last_used_at=value))
    engine.dispose()


def test_thirty_reads_record_the_use_with_one_write(agency: Collector) -> None:
    token = agency.token("manager")
    headers = {"Authorization": f"Bearer {token}"}
    assert last_used(agency, "manager-") is None
    with agency.app.app_context():
        engine = db.engine
    started = utc_now()
    with counted_updates(engine) as updates:
        for _ in range(30):
            assert agency.http.get("/api/v1/chatters", headers=headers).status_code == 200
    used = last_used(agency, "manager-")
    assert used is not None and started - dt.timedelta(seconds=1) <= used <= utc_now()
    assert len(updates) == 1, updates  # the first read wrote; 29 within the minute did not

    # A minute later the next read moves it again, once.
    set_last_used(agency, utc_now() - dt.timedelta(seconds=61))
    with counted_updates(engine) as updates:
        for _ in range(2):
            assert agency.http.get("/api/v1/chatters", headers=headers).status_code == 200
    assert len(updates) == 1
    moved = last_used(agency, "manager-")
    assert moved is not None and moved >= used


def test_every_kind_of_request_counts(agency: Collector, integration: str) -> None:
    chatter = agency.token("chatter", "alice")
    reply = agency.http.get(  # a stats read by a chatter token
        "/api/v1/stats/chatters/alice/daily?start=2026-01-01&end=2026-01-02",
        headers={"Authorization": f"Bearer {chatter}"},
    )
    assert reply.status_code == 200, reply.text
    assert last_used(agency, "chatter-") is not None
    # A write (ingest), whose transaction held SQLite's write lock: recorded after it.
    tip = ev("k1", "tip", fan="f1", chatter="alice", amount="1.00")
    assert agency.post_events([tip], integration).status_code == 200
    assert last_used(agency, "integration-") is not None
    # A refused use counts too, though the request's own transaction was rolled back.
    manager = agency.token("manager")
    refused = agency.http.post(
        "/api/v1/events", json={"events": [tip]}, headers={"Authorization": f"Bearer {manager}"}
    )
    assert refused.status_code == 403
    assert last_used(agency, "manager-") is not None


def test_processes_that_saw_the_same_stale_value_write_once(agency: Collector) -> None:
    """The condition is in the UPDATE: a second process holding the stale row changes
    nothing once the first wrote."""
    agency.token("manager")
    stale = utc_now() - dt.timedelta(minutes=5)
    set_last_used(agency, stale)
    first, second = utc_now(), utc_now() + dt.timedelta(seconds=10)
    engine = create_engine(agency.database_url)
    configure_engine(engine)
    with engine.connect() as conn:
        token_id = conn.execute(select(ApiToken.id)).scalar_one()
    assert tokens.record_use(engine, tokens.Use(token_id, first))
    assert not tokens.record_use(engine, tokens.Use(token_id, second))  # saw it stale too
    engine.dispose()
    assert last_used(agency, "manager-") == first


def test_a_busy_database_skips_the_write_instead_of_waiting(agency: Collector) -> None:
    """Another transaction holds the lock the write needs: the use is not recorded (a
    later one will be), and nothing waits for the lock (which this one never frees)."""
    agency.token("manager")
    engine = create_engine(agency.database_url)
    configure_engine(engine)
    with engine.connect() as holder:
        with write_transaction(holder):
            token_id = holder.execute(select(ApiToken.id)).scalar_one()
            # SQLite: the write lock itself; PostgreSQL: the token's row.
            holder.execute(update(ApiToken).values(last_used_at=None))
            assert not tokens.record_use(engine, tokens.Use(token_id, utc_now()))
    assert tokens.record_use(engine, tokens.Use(token_id, utc_now()))  # free again
    engine.dispose()


def test_the_admin_tokens_page_shows_the_last_use(agency: Collector) -> None:
    agency.app.config["SESSION_COOKIE_SECURE"] = False
    agency.cli("add-user", "root@agency.test", "--role", "admin", input="correct horse battery\n")
    token = agency.token("manager")
    assert login(agency.http, "root@agency.test", "correct horse battery").status_code == 302
    row = re.compile(r"<tr>\s*<th[^>]*>manager-.*?</tr>", re.S)
    before = row.search(agency.http.get("/admin/tokens").text)
    assert before is not None and "never" in before.group(0)
    headers = {"Authorization": f"Bearer {token}"}
    assert agency.http.get("/api/v1/creators", headers=headers).status_code == 200
    after = row.search(agency.http.get("/admin/tokens").text)
    assert after is not None and "never" not in after.group(0) and "<time" in after.group(0)
