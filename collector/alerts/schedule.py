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
import threading
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from collector.alerts import delivery, mail
from collector.alerts.evaluate import Round, evaluate
from collector.db.engine import begin_write

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


class AlertScheduler:
    def __init__(
        self,
        engine: Engine,
        interval: float,
        smtp: mail.SmtpSettings,
        policy: delivery.Policy | None = None,
    ) -> None:
        self.engine = engine
        self.interval = interval
        self.smtp = smtp
        self.policy = policy or delivery.Policy()
        self.rounds = 0
        self.skipped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chattertrack-alerts", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def run_once(self) -> None:
        if evaluate_once(self.engine) is None:
            self.skipped += 1
        else:
            self.rounds += 1
        delivery.send_due(self.engine, self.smtp, self.policy)

    def _loop(self) -> None:
        wait = min(FIRST_ROUND, self.interval)
        while not self._stop.wait(wait):
            wait = self.interval
            try:
                self.run_once()
            except Exception:  # a database outage must not end the schedule
                log.exception("alert round failed; retrying in %s s", self.interval)
