"""collector/db/direct.py: a statement run on the driver's cursor gives what
``Connection.execute`` gives, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    exc,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from collector.db.base import UTCDateTime
from collector.db.direct import Fixed

META = MetaData()
PROBE = Table(
    "direct_probe",
    META,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("at", UTCDateTime, nullable=False),
    Column("flag", Boolean, nullable=False, default=False),
    Column("extra", JSON(none_as_null=True)),
)
STAMPED = Table(
    "direct_stamped",
    META,
    Column("id", Integer, primary_key=True),
    Column("n", Integer, default=lambda: 7),
)
MOMENT = dt.datetime(2026, 3, 29, 0, 30, 15, 250000, tzinfo=dt.UTC)

ALL = Fixed(select(PROBE.c.id, PROBE.c.name, PROBE.c.at, PROBE.c.flag, PROBE.c.extra))
ADD = Fixed(insert(PROBE).returning(PROBE.c.id))


@pytest.fixture
def connection(database_url: str) -> Iterator[Connection]:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        META.create_all(conn)
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def _add(connection: Connection, name: str, **values: Any) -> int:
    row = {"name": name, "at": MOMENT, **values}
    return int(ADD.rows(connection, row)[0][0])


def test_rows_are_those_execute_gives(connection: Connection) -> None:
    _add(connection, "a", flag=True, extra={"k": [1, 2]})
    _add(connection, "b")  # flag from the column's default, extra NULL
    direct = ALL.rows(connection, {})
    core = [tuple(r) for r in connection.execute(ALL.statement)]
    assert direct == core
    assert [(n, at, flag, extra) for _i, n, at, flag, extra in direct] == [
        ("a", MOMENT, True, {"k": [1, 2]}),
        ("b", MOMENT, False, None),
    ]
    assert all(type(r[3]) is bool and r[2].tzinfo is dt.UTC for r in direct)


def test_bound_values_are_converted_and_literals_kept(connection: Connection) -> None:
    for i in range(5):
        _add(connection, f"n{i}", at=MOMENT + dt.timedelta(hours=i))
    later = Fixed(
        select(PROBE.c.name)
        .where(PROBE.c.at >= bindparam("since", type_=UTCDateTime()), PROBE.c.id > 1)
        .order_by(PROBE.c.id)
    )
    # A time in another zone is the same moment (UTCDateTime stores UTC).
    since = (MOMENT + dt.timedelta(hours=2)).astimezone(dt.timezone(dt.timedelta(hours=-5)))
    assert later.rows(connection, {"since": since}) == [("n2",), ("n3",), ("n4",)]


def test_text_typed_in_part_is_read_by_name(connection: Connection) -> None:
    _add(connection, "a")
    statement = text("SELECT name, id, at FROM direct_probe").columns(at=UTCDateTime)
    assert Fixed(statement).rows(connection, {}) == [("a", 1, MOMENT)]


def test_run_counts_rows_and_run_many_runs_each(connection: Connection) -> None:
    ids = [_add(connection, f"r{i}") for i in range(3)]
    flag = Fixed(update(PROBE).where(PROBE.c.id == bindparam("pid")).values(flag=True))
    assert flag.run(connection, {"pid": ids[0]}) == 1
    assert flag.run(connection, {"pid": 999}) == 0
    flag.run_many(connection, [{"pid": i} for i in ids[1:]])
    assert [r[3] for r in ALL.rows(connection, {})] == [True, True, True]


def test_run_many_stores_what_execute_stores(connection: Connection) -> None:
    """Values shared by rows (one moment, one JSON object) are converted once and stored
    for every row; a row that leaves a column to its default takes the per-row path."""
    shared_moment = MOMENT.astimezone(dt.timezone(dt.timedelta(hours=3)))
    shared_extra = {"k": [1]}
    insert_all = Fixed(insert(PROBE))
    rows = [
        {"name": f"m{i}", "at": shared_moment if i % 3 else MOMENT + dt.timedelta(minutes=i),
         "flag": i % 2 == 0, "extra": shared_extra if i < 4 else None}
        for i in range(7)
    ]  # fmt: skip
    assert insert_all.run_many(connection, rows) == 7
    connection.execute(insert(PROBE), [{**r, "name": f"core-{r['name']}"} for r in rows])
    stored = ALL.rows(connection, {})
    direct, core = stored[:7], stored[7:]
    assert [r[2:] for r in direct] == [r[2:] for r in core]
    assert [r[2] for r in direct[1:3]] == [MOMENT, MOMENT]
    assert [r[4] for r in direct] == [shared_extra] * 4 + [None] * 3
    defaulted = [{"name": "d1", "at": MOMENT}, {"name": "d2", "at": MOMENT, "flag": True}]
    Fixed(insert(PROBE)).run_many(connection, defaulted)
    assert [r[3] for r in ALL.rows(connection, {})[-2:]] == [False, True]


def test_it_runs_in_the_connection_transaction(connection: Connection) -> None:
    _add(connection, "kept")
    connection.commit()
    _add(connection, "undone")
    connection.rollback()
    assert [r[1] for r in ALL.rows(connection, {})] == ["kept"]


def test_a_driver_error_is_sqlalchemy_s_and_the_transaction_recovers(
    connection: Connection,
) -> None:
    _add(connection, "same")
    with pytest.raises(exc.IntegrityError):
        _add(connection, "same")
    connection.rollback()
    _add(connection, "after")
    assert [r[1] for r in ALL.rows(connection, {})] == ["after"]


def test_a_missing_value_is_refused_before_the_driver(connection: Connection) -> None:
    needs = Fixed(select(PROBE.c.id).where(PROBE.c.name == bindparam("name")))
    with pytest.raises(exc.ArgumentError, match="'name'"):
        needs.rows(connection, {})


def test_what_it_cannot_do_is_refused(connection: Connection) -> None:
    listed = Fixed(select(PROBE.c.id).where(PROBE.c.id.in_(bindparam("ids", expanding=True))))
    with pytest.raises(TypeError, match="expanding"):
        listed.rows(connection, {"ids": [1, 2]})
    computed = Fixed(insert(STAMPED))
    with pytest.raises(TypeError, match="default of 'n'"):
        computed.run(connection, {"id": 1})


def test_the_cursor_events_see_each_statement(connection: Connection) -> None:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split()[0])

    event.listen(connection.engine, "before_cursor_execute", before)
    try:
        with connection.engine.connect() as other:
            _add(other, "x")
            ALL.rows(other, {})
            other.rollback()
    finally:
        event.remove(connection.engine, "before_cursor_execute", before)
    assert [s for s in seen if s in ("INSERT", "SELECT")] == ["INSERT", "SELECT"]


def test_through_a_session_it_runs_as_the_session_does(connection: Connection) -> None:
    with Session(connection.engine) as session:
        session.execute(insert(PROBE), {"name": "pending", "at": MOMENT})
        assert [r[1] for r in ALL.rows(session, {})] == ["pending"]


class _Interrupt(BaseException):
    """Raised into a worker mid-statement (a timeout, like gevent's)."""


def test_an_interrupted_statement_gives_its_connection_up(connection: Connection) -> None:
    def interrupt(*_args: Any) -> None:
        raise _Interrupt

    with connection.engine.connect() as other:
        event.listen(other, "before_cursor_execute", interrupt)
        with pytest.raises(_Interrupt):
            ALL.rows(other, {})
        assert other.invalidated
    assert ALL.rows(connection, {}) == []  # the pool goes on with a new one
