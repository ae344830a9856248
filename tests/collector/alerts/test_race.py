"""Two evaluators at once (threads with their own connections, as two processes have):
one opening, one delivery."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy.orm import Session

from collector.alerts.evaluate import evaluate
from collector.db.engine import begin_write
from tests.collector.alerts.conftest import NOW, Hook, World


def test_racing_evaluators_open_and_send_once(world: World, hook: Hook) -> None:
    world.shift("alice", "luna", "10:00", "18:00")
    world.shift("bob", "nova", "10:00", "18:00")
    world.rule("no_show", 5, webhook_url=hook.url)
    world.rule("coverage", 1, webhook_url=hook.url)
    world.coverage("nova", 1)
    racers = 6
    barrier = threading.Barrier(racers)
    outcomes: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with Session(world.engine) as session:
                barrier.wait(10)
                begin_write(session)
                result = evaluate(session, NOW + dt.timedelta(minutes=10))
                session.commit()
                outcomes.append(result)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    for _ in range(3):  # several rounds of races
        threads = [threading.Thread(target=run) for _ in range(racers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == []
    assert len(world.alerts()) == 3  # alice's and bob's no-shows, nova's coverage
    assert len(world.deliveries()) == 3
    world.send(now=NOW + dt.timedelta(minutes=10))
    assert len(hook.received) == 3
