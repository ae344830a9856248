"""The JSON API (``/api/v1``) and health: one blueprint per resource.

Each module checks the caller (``collector.http.auth``), calls the domain packages and
answers JSON, or a CSV/XLSX export of the report's table (``collector.http.exports``).
"""

from __future__ import annotations

from flask import Blueprint

from collector.api import (
    alerts,
    attendance,
    conversations,
    devices,
    downloads,
    ingest,
    meta,
    metrics,
    payroll,
    people,
    presence,
    sales,
    shifts,
    stats,
)

# In registration order: the same as before the move, so the URL map is unchanged.
BLUEPRINTS: tuple[Blueprint, ...] = (
    meta.bp,
    ingest.bp,
    people.bp,
    devices.bp,
    stats.bp,
    conversations.bp,
    sales.bp,
    attendance.bp,
    metrics.bp,
    downloads.bp,
    alerts.bp,
    presence.bp,
    shifts.bp,
    payroll.bp,
)
