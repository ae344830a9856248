"""What a serving process keeps of each chatter's measured range (collector/attendance/kept.py):
a view asked again is the same object while nothing changed, and equals the reference
after new slices of one chatter or once the clock passes a shift's edges."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from collector.attendance import kept
from tests.collector.attendance.helpers import add_shift, both, ids
from tests.collector.conftest import Collector

DAY = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(
    days=2
)
RANGE = {"start": DAY.date().isoformat(), "end": DAY.date().isoformat(), "tz": "UTC"}


def _shift(agency: Collector) -> None:
    """alice on luna 08:00-10:00 UTC on DAY; bob on nova 09:00-11:00."""
    engine = create_engine(agency.database_url)
    with engine.begin() as c:
        chatters, creators, _ = ids(c)
        for chatter, creator, hour in (("alice", "luna", 8), ("bob", "nova", 9)):
            add_shift(
                c,
                chatter_id=chatters[chatter],
                creator_id=creators[creator],
                zone="UTC",
                weekdays=0,
                start_minute=hour * 60,
                end_minute=(hour + 2) * 60,
                first_day=DAY.date(),
            )
    engine.dispose()


def _view(agency: Collector, token: str) -> dict:
    reply = agency.http.get(
        "/api/v1/stats/attendance", params=RANGE, headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_new_slices_of_one_chatter_show_in_the_view_asked_again(agency: Collector) -> None:
    _shift(agency)
    alice = agency.enroll("alice")
    bob = agency.enroll("bob")
    token = agency.token("manager")
    assert alice.send(alice.slices(30, start=DAY + dt.timedelta(hours=8))).json()["accepted"] == 30
    assert bob.send(bob.slices(10, start=DAY + dt.timedelta(hours=9))).json()["accepted"] == 10
    before = _view(agency, token)
    assert _view(agency, token) == before  # asked again: kept
    # More of alice's shift, and time outside it, through the real ingest.
    assert (
        alice.send(alice.slices(20, start=DAY + dt.timedelta(hours=8, minutes=30))).json()[
            "accepted"
        ]
        == 20
    )
    assert alice.send(alice.slices(15, start=DAY + dt.timedelta(hours=13))).json()["accepted"] == 15
    after = _view(agency, token)
    rows = {r["chatter"]: r for r in after["shifts"]}
    assert rows["alice"]["online_seconds"] == 50 * 60
    assert rows["bob"] == {r["chatter"]: r for r in before["shifts"]}["bob"]  # bob's kept
    totals = {c["chatter"]: c for c in after["chatters"]}
    assert totals["alice"]["outside_online_seconds"] == 15 * 60
    assert totals["alice"]["online_seconds"] == 50 * 60
    # The same as the reference from the raw slices.
    engine = create_engine(agency.database_url)
    try:
        with Session(engine) as session:
            chatters, _, _ = ids(session.connection())
            fast, ref = both(session, DAY.date(), DAY.date(), "UTC", chatters.values())
            assert fast == ref
    finally:
        engine.dispose()


def test_the_clock_alone_moves_a_kept_shift_through_its_statuses(agency: Collector) -> None:
    _shift(agency)
    # A slice outside the shift: alice's minutes get a version, so she can be kept (a
    # chatter without one is measured every time).
    alice_agent = agency.enroll("alice")
    assert (
        alice_agent.send(alice_agent.slices(1, start=DAY + dt.timedelta(hours=20))).json()[
            "accepted"
        ]
        == 1
    )
    engine = create_engine(agency.database_url)
    start = DAY + dt.timedelta(hours=8)
    try:
        with Session(engine) as session:
            chatters, _, _ = ids(session.connection())
            alice = [chatters["alice"]]
            seen = []
            for now in (
                start - dt.timedelta(minutes=1),  # upcoming
                start - dt.timedelta(seconds=1),  # still upcoming: kept
                start + dt.timedelta(minutes=6),  # past the grace, nobody: missing
                start + dt.timedelta(hours=2),  # over: no-show
            ):
                fast, ref = both(session, DAY.date(), DAY.date(), "UTC", alice, now=now)
                assert fast == ref, now
                seen.append(fast)
            assert [r.rows[0].status for r in seen] == [
                "upcoming",
                "upcoming",
                "missing",
                "no_show",
            ]
            assert seen[1].rows[0] is seen[0].rows[0]  # the same kept row
            assert seen[2].rows[0] is not seen[1].rows[0]
            # An earlier moment than the one measured is measured again, not served.
            fast, ref = both(session, DAY.date(), DAY.date(), "UTC", alice, now=start)
            assert fast == ref and fast.rows[0].status == "in_progress"
    finally:
        engine.dispose()
        kept.forget()


def test_a_view_fills_its_spans_without_a_second_pooled_connection(agency: Collector) -> None:
    # A view keeps its pooled connection while it fills the spans it misses; a fill from
    # the same pool would wait for one only another view gives back.  With a pool of one
    # connection, no overflow and a short timeout, the view still answers (review of
    # issue 15: ten views at once on PostgreSQL's pool of ten stalled 30 s, then failed).
    _shift(agency)
    alice = agency.enroll("alice")
    assert alice.send(alice.slices(30, start=DAY + dt.timedelta(hours=8))).json()["accepted"] == 30
    engine = create_engine(agency.database_url, pool_size=1, max_overflow=0, pool_timeout=1)
    try:
        with Session(engine) as session:
            chatters, _, _ = ids(session.connection())
            fast, ref = both(session, DAY.date(), DAY.date(), "UTC", [chatters["alice"]])
            assert fast == ref and fast.rows[0].sums.online == 30 * 60
    finally:
        engine.dispose()
        kept.forget()
