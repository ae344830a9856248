"""Gunicorn settings for the collector in production (see README, Production).

Run: gunicorn -c deploy/gunicorn.conf.py 'collector:create_app()'
"""

import multiprocessing
import os

bind = os.environ.get("CHATTER_BIND", "127.0.0.1:8765")
# Workers share nothing but the database, so any number (and any number of hosts) is safe.
workers = int(os.environ.get("CHATTER_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "gthread"
threads = int(os.environ.get("CHATTER_THREADS", "4"))
timeout = 60
graceful_timeout = 30
keepalive = 5
# A 1,000-slice batch is ~150 KiB and a 10,000-event request a few MiB; the app caps both.
limit_request_line = 8190
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("CHATTER_FORWARDED_ALLOW_IPS", "127.0.0.1")
