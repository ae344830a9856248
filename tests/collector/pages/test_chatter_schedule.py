"""A chatter's own schedule and attendance (issue 15), on their page and through the API:
the manager's numbers (one truth), nobody else's shifts or figures, and scheduled time
counted up to now with the rest "to come" (pages/scheduled.py)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from sqlalchemy import create_engine

from collector.pages.clock import Clock
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
    own = chatter_cells(recent, "alice")
    http.post("/logout", data={"csrf_token": re.findall(r'csrf_token" value="([^"]+)', page)[0]})
    assert login(http, "boss@agency.test", PASSWORD).status_code == 302
    managers = http.get("/attendance", params={"preset": "custom", **RECENT}).text
    assert chatter_cells(managers, "alice") == own
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
    assert f"{day(2)} 08:00</time>–" in upcoming and "Nova" in upcoming
    assert "covering for a colleague" in upcoming
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
    assert rota.http.get("/chatters/bob").status_code == 403
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
    bob = chatter_cells(page, "bob")
    assert 'data-value="0">0<span class="to-come">+1 to come</span>' in bob
    # A range wholly past: nothing to come, no note.
    past = rota.http.get("/attendance", params={"preset": "custom", **RECENT, "end": day(-1)})
    assert "to come" not in chatter_cells(past.text, "alice")
    assert 'id="to-come-note"' not in past.text


def test_one_format_for_moments_and_spans() -> None:
    """Clock: the day and time, the time alone, and how many local days a span runs into."""
    paris = Clock(zoneinfo.ZoneInfo("Europe/Paris"), dt.datetime(2026, 3, 29, tzinfo=dt.UTC))
    start = dt.datetime(2026, 3, 28, 21, 0, tzinfo=dt.UTC)  # 22:00 in Paris
    end = dt.datetime(2026, 3, 29, 4, 0, tzinfo=dt.UTC)  # 06:00, after the clocks sprang
    assert (paris.when(start), paris.time(end)) == ("2026-03-28 22:00", "06:00")
    assert paris.time(start, seconds=True) == "22:00:00"
    assert (paris.days_after(start, end), paris.days_after(start, start)) == (1, 0)
