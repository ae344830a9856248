"""Benchmarks of ChatterTrack: ``python -m bench`` (or ``make bench``), one part or all.

Parts (``--part``), each printing its table and writing its section of
``bench/results/latest.json``:

- collector: per database lane (SQLite, PostgreSQL) a fresh database prepared with the
  admin CLI, gunicorn with two workers, and five ingestion scenarios driven from separate
  client processes over loopback (``main``, ``prepare``, ``server``, ``scenarios``,
  ``load``, ``payloads``, ``rawhttp``, ``report``, targets in ``collector_targets``), then
  the heartbeat figures' anchors: aw-server and the bare-Flask ceiling (``anchors``,
  ``ceiling``), printed side by side (``comparison``);
- stats: the chatter-stats API views on the generated agency (``stats_views``, data set
  ``stats_data/``);
- pages: the dashboard pages' server time on the same agency (``pages``) and their load
  time in headless Chromium on the demo data (``page_load``);
- conversations: the conversation analytics views on the generated shop
  (``conversations``, data set ``conversations_data/``);
- agent: the agent's memory and CPU under Xvfb (``agent_footprint``).

Shared by the parts: ``lanes`` (the database lanes), ``timing`` (timed calls, median, p95,
percentiles), ``procstat`` (CPU and memory from /proc) and ``datasets/`` (the cached data
sets: where they live, their marker and lock, building and rollups).
"""
