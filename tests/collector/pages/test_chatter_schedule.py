"""A chatter's own schedule and attendance (issue 15), on their page and through the API:
the manager's numbers (one truth), nobody else's shifts or figures, and scheduled time
counted up to now with the rest "to come" (attendance/scheduled.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zoneinfo

import openpyxl
import pytest
from sqlalchemy import create_engine

from collector.db import text
from collector.pages.clock import Clock
from collector.shifts.fields import DAY_LABELS
from tests.collector.attendance.helpers import add_exception, add_shift, ids
from tests.collector.auth.test_accounts import PASSWORD, browser, login  # noqa: F401
from tests.collector.conftest import Collector

TODAY = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
YESTERDAY = TODAY - dt.timedelta(days=1)


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).date().isoformat()


# The chatter page's 14 days (today the last) and a range reaching two days ahead.
RECENT = {"start": day(-13), "end": day(0), "tz": "UTC"}
AHEAD = {"start": day(-1), "end": day(2), "tz": "UTC"}


@pytest.fixture
def rota(browser: Collector) -> Collector:  # noqa: F811
    """alice (luna) worked yesterday 08:00-10:00, late by 2 min and 30 min early; she works
    the day after tomorrow 08:00-10:00 and covers bob's nova shift three days ahead; her
    shift four days ahead is cancelled.  bob (nova) works two days ahead 09:00-11:00."""
    alice = browser.enroll("alice")
    start = YESTERDAY + dt.timedelta(hours=8, minutes=2)
    assert alice.send(alice.slices(88, start=start)).json()["accepted"] == 88
    engine = create_engine(browser.database_url)
    with engine.begin() as c:
        chatters, creators, _ = ids(c)

        def once(chatter: str, creator: str, offset: int, hours: tuple[int, int]) -> int:
            return add_shift(
                c,
                chatter_id=chatters[chatter],
                creator_id=creators[creator],
                zone="UTC",
                weekdays=0,
                start_minute=hours[0] * 60,
                end_minute=hours[1] * 60,
                first_day=(TODAY + dt.timedelta(days=offset)).date(),
            )

        once("alice", "luna", -1, (8, 10))
        once("alice", "luna", 2, (8, 10))
        once("bob", "nova", 2, (9, 11))
        swapped = once("bob", "nova", 3, (12, 14))
        add_exception(
            c,
            shift_id=swapped,
            day=(TODAY + dt.timedelta(days=3)).date(),
            kind="swapped",
            replacement_chatter_id=chatters["alice"],
        )
        cancelled = once("alice", "luna", 4, (8, 10))
        add_exception(
            c, shift_id=cancelled, day=(TODAY + dt.timedelta(days=4)).date(), kind="cancelled"
        )
    engine.dispose()
    return browser


def _api(collector: Collector, path: str, token: str, **params: str) -> dict:
    reply = collector.http.get(
        f"/api/v1/stats/{path}", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def _status(collector: Collector, path: str, token: str, **params: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return collector.http.get(f"/api/v1/stats/{path}", params=params, headers=headers).status_code


def section(page: str, heading: str) -> str:
    start = page.index(f'id="{heading}"')
    return page[start : page.index("</section>", start)]


def chatter_cells(page: str, key: str) -> str:
    """A by-chatter row's cells (without its label)."""
    found = re.search(rf'<tr data-key="{key}"><th scope="row">[^<]*</th>(.*?)</tr>', page, re.S)
    assert found, key
    return found.group(1)


def test_the_chatter_reads_their_managers_attendance(rota: Collector) -> None:
    manager, chatter = rota.token("manager"), rota.token("chatter", "alice")
    mine = _api(rota, "chatters/alice/attendance", chatter, **RECENT)
    theirs = _api(rota, "attendance", manager, **RECENT, chatter="alice")
    assert mine == theirs  # one truth: the same view, the same numbers
    (row,) = mine["chatters"]
    assert (row["chatter"], row["shifts"], row["early_leaves"]) == ("alice", 1, 1)
    assert {s["chatter"] for s in mine["shifts"]} == {"alice"}
    # The manager asks the same about alice through the chatter's address.
    assert _api(rota, "chatters/alice/attendance", manager, **RECENT) == mine
    # The page's figures are the manager page's, cell for cell.
    http = rota.http
    assert login(http, "alice@agency.test", PASSWORD).status_code == 302
    page = http.get("/chatters/alice", params={"tz": "UTC"}).text
    recent = section(page, "recent-h")
    assert f"{RECENT['start']} to {RECENT['end']} (UTC)" in recent
    # A chatter cannot open the Attendance page: their page does not send them there.
    assert "as your managers see them" in recent and "Attendance page" not in recent
    own = chatter_cells(recent, "alice")
    http.post("/logout", data={"csrf_token": re.findall(r'csrf_token" value="([^"]+)', page)[0]})
    assert login(http, "boss@agency.test", PASSWORD).status_code == 302
    managers = http.get("/attendance", params={"preset": "custom", **RECENT}).text
    assert chatter_cells(managers, "alice") == own
    shown = http.get("/chatters/alice", params={"tz": "UTC"}).text
    assert "as the Attendance page counts them" in section(shown, "recent-h")
    assert 'data-value="7200">2 h 00 min<' in own  # scheduled so far: yesterday's shift
    assert '<td class="num">1 h 28 min</td>' in own  # online in shifts


def test_the_chatter_sees_their_shifts_ahead(rota: Collector) -> None:
    chatter = rota.token("chatter", "alice")
    body = _api(rota, "chatters/alice/shifts", chatter, tz="UTC")
    assert (body["from"], body["to"], body["tz"]) == (day(0), day(6), "UTC")
    shown = [(s["day"], s["creator"], s["creator_name"], s["state"]) for s in body["shifts"]]
    # Her own, the one swapped to her; not bob's, not the cancelled one.
    assert shown == [(day(2), "luna", "Luna", "scheduled"), (day(3), "nova", "Nova", "swapped")]
    assert body["shifts"][0]["local_start"] == f"{day(2)}T08:00:00+00:00"
    assert _api(rota, "chatters/alice/shifts", chatter, tz="UTC", days="3")["shifts"][1:] == []
    # The page lists the same shifts, in its zone, with the creators' names.
    assert login(rota.http, "alice@agency.test", PASSWORD).status_code == 302
    page = rota.http.get("/chatters/alice", params={"tz": "UTC"}).text
    upcoming = section(page, "upcoming-h")
    rows = re.findall(r'<tr data-shift="(\d+)-([\d-]+)">', upcoming)
    assert [d for _, d in rows] == [day(2), day(3)]
    # Found by review: the days ahead are read by the day of the week ("Mon 2026-11-30").
    weekday = DAY_LABELS[dt.date.fromisoformat(day(2)).weekday()]
    assert f">{weekday} {day(2)} 08:00</time>–" in upcoming and "Nova" in upcoming
    assert "covering for a colleague" in upcoming
    assert '<th scope="col">Status</th></tr></thead>' in upcoming  # every column has a header
    # Another zone: the times move, the shift's own wall times are kept beside them.
    tokyo = rota.http.get("/chatters/alice", params={"tz": "Asia/Tokyo"}).text
    tokyo = section(tokyo, "upcoming-h")
    assert f"{day(2)} 17:00</time>" in tokyo and "08:00–10:00 UTC" in tokyo


def test_a_chatter_never_sees_another_chatters_schedule(rota: Collector) -> None:
    chatter = rota.token("chatter", "alice")
    for path in ("chatters/bob/attendance", "chatters/bob/shifts", "chatters/nobody/shifts"):
        assert _status(rota, path, chatter, **RECENT) == 403, path
    assert _status(rota, "chatters/nobody/attendance", chatter, **RECENT) == 403
    assert _status(rota, "attendance", chatter, **RECENT) == 403
    # Naming bob as the "chatter" filter of their own view still gives their own.
    own = _api(rota, "chatters/alice/attendance", chatter, **RECENT, chatter="bob")
    assert [c["chatter"] for c in own["chatters"]] == ["alice"]
    assert login(rota.http, "alice@agency.test", PASSWORD).status_code == 302
    refused = rota.http.get("/chatters/bob")
    assert refused.status_code == 403
    assert '<p role="alert">A chatter sees only their own page</p>' in refused.text  # a sentence
    page = rota.http.get("/chatters/alice", params={"tz": "UTC"}).text
    for heading in ("upcoming-h", "recent-h"):
        assert "Bob" not in section(page, heading) and "bob" not in section(page, heading)
    manager = rota.token("manager")
    assert _status(rota, "chatters/bob/shifts", manager) == 200


def test_scheduled_counts_up_to_now_and_says_what_is_to_come(rota: Collector) -> None:
    body = _api(rota, "attendance", rota.token("manager"), **AHEAD)
    alice = next(c for c in body["chatters"] if c["chatter"] == "alice")
    assert (alice["shifts"], alice["scheduled_seconds"]) == (2, 4 * 3600)  # the API: both
    assert login(rota.http, "boss@agency.test", PASSWORD).status_code == 302
    page = rota.http.get("/attendance", params={"preset": "custom", **AHEAD}).text
    cells = chatter_cells(page, "alice")
    assert 'data-value="1">1<span class="to-come">+1 to come</span>' in cells
    assert 'data-value="7200">2 h 00 min<span class="to-come">+2 h 00 min to come</span>' in cells
    assert 'id="to-come-note"' in page
    # The time zone is the Schedules page's dropdown of every IANA zone, not a text box.
    picker = re.search(
        r'<select id="tz" name="tz">(.*?)</select>', page, re.S
    )  # every zone people may choose (db.text.zones)
    assert picker and picker.group(1).count("<option") == len(text.zones())
    bob = chatter_cells(page, "bob")
    assert 'data-value="0">0<span class="to-come">+1 to come</span>' in bob
    # A range wholly past: nothing to come, no note.
    past = rota.http.get("/attendance", params={"preset": "custom", **RECENT, "end": day(-1)})
    assert "to come" not in chatter_cells(past.text, "alice")
    assert 'id="to-come-note"' not in past.text


def _export(collector: Collector, fmt: str, **params: str) -> list[list[object]]:
    """An attendance export read back: its rows (CSV) or its sheet's cells (Excel)."""
    reply = collector.http.get(
        "/api/v1/stats/attendance",
        params={**AHEAD, "format": fmt, **params},
        headers={"Authorization": f"Bearer {collector.token('manager')}"},
    )
    assert reply.status_code == 200, reply.text
    if fmt == "csv":
        return list(csv.reader(io.StringIO(reply.content.decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(reply.content)).active
    return [[c.value for c in row] for row in sheet.iter_rows()]


def _records(table: list[list[object]]) -> list[dict[object, object]]:
    header = next(i for i, r in enumerate(table) if r and r[0] == "Chatter")
    return [dict(zip(table[header], r, strict=True)) for r in table[header + 1 :]]


def test_the_exports_say_what_is_to_come_and_show_the_pages_words(rota: Collector) -> None:
    """Found by review: the By-chatter export gave the API's 2 shifts and 4 h where the
    page says 1 (+1 to come), without saying so; statuses were keys; a Currency row on
    sheets without money."""
    body = _api(rota, "attendance", rota.token("manager"), **AHEAD)
    api = next(c for c in body["chatters"] if c["chatter"] == "alice")
    rows = {r["Chatter"]: r for r in _records(_export(rota, "csv", table="chatters"))}
    alice = rows["Alice"]
    # The API's columns, named for what they hold, and the page's "so far" beside them.
    assert alice["Shifts (incl. to come)"] == str(api["shifts"]) == "2"
    assert alice["Scheduled (incl. to come) (seconds)"] == str(api["scheduled_seconds"])
    assert (alice["Shifts so far"], alice["Scheduled so far (seconds)"]) == ("1", "7200")
    assert (rows["Bob"]["Shifts so far"], rows["Bob"]["Shifts (incl. to come)"]) == ("0", "1")
    sheet = _export(rota, "xlsx", table="chatters")
    alice = next(r for r in _records(sheet) if r["Chatter"] == "Alice")
    assert alice["Shifts so far"] == 1 and alice["Shifts (incl. to come)"] == 2
    assert alice["Scheduled so far (h:mm:ss)"] == dt.timedelta(hours=2)
    assert alice["Scheduled (incl. to come) (h:mm:ss)"] == dt.timedelta(hours=4)
    # The shifts: each status in the page's words.
    statuses = [r["Status"] for r in _records(_export(rota, "csv"))]
    assert statuses == ["Left early", "Upcoming", "Upcoming"]
    shifts = _export(rota, "xlsx")
    assert [r["Status"] for r in _records(shifts)] == statuses
    # No money on these sheets: no currency in their title blocks.
    for table in (sheet, shifts, _export(rota, "xlsx", table="days", chatter="alice")):
        assert "Currency" not in [r[0] for r in table], table[:6]
        assert "Range" in [r[0] for r in table]


def test_a_creator_filter_lists_only_its_chatters(rota: Collector) -> None:
    """Found by review: filtered by creator, the page listed other creators' chatters
    (with 0 shifts) and the time outside shifts, of every creator, did not say so."""
    manager = rota.token("manager")
    assert {c["chatter"] for c in _api(rota, "attendance", manager, **AHEAD)["chatters"]} == {
        "alice",
        "bob",
    }
    nova = _api(rota, "attendance", manager, **AHEAD, creator="nova")
    assert [c["chatter"] for c in nova["chatters"]] == ["bob"]  # alice works for luna only
    rows = _records(_export(rota, "csv", table="chatters", creator="nova"))
    assert [r["Chatter"] for r in rows] == ["Bob"]
    assert "Online outside shifts (all creators) (seconds)" in rows[0]
    unfiltered = _records(_export(rota, "csv", table="chatters"))
    assert "Online outside shifts (seconds)" in unfiltered[0]
    assert login(rota.http, "boss@agency.test", PASSWORD).status_code == 302
    page = rota.http.get("/attendance", params={"preset": "custom", **AHEAD, "creator": "nova"})
    table = section(page.text, "chatters-h")
    assert 'data-key="alice"' not in table and 'data-key="bob"' in table
    assert "Online outside shifts (all creators)" in table
    assert "whatever the creator" in page.text  # the page's note says why
    whole = rota.http.get("/attendance", params={"preset": "custom", **AHEAD}).text
    assert "(all creators)" not in whole and "METRICS.md" not in whole
    assert "more than 5 min after its start" in whole


def test_one_format_for_moments_and_spans() -> None:
    """Clock: the day and time, the time alone, and how many local days a span runs into."""
    paris = Clock(zoneinfo.ZoneInfo("Europe/Paris"), dt.datetime(2026, 3, 29, tzinfo=dt.UTC))
    start = dt.datetime(2026, 3, 28, 21, 0, tzinfo=dt.UTC)  # 22:00 in Paris
    end = dt.datetime(2026, 3, 29, 4, 0, tzinfo=dt.UTC)  # 06:00, after the clocks sprang
    assert (paris.when(start), paris.time(end)) == ("2026-03-28 22:00", "06:00")
    assert paris.time(start, seconds=True) == "22:00:00"
    assert (paris.days_after(start, end), paris.days_after(start, start)) == (1, 0)


def test_days_ahead_read_with_their_weekday() -> None:
    paris = Clock(zoneinfo.ZoneInfo("Europe/Paris"), dt.datetime(2026, 11, 29, tzinfo=dt.UTC))
    # 23:30 UTC on Sunday is already Monday in Paris: the local day's weekday.
    assert paris.day_when(dt.datetime(2026, 11, 29, 23, 30, tzinfo=dt.UTC)) == (
        "Mon 2026-11-30 00:30"
    )
