"""The roles, once: who logs in, who holds an API token, who sees whose numbers."""

from __future__ import annotations

# Dashboard logins.
LOGIN_ROLES = ("admin", "manager", "chatter")
# API tokens: the login roles plus the integrations that send sales and chat events,
# and the monitoring that scrapes /metrics (which reads no agency data).
TOKEN_ROLES = ("admin", "manager", "integration", "chatter", "metrics")
# Who sees every chatter's numbers.
MANAGERS = ("admin", "manager")
# Who reads statistics at all (a chatter only their own).
READERS = LOGIN_ROLES
# Who may scrape /metrics.
SCRAPERS = ("metrics", "admin")
