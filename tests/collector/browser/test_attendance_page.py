"""The attendance page in real Chromium at a laptop's and a phone's width, on the demo
agency with a week of shifts and coverage rules added: the tables show the API's
numbers, the heat map has its table alternative, and the exports read back."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Locator
from sqlalchemy import create_engine, select

from collector.db.models import Chatter, Creator, chatter_creators
from collector.demo.agency import MANAGER_TOKEN
from collector.pages.formatting import duration
from tests.collector.attendance.helpers import add_rule, add_shift
from tests.collector.browser.conftest import (
    MANAGER,
    LiveCollector,
    Recorded,
    log_in,
    serving,
    shown_range,
)


@pytest.fixture(scope="module")
def staffed(
    demo_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveCollector]:
    """The demo agency with every chatter on a 09:00-17:00 UTC shift for their first
    creator, every day of the last two weeks, and each creator needing one chatter 08-20."""
    with serving(demo_database, tmp_path_factory.mktemp("attendance")) as server:
        engine = create_engine(f"sqlite:///{server.database}")
        first = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=14)
        with engine.begin() as c:
            links = sorted(
                c.execute(select(chatter_creators.c.chatter_id, chatter_creators.c.creator_id))
            )
            mine: dict[int, int] = {}
            for chatter, creator in links:
                mine.setdefault(chatter, creator)
            for chatter in c.scalars(select(Chatter.id)):
                if chatter in mine:
                    add_shift(
                        c,
                        chatter_id=chatter,
                        creator_id=mine[chatter],
                        zone="UTC",
                        weekdays=127,
                        start_minute=9 * 60,
                        end_minute=17 * 60,
                        first_day=first,
                    )
            for creator in c.scalars(select(Creator.id)):
                add_rule(
                    c,
                    creator_id=creator,
                    zone="UTC",
                    weekdays=127,
                    start_minute=8 * 60,
                    end_minute=20 * 60,
                    required=1,
                )
        engine.dispose()
        yield server


def _api(live: LiveCollector, path: str, **params: str) -> httpx.Response:
    reply = httpx.get(
        f"{live.url}/api/v1/stats/{path}",
        params=params,
        headers={"Authorization": f"Bearer {MANAGER_TOKEN}"},
    )
    assert reply.status_code == 200, reply.text
    return reply


def _so_far(cell: Locator) -> tuple[int, int]:
    """A count shown so far (its data-value) and the "+N to come" under it."""
    later = cell.locator(".to-come")
    to_come = int(later.inner_text().split()[0]) if later.count() else 0
    return int(cell.get_attribute("data-value") or ""), to_come


@pytest.mark.parametrize("width", [1440, 390])
def test_attendance_page(browser: Browser, staffed: LiveCollector, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    tab = Recorded(context.new_page())
    page = tab.page
    try:
        log_in(tab, staffed, MANAGER)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Attendance").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Attendance", level=1).is_visible()
        chosen = shown_range(page)
        body = _api(staffed, "attendance", **chosen, per_page="50").json()
        assert body["total"] > 0
        # Every chatter row as the API has it, formatted as a person reads it.
        for c in body["chatters"]:
            if not (c["shifts"] or c["outside_online_seconds"]):
                continue
            row = page.locator(f'#attendance-chatters tr[data-key="{c["chatter"]}"] td')
            texts = row.all_inner_texts()
            # Shifts and scheduled time so far, and "+… to come": the API's whole range.
            so_far, later = _so_far(row.nth(0))
            assert so_far + later == c["shifts"]
            assert texts[0].startswith(str(so_far))
            scheduled = int(row.nth(1).get_attribute("data-value") or "")
            assert scheduled <= c["scheduled_seconds"]
            assert (scheduled == c["scheduled_seconds"]) == (
                row.nth(1).locator(".to-come").count() == 0
            )
            assert texts[2] == duration(c["online_seconds"])
            assert texts[7] == str(c["no_shows"])
            assert texts[8] == duration(c["outside_online_seconds"])
        # Why the totals can differ from Chatter stats at the range's edges.
        assert "ranges add up" in page.locator("#attendance-edges").inner_text()
        shown = page.locator("#attendance-shifts tbody tr").count()
        assert shown == len(body["shifts"])
        # The heat map: one row per creator, 24 hours; its table alternative opens.
        coverage = _api(staffed, "coverage", **chosen).json()
        # Hours not over yet are in no figure, and the page says how many there are.
        assert coverage["hours_to_come"] > 0  # the default range ends today
        assert f"{coverage['hours_to_come']} hours of this range are still to come" in (
            page.locator("#coverage-h ~ p.muted").first.inner_text()
        )
        heat = page.locator("#coverage-heat tbody tr")
        assert heat.count() == len(coverage["creators"])
        assert heat.first.locator("td").count() == 25
        page.get_by_text("Coverage as a table").click()
        assert page.locator("#coverage-table").is_visible()
        first = coverage["creators"][0]
        cells = heat.first.locator("td").all_inner_texts()
        for hour in (3, 9):
            ratio = first["hours"][hour]["coverage"]
            assert cells[hour] == ("–" if ratio is None else f"{ratio * 100:.0f} %")
        # A table wider than the screen says it scrolls sideways (scroll.js), one that fits
        # does not.
        wraps = page.locator("#attendance-chatters").locator("xpath=ancestor::div[1]")
        overflows = wraps.evaluate("w => w.scrollWidth - w.clientWidth > 1")
        hint = page.locator("#chatters-h ~ p.scroll-hint").first
        assert hint.is_visible() == overflows
        assert overflows == (width < 600)
        # Nothing sticks out sideways (wide tables scroll inside their frame).
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        tab.screenshot(f"attendance-{width}")
        # The export buttons download the API's files.
        with page.expect_download() as got:
            page.locator("#shifts-h ~ nav a", has_text="Export CSV").click()
        rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text("utf-8-sig"))))
        assert len(rows) == body["total"]
        with page.expect_download() as got:
            page.locator("#chatters-h ~ nav a", has_text="Export Excel").click()
        sheet = load_workbook(io.BytesIO(Path(got.value.path()).read_bytes())).active
        names = [r[0].value for r in sheet.iter_rows() if r[0].value]
        listed = [c["name"] for c in body["chatters"]]
        assert set(listed) <= set(names)
    finally:
        context.close()
    assert tab.errors == []
