"""collector/db/lists.py: rows by a long list of keys, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, create_engine, select

from collector.db import lists

META = MetaData()
PROBE = Table(
    "lists_probe", META, Column("key", String(20), primary_key=True), Column("n", Integer)
)
STORED = 1_200  # more than two of SQLite's IN lists


@pytest.fixture
def connection(database_url: str) -> Iterator[Connection]:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        META.create_all(conn)
        conn.execute(PROBE.insert(), [{"key": f"k{i:05}", "n": i} for i in range(STORED)])
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def test_every_listed_key_is_found_once(connection: Connection) -> None:
    keys = [f"k{i:05}" for i in range(0, STORED, 2)]  # 600: crosses an IN list's end
    found = lists.rows_with(connection, select(PROBE.c.key, PROBE.c.n), PROBE.c.key, keys)
    assert sorted(found) == [(f"k{i:05}", i) for i in range(0, STORED, 2)]


def test_keys_listed_twice_or_missing(connection: Connection) -> None:
    keys = ["k00007", "k00007", "nope", "k01199", "k00007"]
    found = lists.rows_with(connection, select(PROBE.c.n), PROBE.c.key, keys)
    assert sorted(n for (n,) in found) == [7, 1199]


def test_the_query_keeps_its_own_conditions(connection: Connection) -> None:
    query = select(PROBE.c.n).where(PROBE.c.n >= 1000)
    found = lists.rows_with(connection, query, PROBE.c.key, ["k00010", "k01000", "k01100"])
    assert sorted(n for (n,) in found) == [1000, 1100]


def test_no_keys_no_rows(connection: Connection) -> None:
    assert lists.rows_with(connection, select(PROBE.c.n), PROBE.c.key, []) == []
