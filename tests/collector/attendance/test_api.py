"""GET /api/v1/stats/attendance and /coverage over slices sent through the real ingest,
on both databases: numbers, paging, team leads, exports read back, and 4xx for bad input."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io

import openpyxl
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from collector.attendance import queries
from collector.attendance.definitions import Sums
from tests.collector.attendance.helpers import add_rule, add_shift, both, ids
from tests.collector.auth.test_accounts import PASSWORD, login
from tests.collector.conftest import Collector

DAY = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(
    days=1
)
RANGE = {"start": DAY.date().isoformat(), "end": DAY.date().isoformat(), "tz": "UTC"}
LEAD = "lead@agency.test"


@pytest.fixture
def shifts(agency: Collector) -> Collector:
    alice = agency.enroll("alice")
    # 08:02 to 09:30: late by 2 minutes (within the grace), left 30 minutes early.
    assert (
        alice.send(alice.slices(88, start=DAY + dt.timedelta(hours=8, minutes=2))).json()[
            "accepted"
        ]
        == 88
    )
    # 12:00-12:40, outside any shift.
    assert alice.send(alice.slices(40, start=DAY + dt.timedelta(hours=12))).json()["accepted"] == 40
    engine = create_engine(agency.database_url)
    with engine.begin() as c:
        chatters, creators, _ = ids(c)
        add_shift(
            c,
            chatter_id=chatters["alice"],
            creator_id=creators["luna"],
            zone="UTC",
            weekdays=0,
            start_minute=8 * 60,
            end_minute=10 * 60,
            first_day=DAY.date(),
        )
        add_shift(
            c,
            chatter_id=chatters["bob"],
            creator_id=creators["nova"],
            zone="UTC",
            weekdays=0,
            start_minute=9 * 60,
            end_minute=11 * 60,
            first_day=DAY.date(),
        )
        add_rule(
            c,
            creator_id=creators["luna"],
            zone="UTC",
            weekdays=127,
            start_minute=8 * 60,
            end_minute=10 * 60,
            required=1,
        )
        add_rule(
            c,
            creator_id=creators["nova"],
            zone="UTC",
            weekdays=127,
            start_minute=9 * 60,
            end_minute=11 * 60,
            required=1,
        )
    engine.dispose()
    return agency


def _get(agency: Collector, path: str, token: str, **params: str) -> dict:
    reply = agency.http.get(
        f"/api/v1/stats/{path}",
        params={**RANGE, **params},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_attendance_view(shifts: Collector) -> None:
    token = shifts.token("manager")
    body = _get(shifts, "attendance", token)
    assert body["total"] == 2 and body["grace_seconds"] == 300
    alice, bob = body["shifts"]
    assert alice["chatter"] == "alice" and alice["creator"] == "luna"
    assert alice["status"] == "left_early" and alice["late_seconds"] == 0
    assert alice["early_leave_seconds"] == 1800
    assert (alice["online_seconds"], alice["active_seconds"]) == (88 * 60, 88 * 30)
    assert alice["scheduled_seconds"] == 7200
    assert alice["starts_at"] == (DAY + dt.timedelta(hours=8)).isoformat()
    assert bob["status"] == "no_show" and bob["no_show"] is True
    totals = {c["chatter"]: c for c in body["chatters"]}
    assert totals["alice"]["outside_online_seconds"] == 40 * 60
    assert totals["bob"]["no_shows"] == 1
    # The same as the reference from the raw slices.
    engine = create_engine(shifts.database_url)
    with Session(engine) as session:
        chatters, _, _ = ids(session.connection())
        fast, ref = both(
            session, DAY.date(), DAY.date(), "UTC", chatters.values(), now=dt.datetime.now(dt.UTC)
        )
        assert fast == ref
        assert [r.sums.online for r in ref.rows] == [88 * 60, 0]
    engine.dispose()
    # Paging; a chatter's days.
    second = _get(shifts, "attendance", token, per_page="1", page="2")
    assert [s["chatter"] for s in second["shifts"]] == ["bob"] and second["pages"] == 2
    one = _get(shifts, "attendance", token, chatter="alice")
    assert [s["chatter"] for s in one["shifts"]] == ["alice"]
    assert one["days"][0]["outside_online_seconds"] == 2400
    # A grace of 1 minute makes the 2-minute delay late.
    shifts.cli("settings", "set", "late_grace_minutes", "1")
    assert _get(shifts, "attendance", token)["shifts"][0]["late_seconds"] == 120


def test_coverage_view(shifts: Collector) -> None:
    body = _get(shifts, "coverage", shifts.token("manager"))
    by = {c["creator"]: c for c in body["creators"]}
    luna, nova = by["luna"]["hours"], by["nova"]["hours"]
    assert (luna[8]["required"], luna[8]["online"], luna[8]["uncovered_hours"]) == (1, 1, 0)
    # 09:00-10:00 alice was online 30 minutes: half the hour counts.
    assert (luna[9]["online"], luna[9]["coverage"]) == (1, 1.0)
    assert (nova[9]["online"], nova[9]["uncovered_hours"], nova[9]["coverage"]) == (0, 1, 0.0)
    assert by["nova"]["uncovered_hours"] == 2 and by["luna"]["uncovered_hours"] == 0
    # 12:00: alice is scheduled for nobody, linked to luna only.
    assert (luna[12]["online"], nova[12]["online"]) == (1, 0)
    assert {u["creator"] for u in body["uncovered"]} == {"nova"}


def test_exports_read_back(shifts: Collector) -> None:
    token = shifts.token("manager")
    headers = {"Authorization": f"Bearer {token}"}
    reply = shifts.http.get(
        "/api/v1/stats/attendance", params={**RANGE, "format": "csv"}, headers=headers
    )
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert [r["Chatter"] for r in rows] == ["Alice", "Bob"]
    assert rows[0]["Online in shift (seconds)"] == str(88 * 60)
    assert rows[0]["Left early by (seconds)"] == "1800" and rows[1]["Status"] == "No-show"
    assert [r["Swapped"] for r in rows] == ["", ""]  # "yes" on a day handed over
    reply = shifts.http.get(
        "/api/v1/stats/attendance",
        params={**RANGE, "format": "xlsx", "table": "chatters"},
        headers=headers,
    )
    sheet = openpyxl.load_workbook(io.BytesIO(reply.content)).active
    table = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(i for i, r in enumerate(table) if r[0] == "Chatter")
    names = table[header]
    alice = dict(zip(names, table[header + 1], strict=True))
    assert alice["Chatter"] == "Alice"
    assert alice["Online outside shifts (h:mm:ss)"] == dt.timedelta(minutes=40)
    reply = shifts.http.get(
        "/api/v1/stats/coverage", params={**RANGE, "format": "csv"}, headers=headers
    )
    cov = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert len(cov) == 48  # two creators, 24 hours each
    nova9 = next(r for r in cov if r["Creator"] == "Nova" and r["Hour of day"] == "9")
    assert nova9["Uncovered hours"] == "1" and nova9["Coverage (1 = 100%)"] == "0.0"


def test_team_lead_sees_only_their_creators(shifts: Collector) -> None:
    shifts.app.config["SESSION_COOKIE_SECURE"] = False
    shifts.cli("add-user", LEAD, "--role", "manager", "--creators", "nova", input=PASSWORD + "\n")
    assert login(shifts.http, LEAD, PASSWORD).status_code == 302
    reply = shifts.http.get("/api/v1/stats/attendance", params=RANGE)
    assert reply.status_code == 200, reply.text
    assert [s["creator"] for s in reply.json()["shifts"]] == ["nova"]
    # Only their creators' chatters: alice (luna's, online outside shifts) is not listed.
    assert [c["chatter"] for c in reply.json()["chatters"]] == ["bob"]
    mine = shifts.http.get("/api/v1/stats/attendance", params={**RANGE, "creator": "nova"})
    assert [c["chatter"] for c in mine.json()["chatters"]] == ["bob"]
    cov = shifts.http.get("/api/v1/stats/coverage", params=RANGE).json()
    assert [c["creator"] for c in cov["creators"]] == ["nova"]
    for path in ("attendance", "coverage"):
        refused = shifts.http.get(f"/api/v1/stats/{path}", params={**RANGE, "creator": "luna"})
        assert refused.status_code == 403


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"tz": "Mars/Olympus"}, 400),
        ({"tz": "Europe/Paris\x00"}, 400),
        ({"start": "2026-02-02", "end": "2026-02-01"}, 400),
        ({"start": "2024-01-01", "end": "2026-01-01"}, 400),
        ({"start": "2026-02-31"}, 400),
        ({"creator": "lu\x00na"}, 400),
        ({"chatter": "nobody"}, 404),
        ({"chatter": "al\x00ice"}, 400),
        ({"page": "0"}, 400),
        ({"per_page": "99999999999999999999"}, 400),
        ({"table": "everything", "format": "csv"}, 400),
        ({"format": "pdf"}, 400),
    ],
)
def test_bad_input_is_a_4xx(shifts: Collector, params: dict[str, str], status: int) -> None:
    token = shifts.token("manager")
    reply = shifts.http.get(
        "/api/v1/stats/attendance",
        params={**RANGE, **params},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == status, reply.text
    assert reply.json()["error"]


def test_chatters_and_strangers_are_refused(shifts: Collector) -> None:
    chatter = shifts.token("chatter", "alice")
    for path in ("attendance", "coverage"):
        reply = shifts.http.get(
            f"/api/v1/stats/{path}", params=RANGE, headers={"Authorization": f"Bearer {chatter}"}
        )
        assert reply.status_code == 403
        assert shifts.http.get(f"/api/v1/stats/{path}", params=RANGE).status_code == 401


def test_erasure_deletes_attendance_minutes(shifts: Collector) -> None:
    token = shifts.token("manager")
    _get(shifts, "attendance", token)  # stores alice's spans
    engine = create_engine(shifts.database_url)
    with engine.connect() as c:
        alice = ids(c)[0]["alice"]
        count = "SELECT count(*) FROM {} WHERE chatter_id = :c"
        for table in ("attendance_minutes", "attendance_spans"):
            assert c.execute(text(count.format(table)), {"c": alice}).scalar() > 0
    shifts.cli("chatter-erase", "alice", input="y\n")
    with engine.connect() as c:
        for table in ("attendance_minutes", "attendance_spans"):
            assert c.execute(text(count.format(table)), {"c": alice}).scalar() == 0
    engine.dispose()


@pytest.mark.parametrize("enabled", [True, False])
def test_the_fast_path_gives_back_the_cycle_collector_as_it_found_it(
    shifts: Collector, enabled: bool
) -> None:
    # The fast path pauses Python's cycle collector while it builds its tuples
    # (collector/attendance/queries.py); it must leave it as it was, even on an error.
    engine = create_engine(shifts.database_url)
    seen: list[bool] = []
    try:
        (gc.enable if enabled else gc.disable)()
        with Session(engine) as session:
            chatters, _, _ = ids(session.connection())
            fast, ref = both(session, DAY.date(), DAY.date(), "UTC", chatters.values())
            assert fast == ref and gc.isenabled() is enabled

            def failing(wanted: object) -> dict[tuple[int, int, int], Sums]:
                seen.append(gc.isenabled())
                raise RuntimeError("measure failed")

            with pytest.raises(RuntimeError):
                with queries._collection_paused():
                    failing(None)
            assert seen == [False] and gc.isenabled() is enabled
    finally:
        gc.enable()
        engine.dispose()
