"""Long lists of keys in a query: one array parameter on PostgreSQL, joined, not IN.

An IN list of hundreds of keys on a table the planner has no statistics for yet (a new
database's first imports) made PostgreSQL scan the table and compare every row with every
key: 0.5 s for 500 event ids at 30,000 events.  A join with the unnested array reads the
index, or hashes the keys, whatever the statistics say.
"""

from __future__ import annotations

from sqlalchemy import String, Subquery, bindparam, func, select
from sqlalchemy.dialects import postgresql


def listed(parameter: str, name: str = "listed") -> Subquery:
    """A one-column (``key``) subquery of the strings in array parameter ``parameter``."""
    keys = func.unnest(bindparam(parameter, type_=postgresql.ARRAY(String)))
    return select(keys.label("key")).subquery(name)
