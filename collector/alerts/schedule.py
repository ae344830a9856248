"""Alerts on a schedule inside the collector: a daemon thread per process.

Every serving process runs one, like the retention purge (collector/retention/schedule.py):
each round evaluates the rules (one process at a time, collector/alerts/evaluate.py), then
sends whatever deliveries are due (claimed one process at a time per delivery,
collector/alerts/delivery.py).  Web requests never send anything: they only read and
change alerts.  A failed round is logged and the next one comes at the next interval.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from collector.alerts import delivery, mail
from collector.alerts.evaluate import Round, evaluate
from collector.db.engine import begin_write
from collector.periodic import Periodic

log = logging.getLogger(__name__)
FIRST_ROUND = 5.0  # seconds after start-up
Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def evaluate_once(engine: Engine, clock: Clock = _utc_now) -> Round | None:
    """One evaluation in its own write transaction; None when another process held it."""
    with Session(engine) as session:
        begin_write(session)
        result = evaluate(session, clock())
        if result is None:
            session.rollback()
            return None
        session.commit()
    if result.opened or result.resolved:
        log.info("alerts: %s", result.as_dict())
    return result


class AlertScheduler(Periodic):
    """Evaluates, then sends what is due, every ``interval`` seconds (collector/periodic.py)."""

    def __init__(
        self,
        engine: Engine,
        interval: float,
        smtp: mail.SmtpSettings,
        policy: delivery.Policy | None = None,
    ) -> None:
        self.engine = engine
        self.smtp = smtp
        self.policy = policy or delivery.Policy()
        super().__init__("alerts", interval, FIRST_ROUND, self._round)

    def _round(self) -> bool:
        held = evaluate_once(self.engine) is not None
        # Deliveries are claimed one by one: sent even when another process evaluated.
        delivery.send_due(self.engine, self.smtp, self.policy)
        return held
