"""Storage: the tables (``models``, ``conversation_models``), column types (``base``),
engine settings and write transactions (``engine``), insert-or-skip (``upsert``), the
rollups' time buckets and packed sets (``buckets``), advisory locks (``locks``), the audit
writer (``audit``), agency settings as stored (``settings``) and the Alembic migrations
(``migrate``, ``migrations/``).  Imports nothing from the rest of the collector but
``collector.errors``."""
