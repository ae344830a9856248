"""Statements built once, run on the driver's cursor: the heartbeat's hot path.

``Connection.execute`` spends 20-40 µs of Python per statement here (an execution
context, a result object, parameter and result processing), and a 1-slice heartbeat
runs fourteen: a third of its time (issue 17's profile).  A ``Fixed`` statement is
compiled once per dialect and parameter shape, exactly as ``execute`` would compile it;
each call only converts its parameters with the types' own bind processors and runs
the SQL on the DBAPI cursor of the connection's transaction, so BEGIN, COMMIT and
ROLLBACK stay SQLAlchemy's (and SQLite's write lock ``engine._on_begin``'s).

Hand-written rather than a library: SQLAlchemy is the library, and this is the part of
its execute path a fixed statement needs.  Not for statements with expanding (IN list)
parameters, nor for numeric results on PostgreSQL (their processors look at the
driver's column type, which is not passed here).  What it leaves out of execute, on
purpose: ``handle_error`` listeners, echo logging of the statements, and a
``before_cursor_execute`` listener's rewritten statement (``retval=True``); on a
disconnect only this connection is invalidated (the pool finds the others the server
closed when they are checked out, db/liveness.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NoReturn, cast

from sqlalchemy import ColumnDefault, Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None
_REQUIRED = object()


@dataclass
class _Compiled:
    sql: str
    # (name, processor, default) per parameter, in the order the driver takes them.
    binds: tuple[tuple[str, Processor, Any], ...]
    positional: bool
    # The statement's typed result columns: by name, and in order.
    typed: dict[str, Processor]
    ordered: tuple[Processor, ...]
    # (column index, processor) for the columns of the driver's rows that need one, set
    # when the first rows arrive.
    results: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def convert(self, description: Sequence[Any], raw: list[Any]) -> list[tuple[Any, ...]]:
        if self.results is None:
            # text().columns() may type a few columns only: those are found by name.
            if len(self.ordered) == len(description):
                each = list(self.ordered)
            else:
                each = [self.typed.get(d[0]) for d in description]
            self.results = tuple((i, p) for i, p in enumerate(each) if p is not None)
        out = []
        for r in raw:
            row = list(r)
            for i, process in self.results:
                row[i] = process(row[i])
            out.append(tuple(row))
        return out

    def many(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """``parameters`` of each row; column by column, converting a value once for a run
        of rows that share it (a batch's receipt time): 1,000 slice rows convert 18,000
        values otherwise."""
        names = tuple(name for name, _p, _d in self.binds)
        try:
            if len(names) > 1:  # itemgetter of one name gives the value, not a tuple
                get = itemgetter(*names)
                table = [list(get(row)) for row in rows]
            else:
                table = [[row[name] for name in names] for row in rows]
        except KeyError:  # a row leaves a parameter to its default, or lacks one
            return [self.parameters(row) for row in rows]
        for i, (_name, process, _default) in enumerate(self.binds):
            if process is None:
                continue
            last: Any = _REQUIRED
            done = None
            for values in table:
                if values[i] is not last:
                    last = values[i]
                    done = process(last)
                values[i] = done
        if self.positional:
            return table
        return [dict(zip(names, values, strict=True)) for values in table]

    def parameters(self, given: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = []
        for name, process, default in self.binds:
            value = given.get(name, default)
            if value is _REQUIRED:
                raise exc.ArgumentError(f"a value is required for bind parameter {name!r}")
            values.append(value if process is None else process(value))
        if self.positional:
            return values
        return {name: v for (name, _p, _d), v in zip(self.binds, values, strict=True)}


class Fixed:
    """One Core statement (or ``text()``), compiled per dialect and parameter names."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, str, str, tuple[str, ...]], _Compiled] = {}

    def rows(self, db: Session | Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run it once; its rows (an empty list for a statement that returns none).

        Through a session it runs as ``Session.execute`` (which flushes pending objects
        first), for a statement that returns rows; the direct path is for a Core
        connection."""
        if isinstance(db, Session):
            return [tuple(r) for r in db.execute(self.statement, params)]
        compiled = self._for(db.dialect, tuple(params))
        _begin(db)
        description, raw, _count = _execute(db, compiled.sql, compiled.parameters(params), False)
        return compiled.convert(description, raw) if raw else []

    def run(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """Run it once; how many rows it changed."""
        compiled = self._for(connection.dialect, tuple(params))
        _begin(connection)
        return _execute(connection, compiled.sql, compiled.parameters(params), False)[2]

    def run_many(self, connection: Connection, params: Sequence[Mapping[str, Any]]) -> int:
        """Run it once per parameter set (each with the first set's names); how many rows
        they changed together."""
        if not params:
            return 0
        if len(params) == 1:
            # psycopg runs executemany as a pipeline, which costs more than one execute.
            return self.run(connection, params[0])
        compiled = self._for(connection.dialect, tuple(params[0]))
        _begin(connection)
        return _execute(connection, compiled.sql, compiled.many(params), True)[2]

    def _for(self, dialect: Dialect, names: tuple[str, ...]) -> _Compiled:
        # The driver too: its parameter style is in the SQL (psycopg %(x)s, sqlite3 ?).
        key = (dialect.name, dialect.driver, dialect.paramstyle, names)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = _compile(self.statement, dialect, names)
        return found


def _compile(statement: Executable, dialect: Dialect, names: tuple[str, ...]) -> _Compiled:
    # The column keys are the parameter names, as Connection.execute passes them: an
    # INSERT lists the columns it is given.
    compiled = cast(
        SQLCompiler,
        cast(ClauseElement, statement).compile(dialect=dialect, column_keys=sorted(names)),
    )
    if compiled.post_compile_params or compiled.literal_execute_params:
        raise TypeError("a Fixed statement cannot have expanding or literal parameters")
    # Columns with a default in Python that the INSERT or UPDATE does not set: execute
    # computes it per row; a constant one is kept here, a function is refused.
    prefetch = [(c, c.default) for c in compiled.insert_prefetch]
    prefetch += [(c, c.onupdate) for c in compiled.update_prefetch]
    defaults = {}
    for column, generator in prefetch:
        if not (isinstance(generator, ColumnDefault) and generator.is_scalar):
            raise TypeError(f"a Fixed statement cannot compute the default of {column.key!r}")
        defaults[column.key] = generator.arg
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    binds = []
    for name in compiled.positiontup or list(by_name):
        bind = by_name[name]
        if bind.callable is not None:
            raise TypeError(f"a Fixed statement cannot have a callable default ({name!r})")
        if name in defaults:
            default = defaults[name]
        elif name in names or bind.required:
            default = _REQUIRED
        else:
            default = bind.effective_value  # a literal in the statement
        binds.append((name, bind.type.dialect_impl(dialect).bind_processor(dialect), default))
    columns = getattr(statement, "exported_columns", ())
    results = [
        (c.key, c.type.dialect_impl(dialect).result_processor(dialect, None)) for c in columns
    ]
    return _Compiled(
        sql=compiled.string,
        binds=tuple(binds),
        positional=compiled.positiontup is not None,
        typed=dict(results),
        ordered=tuple(p for _k, p in results),
    )


def on_driver(connection: Connection, sql: str) -> None:
    """Run SQL without parameters on the driver's connection, in whatever state it is
    (a BEGIN from the engine's begin hook: no transaction is opened for it)."""
    _execute(connection, sql, (), False)


def _begin(connection: Connection) -> None:
    if not connection.in_transaction():
        connection.begin()  # as execute's autobegin would (BEGIN through engine._on_begin)


def _execute(
    connection: Connection, sql: str, parameters: Any, many: bool
) -> tuple[Any, list[Any], int]:
    """The driver's column description, rows and row count."""
    cursor = connection.connection.cursor()
    # The cursor events fire as for execute (the tests and make bench count statements);
    # a listener cannot change the statement here (retval is not honoured).
    events = connection.dispatch
    try:
        try:
            if events.before_cursor_execute:
                events.before_cursor_execute(connection, cursor, sql, parameters, None, many)
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
            # As execute fires it: the statement has run, its rows are not read yet.
            if events.after_cursor_execute:
                events.after_cursor_execute(connection, cursor, sql, parameters, None, many)
            description = cursor.description
            raw = list(cursor.fetchall()) if description is not None else []
            return description, raw, int(cursor.rowcount)
        finally:
            cursor.close()
    except Exception as error:
        _raise(connection, error, sql, parameters)
    except BaseException:
        # Interrupted inside the driver (a timeout raised into the worker, ^C): the
        # connection may be mid-protocol, so it is not given back; as execute does.
        connection.invalidate()
        raise


def _raise(connection: Connection, error: Exception, sql: str, params: Any) -> NoReturn:
    """The driver's error as SQLAlchemy's (OperationalError, IntegrityError...), as
    execute raises it; a broken connection is not given back to the pool."""
    dialect = connection.dialect
    base = dialect.loaded_dbapi.Error
    if not isinstance(error, base):
        raise error
    if dialect.is_disconnect(error, connection.connection.dbapi_connection, None):
        connection.invalidate(error)
    raise exc.DBAPIError.instance(sql, params, error, base, dialect=dialect) from error
