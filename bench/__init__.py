"""Load benchmarks for the collector: ``python -m bench`` (or ``make bench``).

Each database lane (SQLite, PostgreSQL) gets a fresh database prepared with the
admin CLI, a gunicorn server with two sync workers, and four scenarios driven
from separate client processes over loopback.  Results are printed as a table
and written to ``bench/results/latest.json``.
"""
