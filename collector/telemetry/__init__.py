"""Operational telemetry for ``/metrics``: what this process counted and timed.

The instruments live in ``meters`` (Prometheus client objects, one set per process);
the storage, ingest and web layers feed them, and ``collector.http.metrics`` renders
them with the figures read from the database at scrape time.  This package sits below
every other one (it imports none of them), so even ``db`` may report to it.
"""
