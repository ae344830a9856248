"""The fast path equals the reference, whatever the shifts, slices and arrival order.

Hypothesis draws shifts (weekly and one-off, overnight, in several zones, some cancelled
or swapped), coverage rules and slices of two chatters on several devices around a DST
change, stores the slices in random batches as the ingest does (reading the fast path
between batches, so cached spans must be forgotten when their minutes change), and
compares attendance (with regular input counted as active and left out, some slices
flagged regular) and coverage with the reference from the raw slices, in a zone of its
choice; then again after the statistics rebuild.  Two consecutive ranges add up to
the range they make, shifts and days crossing the cut included.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from collector.attendance.compute import TOTALS
from collector.maintenance.rebuild import rebuild_everything
from tests.collector.attendance.helpers import (
    add_exception,
    add_rule,
    add_shift,
    both,
    both_coverage,
    clear,
    ids,
    store_slices,
)
from tests.collector.conftest import Collector

ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Kathmandu", "Australia/Sydney")
# Days with a DST change: Paris's 23- and 25-hour days, New York's autumn, Sydney's spring.
DAYS = (
    dt.date(2026, 3, 29),
    dt.date(2026, 10, 25),
    dt.date(2026, 11, 1),
    dt.date(2026, 10, 4),
)
LENGTHS = (60, 30, 15)


@dataclass(frozen=True)
class Drawn:
    day: dt.date
    tz: str
    shifts: list[dict[str, Any]]
    exceptions: list[tuple[int, int, str, int]]  # shift index, day offset, kind, chatter
    rules: list[dict[str, Any]]
    slices: list[dict[str, Any]]  # chatter index, device index, start offset, values
    batches: list[int]  # cut points
    grace: int


@st.composite
def drawn(draw: st.DrawFn) -> Drawn:
    day = draw(st.sampled_from(DAYS))
    # Mostly on the half hour, so shift edges, local days and slice runs meet often.
    minute = st.one_of(st.integers(0, 47).map(lambda m: m * 30), st.integers(0, 1439))
    shifts = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "chatter": st.integers(0, 1),
                    "creator": st.integers(0, 1),
                    "zone": st.sampled_from(ZONES),
                    "weekdays": st.sampled_from([0, 127, 0b0011111, 0b1100000]),
                    "start_minute": minute,
                    "end_minute": minute,
                    "first": st.integers(-3, 1),
                    "last": st.one_of(st.none(), st.integers(0, 3)),
                }
            ),
            max_size=4,
        )
    )
    exceptions = draw(
        st.lists(
            st.tuples(
                st.integers(0, 3),
                st.integers(-2, 2),
                st.sampled_from(["cancelled", "swapped"]),
                st.integers(0, 1),
            ),
            max_size=2,
        )
    )
    rules = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "creator": st.integers(0, 1),
                    "zone": st.sampled_from(ZONES),
                    "weekdays": st.sampled_from([127, 0b0011111, 0b1000000]),
                    "start_minute": minute,
                    "end_minute": minute,
                    "required": st.integers(0, 3),
                }
            ),
            max_size=3,
        )
    )
    runs = draw(
        st.lists(
            st.tuples(
                st.integers(0, 1),  # chatter
                st.one_of(  # first minute, from the day before
                    st.integers(0, 4 * 48 - 1).map(lambda m: m * 30),
                    st.integers(0, 4 * 1440 - 1),
                ),
                st.integers(1, 120),  # minutes
                st.sampled_from(LENGTHS),
            ),
            max_size=8,
        )
    )
    values = st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(0, 60))
    slices = []
    taken: dict[tuple[int, int], int] = {}  # (chatter, minute) -> slice length there
    for chatter, first, count, length in runs:
        for m in range(first, min(first + count, 4 * 1440)):
            if taken.setdefault((chatter, m), length) != length:
                continue  # one length per chatter and minute, as the ingest enforces
            for part in range(0, 60, length):
                if not draw(st.booleans()):
                    continue
                devices = draw(st.sampled_from([[0], [1], [0, 1]]))
                for device in devices:
                    run, paused, active = draw(values)
                    # Flagged as regular input by hand: the rebuild recomputes the flags
                    # from the input timing (none here), so after it none is regular.
                    flagged = draw(st.booleans())
                    run = min(run, length)
                    paused = min(paused, run)
                    active = min(active, run - paused)
                    slices.append(
                        {
                            "chatter": chatter,
                            "device": device,
                            "offset": m * 60 + part,
                            "slice_seconds": length,
                            "duration": run,
                            "paused_seconds": paused,
                            "active_seconds": active,
                            "regular": flagged,
                        }
                    )
    order = draw(st.permutations(range(len(slices))))
    slices = [slices[i] for i in order]
    cuts = sorted(draw(st.lists(st.integers(0, max(len(slices), 1)), max_size=3)))
    return Drawn(
        day,
        draw(st.sampled_from(ZONES)),
        shifts,
        exceptions,
        rules,
        slices,
        cuts,
        draw(st.sampled_from([0, 300, 600])),
    )


def _run(agency: Collector, d: Drawn) -> None:
    engine = create_engine(agency.database_url)
    base = dt.datetime.combine(d.day - dt.timedelta(days=1), dt.time(), dt.UTC)
    first, last = d.day - dt.timedelta(days=1), d.day + dt.timedelta(days=1)
    one_day = dt.timedelta(days=1)
    try:
        with engine.begin() as c:
            clear(c)
            chatters, creators, devices = ids(c)
            people = [chatters["alice"], chatters["bob"]]
            brands = [creators["luna"], creators["nova"]]
            shift_ids = []
            for s in d.shifts:
                shift_ids.append(
                    add_shift(
                        c,
                        chatter_id=people[s["chatter"]],
                        creator_id=brands[s["creator"]],
                        zone=s["zone"],
                        weekdays=s["weekdays"],
                        start_minute=s["start_minute"],
                        end_minute=s["end_minute"],
                        first_day=d.day + dt.timedelta(days=s["first"]),
                        last_day=None
                        if s["last"] is None
                        else d.day + dt.timedelta(days=s["last"]),
                    )
                )
            seen = set()
            for index, offset, kind, chatter in d.exceptions:
                if index >= len(shift_ids) or (index, offset) in seen:
                    continue
                seen.add((index, offset))
                add_exception(
                    c,
                    shift_id=shift_ids[index],
                    day=d.day + dt.timedelta(days=offset),
                    kind=kind,
                    replacement_chatter_id=people[chatter] if kind == "swapped" else None,
                )
            for r in d.rules:
                add_rule(
                    c,
                    creator_id=brands[r["creator"]],
                    zone=r["zone"],
                    weekdays=r["weekdays"],
                    start_minute=r["start_minute"],
                    end_minute=r["end_minute"],
                    required=r["required"],
                )
        keys = ["alice", "bob"]
        rows = [
            {
                "device_id": devices[keys[s["chatter"]]][s["device"]],
                "chatter_id": people[s["chatter"]],
                "start": base + dt.timedelta(seconds=s["offset"]),
                "slice_seconds": s["slice_seconds"],
                "duration": s["duration"],
                "active_seconds": s["active_seconds"],
                "paused_seconds": s["paused_seconds"],
                "regular": s["regular"],
            }
            for s in d.slices
        ]
        # One slice per device and start: a resend is a duplicate the ingest ignores.
        unique: dict[tuple[int, dt.datetime], dict[str, Any]] = {}
        for r in rows:
            unique.setdefault((r["device_id"], r["start"]), r)
        rows = list(unique.values())
        cuts = [0, *[min(c, len(rows)) for c in d.batches], len(rows)]

        def check() -> None:
            with Session(engine) as session:
                for exclude in (False, True):  # the setting exclude_regular_input
                    fast, ref = both(
                        session, first, last, d.tz, people, grace=d.grace, exclude_regular=exclude
                    )
                    assert fast == ref, exclude
                # Consecutive ranges add up to the range they make (a shift counts on the
                # day it starts, each day's time outside shifts on that day), whatever
                # crosses the cut: METRICS.md, "Ranges add up".
                whole = both(session, first, last, d.tz, people, grace=d.grace)[0].totals
                head = both(session, first, d.day, d.tz, people, grace=d.grace)[0].totals
                tail = both(session, d.day + one_day, last, d.tz, people, grace=d.grace)[0].totals
                for chatter in people:
                    parts = [t.get(chatter, (0,) * len(TOTALS)) for t in (head, tail)]
                    added = tuple(x + y for x, y in zip(*parts, strict=True))
                    assert whole.get(chatter, (0,) * len(TOTALS)) == added, chatter
                fast_cov, ref_cov = both_coverage(session, first, last, d.tz, brands)
                assert fast_cov == ref_cov

        for lo, hi in zip(cuts, cuts[1:], strict=False):
            with engine.begin() as c:
                store_slices(c, rows[lo:hi])
            check()  # fills spans the next batch must invalidate
        with engine.begin() as c:
            rebuild_everything(c)
        check()
        check()  # from the spans stored by the first
    finally:
        engine.dispose()


@pytest.mark.parametrize("examples", [40])
def test_fast_path_equals_the_reference(
    agency: Collector, examples: int, database_url: str
) -> None:
    for _ in range(2):
        agency.enroll("alice")
        agency.enroll("bob")
    count = examples if database_url.startswith("sqlite") else examples // 2

    @settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
    @given(drawn())
    def run(d: Drawn) -> None:
        _run(agency, d)

    run()
