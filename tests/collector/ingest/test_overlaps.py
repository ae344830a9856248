"""The overlap check reads a few index ranges, never a chatter's whole history."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Select, create_engine, event, text

from collector.ingest.overlaps import Span, _allowed, near_query, ranges_of

T = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def at(seconds: int) -> dt.datetime:
    return T + dt.timedelta(seconds=seconds)


def test_a_batch_becomes_few_ranges() -> None:
    """Consecutive slices make one range from 60 s before the first to the last's end."""
    run = [Span(at(60 * m), 60, m) for m in range(10)]
    later = [Span(at(7200 + s), 1, 100 + s) for s in range(5)]
    assert ranges_of(run + later) == [(at(-60), at(600)), (at(7200 - 60), at(7205))]


def test_spans_overlap_and_resend() -> None:
    minute = Span(T, 60, 1)
    assert minute.overlaps(Span(at(59), 1, 2)) and not minute.overlaps(Span(at(60), 1, 2))
    assert Span(T, 60, 9).resends(minute) and Span(T, 30, 1).resends(minute)
    assert not Span(T, 30, 2).resends(minute)
    assert Span(T, 60, 7).same_slot(minute) and not Span(T, 30, 1).same_slot(minute)


def test_only_the_same_slot_or_an_own_resend_may_overlap() -> None:
    mine, other = 1, 2
    minute = Span(T, 60, 5, other)
    assert _allowed(Span(T, 60, 9), [minute], mine)  # another device, same slot
    assert not _allowed(Span(T, 30, 9), [minute], mine)  # same start, another length
    assert not _allowed(Span(at(1), 1, 9), [minute], mine)
    # A re-send of the device's own legacy row (length only a lower bound) by its seq.
    assert _allowed(Span(T, 60, 5), [Span(T, 30, 5, mine)], mine)
    assert not _allowed(Span(T, 60, 5), [Span(T, 30, 5, other)], mine)


def test_the_query_is_an_index_range_scan(database_url: str) -> None:
    engine = create_engine(database_url)
    postgres = engine.dialect.name == "postgresql"

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def explain(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> tuple[str, Any]:
        if statement.startswith("SELECT slices.start"):
            statement = ("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + statement
        return statement, params

    ranges = ranges_of([Span(at(60 * m), 60, m) for m in (0, 1, 30)])
    query = cast(Select[Any], near_query(len(ranges)).statement)
    values: dict[str, Any] = {"chatter": 1}
    for i, (low, high) in enumerate(ranges):
        values[f"low{i}"], values[f"high{i}"] = low, high
    # Fewer columns than the plan's rows: the plan's values are not read as typed columns.
    query = query.with_only_columns(*list(query.selected_columns)[:3])
    with engine.connect() as conn:
        if postgres:  # an empty table is cheaper to scan: ask whether the index serves
            conn.execute(text("SET enable_seqscan = off"))
        plan = " ".join(str(row[-1]) for row in conn.execute(query, values))
    engine.dispose()
    if postgres:
        assert "ix_slices_chatter_start" in plan and "Seq Scan" not in plan, plan
    else:
        assert plan.count("SEARCH slices USING INDEX") == 2, plan
        assert "(chatter_id=? AND start>? AND start<?)" in plan and "SCAN" not in plan, plan
