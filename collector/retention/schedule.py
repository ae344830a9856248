"""The purge on a schedule inside the collector: a daemon thread per process.

Every process of a deployment runs one (gunicorn workers, hosts); the purge's lock lets
one of them work at a time: a round that finds another process purging skips
(collector/retention/purge.py).  Rounds that find nothing to do leave no audit entry, so
the trail and the runs metric show purges, not every process's hourly look.  The first
round comes soon after start-up, so a process restarted more often than the interval
still purges.  A failed round is logged and retried at the next interval: the data
stays, nothing is half purged (one transaction).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from collector.db.engine import begin_write
from collector.periodic import Periodic
from collector.retention.purge import purge

log = logging.getLogger(__name__)
ACTOR = "system"
FIRST_ROUND = 10.0  # seconds after start-up


def run_once(engine: Engine) -> bool:
    """One scheduled round; False when another process held the purge lock."""
    with Session(engine) as session:
        begin_write(session)
        report = purge(session, dt.datetime.now(dt.UTC), ACTOR, audit_idle=False)
        if report is None:
            session.rollback()
            return False
        session.commit()
    log.info("purge: %s", report.as_dict())
    return True


class PurgeScheduler(Periodic):
    """Runs ``run_once`` every ``interval`` seconds (collector/periodic.py)."""

    def __init__(self, engine: Engine, interval: float) -> None:
        self.engine = engine
        super().__init__("purge", interval, FIRST_ROUND, lambda: run_once(engine))
