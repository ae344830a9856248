"""Gunicorn settings for the collector in production (see README, Production).

Run: gunicorn -c deploy/gunicorn.conf.py 'collector:create_app()'
"""

import multiprocessing
import os

bind = os.environ.get("CHATTER_BIND", "127.0.0.1:8765")
# Workers share nothing but the database, so any number (and any number of hosts) is safe.
# With PROMETHEUS_MULTIPROC_DIR set (the systemd unit sets it), /metrics adds them up.
workers = int(os.environ.get("CHATTER_WORKERS", multiprocessing.cpu_count() * 2))
# SQLite has one writer at a time, so threads only queue on its lock (and its busy
# handler sleeps): one request per process. PostgreSQL requests mostly wait on the
# network and the commit's fsync, so threads overlap that waiting.
_sqlite = os.environ.get("CHATTER_DATABASE_URL", "sqlite").startswith("sqlite")
worker_class = os.environ.get("CHATTER_WORKER_CLASS", "sync" if _sqlite else "gthread")
threads = int(os.environ.get("CHATTER_THREADS", "1" if _sqlite else "4"))
timeout = 60
graceful_timeout = 30
keepalive = 5
# A 1,000-slice batch is ~150 KiB and a 10,000-event request a few MiB; the app caps both.
limit_request_line = 8190
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("CHATTER_FORWARDED_ALLOW_IPS", "127.0.0.1")
