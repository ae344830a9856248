"""The audit trail: one row per change an admin makes, from the pages or the command line."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from collector.db import text
from collector.db.models import AuditEntry


def record(
    session: Session, actor: str, action: str, subject: str, now: dt.datetime, **detail: Any
) -> None:
    """Add an entry to the session's transaction: it is stored with the change or not at all."""
    session.add(
        AuditEntry(
            at=now,
            actor=text.fit(actor, AuditEntry.actor),
            action=action,
            subject=text.fit(subject, AuditEntry.subject),
            detail=detail or None,
        )
    )
