"""The worked examples of METRICS.md, "Attendance" and "Coverage", on SQLite and PostgreSQL,
by the fast path and by the reference."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from collector.attendance.definitions import (
    IN_PROGRESS,
    LATE_LEFT_EARLY,
    MISSING,
    NO_SHOW,
    UPCOMING,
    Sums,
    judge,
    local_hours,
)
from collector.shifts.occurrences import Occurrence
from tests.collector.attendance.helpers import (
    add_rule,
    add_shift,
    both,
    both_coverage,
    ids,
    store_slices,
)
from tests.collector.conftest import Collector

UTC = dt.UTC
SATURDAY = dt.date(2026, 3, 28)  # Europe/Paris springs forward in the night after it
SUNDAY = dt.date(2026, 3, 29)


def _at(hour: int, minute: int, day: int = 28) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def _example(agency: Collector) -> tuple[dict[str, int], dict[str, int]]:
    agency.enroll("alice")
    agency.enroll("bob")
    engine = create_engine(agency.database_url)
    with engine.begin() as c:
        chatters, creators, devices = ids(c)
        alice, device = chatters["alice"], devices["alice"][0]
        # Alice, once, 22:00-06:00 Paris for luna: 21:00Z-04:00Z, 7 hours (02:00 -> 03:00).
        add_shift(
            c,
            chatter_id=alice,
            creator_id=creators["luna"],
            zone="Europe/Paris",
            weekdays=0,
            start_minute=22 * 60,
            end_minute=6 * 60,
            first_day=SATURDAY,
        )
        # Bob, once, Sunday 09:00-17:00 Paris for nova: never comes.
        add_shift(
            c,
            chatter_id=chatters["bob"],
            creator_id=creators["nova"],
            zone="Europe/Paris",
            weekdays=0,
            start_minute=9 * 60,
            end_minute=17 * 60,
            first_day=SUNDAY,
        )
        # Luna needs one chatter 22:00-02:00 every night, and two from midnight to 01:00.
        add_rule(
            c,
            creator_id=creators["luna"],
            zone="Europe/Paris",
            weekdays=127,
            start_minute=22 * 60,
            end_minute=2 * 60,
            required=1,
        )
        add_rule(
            c,
            creator_id=creators["luna"],
            zone="Europe/Paris",
            weekdays=127,
            start_minute=0,
            end_minute=60,
            required=2,
        )
        rows = []
        start = _at(21, 0)
        for i in range(410):  # 21:00Z to 03:50Z, one slice a minute
            at = start + dt.timedelta(minutes=i)
            row = {
                "device_id": device,
                "chatter_id": alice,
                "start": at,
                "slice_seconds": 60,
                "duration": 60,
                "active_seconds": 45,
                "paused_seconds": 0,
            }
            if i < 8:  # running from 22:00 local, first active at 22:08
                row["active_seconds"] = 0
            elif _at(1, 0, 29) <= at < _at(1, 30, 29):  # a half-hour pause
                row.update(active_seconds=0, paused_seconds=60)
            rows.append(row)
        # After the shift: 07:00 Paris on Sunday.
        rows.append(
            {
                "device_id": device,
                "chatter_id": alice,
                "start": _at(5, 0, 29),
                "slice_seconds": 60,
                "duration": 60,
                "active_seconds": 30,
                "paused_seconds": 0,
            }
        )
        store_slices(c, rows)
    engine.dispose()
    return chatters, creators


def test_attendance_worked_example(agency: Collector) -> None:
    chatters, creators = _example(agency)
    engine = create_engine(agency.database_url)
    with Session(engine) as session:
        for _ in range(2):  # the second time from the stored spans
            fast, ref = both(session, SATURDAY, SUNDAY, "Europe/Paris", chatters.values())
            assert fast == ref
            alice, bob = fast.rows
            assert alice.occurrence.seconds == 7 * 3600
            assert alice.sums == Sums(
                online=22_800,
                active=16_740,
                paused=1_800,
                first_active=int(_at(21, 8).timestamp()),
                last_active=int(_at(3, 50, 29).timestamp()),
            )
            assert (alice.late_seconds, alice.early_leave_seconds) == (480, 600)
            assert alice.status == LATE_LEFT_EARLY and not alice.no_show
            assert bob.status == NO_SHOW and bob.no_show and bob.occurrence.seconds == 8 * 3600
            assert bob.late_seconds is None and bob.early_leave_seconds is None
            assert fast.outside[(chatters["alice"], SUNDAY)] == Sums(
                60, 30, 0, int(_at(5, 0, 29).timestamp()), int(_at(5, 1, 29).timestamp())
            )
            assert fast.outside[(chatters["alice"], SATURDAY)] == Sums()
        # The Sunday alone: Alice's shift started on Saturday (not a row), but its
        # Sunday part is still inside a shift, not outside.
        fast, ref = both(session, SUNDAY, SUNDAY, "Europe/Paris", chatters.values())
        assert fast == ref
        assert [r.occurrence.chatter_id for r in fast.rows] == [chatters["bob"]]
        assert fast.outside[(chatters["alice"], SUNDAY)].online == 60
    engine.dispose()


def test_coverage_worked_example(agency: Collector) -> None:
    chatters, creators = _example(agency)
    engine = create_engine(agency.database_url)
    with Session(engine) as session:
        fast, ref = both_coverage(session, SUNDAY, SUNDAY, "Europe/Paris", creators.values())
        assert fast == ref
        assert len(fast.hours) == 23
        luna = fast.cells[creators["luna"]]
        assert [(h, luna[h].required, luna[h].online) for h in (0, 1, 22, 23)] == [
            (0, 2, 1),
            (1, 1, 1),
            (22, 1, 0),
            (23, 1, 0),
        ]
        # No 02:00 that day; 03:00 needs nobody.  Alice paused half of it and was online
        # the other half: at least half an hour online, so she counts.
        assert luna[2].hours == 0 and luna[3].required_hours == 0 and luna[3].online == 1
        assert sum(c.required_hours for c in luna) == 4
        assert sum(c.uncovered_hours for c in luna) == 3
        assert (luna[0].ratio, luna[1].ratio, luna[22].ratio) == (0.5, 1.0, 0.0)
        # 07:00, unscheduled: Alice's one minute is not half an hour; nova needs nobody.
        assert luna[7].online == 0
        assert all(c.required_hours == 0 for c in fast.cells[creators["nova"]])
    engine.dispose()


def test_coverage_judges_only_the_hours_over(agency: Collector) -> None:
    # Asked at 01:30 local on that Sunday (23:30Z Saturday): hours 0 and 1 are not over,
    # so they are to come, in no figure; the other 21 have not started either.
    chatters, creators = _example(agency)
    engine = create_engine(agency.database_url)
    now = dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC)
    with Session(engine) as session:
        fast, ref = both_coverage(
            session, SUNDAY, SUNDAY, "Europe/Paris", creators.values(), now=now
        )
        assert fast == ref
        assert (len(fast.hours), fast.to_come) == (0, 23)
        assert not fast.uncovered
        luna = fast.cells[creators["luna"]]
        assert sum(c.required_hours for c in luna) == 0
        # At 01:00Z (03:00 local, after 02:00 was skipped) hours 0 and 1 are over.
        later = dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)
        fast, ref = both_coverage(
            session, SUNDAY, SUNDAY, "Europe/Paris", creators.values(), now=later
        )
        assert fast == ref and (len(fast.hours), fast.to_come) == (2, 21)
        luna = fast.cells[creators["luna"]]
        assert [(h, luna[h].required, luna[h].online) for h in (0, 1)] == [(0, 2, 1), (1, 1, 1)]
        assert sum(c.uncovered_hours for c in luna) == 1
    engine.dispose()


def _occ(a: dt.datetime, b: dt.datetime) -> Occurrence:
    return Occurrence(1, a.date(), 1, 1, "UTC", a, b)


def test_status_as_time_passes() -> None:
    a, b = _at(9, 0), _at(17, 0)
    occ, nothing = _occ(a, b), Sums()
    t = lambda m: int(m.timestamp())  # noqa: E731
    assert judge(occ, nothing, 300, t(_at(8, 0))).status == UPCOMING
    assert judge(occ, nothing, 300, t(_at(9, 4))).status == IN_PROGRESS
    assert judge(occ, nothing, 300, t(_at(9, 5))).status == MISSING
    assert judge(occ, nothing, 300, t(b)).status == NO_SHOW
    came = Sums(60, 60, 0, t(_at(9, 5)), t(_at(16, 55)))
    # Exactly the grace is on time, at both ends; the early leave is known at the end.
    on_time = judge(occ, came, 300, t(b))
    assert (on_time.late_seconds, on_time.early_leave_seconds, on_time.status) == (0, 0, "on_time")
    assert judge(occ, came, 300, t(_at(12, 0))).early_leave_seconds is None


def test_local_hours_across_dst() -> None:
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    oct24 = dt.datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # local midnight, summer time
    autumn = local_hours(int(oct24.timestamp()), int(oct24.timestamp()) + 25 * 3600, paris)
    assert len(autumn) == 25 and [h.hour for h in autumn][:4] == [0, 1, 2, 2]
    assert (autumn[2].offset, autumn[3].offset) == ("+02:00", "+01:00")
    kathmandu = zoneinfo.ZoneInfo("Asia/Kathmandu")
    day = local_hours(
        int(dt.datetime(2026, 3, 27, 18, 15, tzinfo=UTC).timestamp()),
        int(dt.datetime(2026, 3, 28, 18, 15, tzinfo=UTC).timestamp()),
        kathmandu,
    )
    assert len(day) == 24 and all(h.end - h.start == 3600 for h in day)
