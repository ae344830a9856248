"""collector/db/base.py: UTC timestamps on SQLite take the fast text path only where it
gives SQLAlchemy's own text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator

from collector.db.base import UTCDateTime

DIALECT = sqlite.dialect()


def _processor(of: Callable[..., Any]) -> Callable[[Any], Any]:
    found = of(UTCDateTime().dialect_impl(DIALECT), DIALECT)
    assert found is not None
    return found  # type: ignore[no-any-return]


FAST = _processor(UTCDateTime.bind_processor)
# SQLAlchemy's composition: process_bind_param, then SQLite's DATETIME format.
REFERENCE = _processor(TypeDecorator.bind_processor)

moments = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.timezones()
)


@given(moments)
def test_the_fast_text_is_sqlalchemys_text(moment: dt.datetime) -> None:
    assert FAST(moment) == REFERENCE(moment)


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 3, 29, 1, 2, 3, tzinfo=dt.UTC),  # no microseconds: still six digits
        dt.datetime(999, 1, 1, 0, 0, 0, 5, tzinfo=dt.UTC),  # a three-digit year
        dt.datetime(2026, 3, 29, 3, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    ],
)
def test_edge_moments_are_stored_as_before(moment: dt.datetime) -> None:
    assert FAST(moment) == REFERENCE(moment)
    assert FAST(moment)[:4] == f"{moment.astimezone(dt.UTC).year:04d}"


def test_none_and_naive_values_behave_as_before() -> None:
    assert FAST(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        FAST(dt.datetime(2026, 1, 1))  # noqa: DTZ001
