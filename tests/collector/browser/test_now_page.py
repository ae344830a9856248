"""The Now page in Chromium at a phone's and a laptop's width: scheduled now against
presence per creator, the scheduled-but-offline chatter highlighted, and the board
refreshing itself from the API without a reload."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from playwright.sync_api import Browser

from shared import signing
from shared.protocol import format_time
from tests.collector.browser.conftest import (
    MANAGER,
    LiveCollector,
    Recorded,
    log_in,
    serving,
)

PRESENCE = "/api/v1/agents/presence"


class Device:
    def __init__(self, live: LiveCollector, chatter: str) -> None:
        token = live.cli("enroll-token", chatter)
        reply = httpx.post(
            live.url + "/api/v1/agents/enroll",
            json={"token": token, "hostname": "pc", "platform": "Linux", "agent_version": "1"},
        )
        assert reply.status_code == 201, reply.text
        data = reply.json()
        self.url, self.key_id, self.secret = live.url, data["key_id"], data["secret"]

    def send(self, state: str, idle: int = 0) -> None:
        # Whole seconds, one later each time: every message is newer than the stored one.
        moment = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
        body = msgspec.json.encode(
            {"state": state, "idle_seconds": idle, "sent_at": format_time(moment)}
        )
        headers = signing.signed_headers(
            self.key_id, [self.secret], "POST", PRESENCE, int(time.time()), body
        )
        reply = httpx.post(
            self.url + PRESENCE,
            content=body,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert reply.status_code == 200 and reply.json()["stored"], reply.text
        time.sleep(1.1)


def add_shift(database: Path, chatter: str, creator: str) -> None:
    """A one-off UTC shift that started an hour ago and runs eight hours."""
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(hours=1)
    minute = start.hour * 60 + start.minute
    stamp = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" ")
    with sqlite3.connect(database) as conn:
        conn.execute(
            "INSERT INTO shifts (chatter_id, creator_id, zone, weekdays, start_minute, "
            "end_minute, first_day, last_day, note, created_at, updated_at) VALUES ("
            "(SELECT id FROM chatters WHERE key = ?), (SELECT id FROM creators WHERE key = ?), "
            "'UTC', 0, ?, ?, ?, NULL, '', ?, ?)",
            (
                chatter,
                creator,
                minute,
                (minute + 480) % 1440,
                start.date().isoformat(),
                stamp,
                stamp,
            ),
        )


@pytest.fixture(scope="module")
def now_site(
    demo_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveCollector, Device]]:
    # Messages of one device a second apart here: no least interval (15 s by default).
    quick = {"CHATTER_PRESENCE_MIN_INTERVAL": "0"}
    with serving(demo_database, tmp_path_factory.mktemp("now"), quick) as live:
        # A roster of its own: the demo's would put whoever works at this hour on the page.
        with sqlite3.connect(live.database) as conn:
            conn.execute("DELETE FROM shift_exceptions")
            conn.execute("DELETE FROM shifts")
        add_shift(live.database, "alex", "luna")  # online: active
        add_shift(live.database, "chen", "nova")  # scheduled, never online: highlighted
        alex = Device(live, "alex")
        alex.send("active")
        Device(live, "bea").send("idle", 250)  # online, no shift: under luna and nova
        yield live, alex


@pytest.mark.parametrize("width", [390, 1440])
def test_the_now_page(now_site: tuple[LiveCollector, Device], browser: Browser, width: int) -> None:
    live, alex = now_site
    context = browser.new_context(viewport={"width": width, "height": 900})
    tab = Recorded(context.new_page())
    errors: list[str] = []
    tab.page.on("pageerror", lambda error: errors.append(str(error)))
    tab.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    requests: list[str] = []
    tab.page.on("request", lambda r: requests.append(r.url))
    page = tab.page
    try:
        alex.send("active")
        log_in(tab, live, MANAGER)
        page.get_by_role("link", name="Now", exact=True).click()
        page.wait_for_load_state("load")
        assert page.url.endswith("/now")
        luna = page.locator('section[data-creator="luna"]')
        nova = page.locator('section[data-creator="nova"]')
        alex_row = luna.locator('tr[data-chatter="alex"]')
        assert alex_row.get_attribute("data-state") == "active"
        assert "active" in alex_row.inner_text()
        chen_row = nova.locator('tr[data-chatter="chen"]')
        assert chen_row.get_attribute("class") == "missing"
        text = chen_row.inner_text()
        assert "missing" in text and text.count("offline") == 1  # said once, not twice
        highlight = chen_row.evaluate("(row) => getComputedStyle(row).backgroundColor")
        plain = alex_row.evaluate("(row) => getComputedStyle(row).backgroundColor")
        assert highlight != plain
        assert "0 of 1 scheduled online" in nova.locator("h2").inner_text()
        # A shift's times stay on one line, even on a phone (with the "(+1)" of a next day,
        # whose words for screen readers are hidden: not lines).
        shift = chen_row.locator("td.shift")
        lines = shift.evaluate(
            """(td) => { const tops = new Set();
                const walk = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
                for (let n = walk.nextNode(); n; n = walk.nextNode()) {
                    if (!n.textContent.trim()) continue;
                    if (n.parentElement.closest('.next-day, .visually-hidden')) continue;
                    const r = document.createRange(); r.selectNodeContents(n);
                    for (const b of r.getClientRects()) if (b.width) tops.add(Math.round(b.top));
                }
                return tops.size; }"""
        )
        assert lines == 1
        for section in (luna, nova):  # bea: online, scheduled for nobody
            assert "Bea Santos" in section.locator(".now-list").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        tab.screenshot(f"now-{width}")

        # The board follows presence without a reload: alex pauses.
        page.goto(live.url + "/now?refresh=5")
        page.evaluate("window.stillHere = true")
        alex.send("paused")
        page.wait_for_selector(
            'section[data-creator="luna"] tr[data-chatter="alex"][data-state="paused"]',
            timeout=20_000,
        )
        assert page.evaluate("window.stillHere") is True  # redrawn in place, not reloaded
        assert page.locator("#now-board").get_attribute("data-loaded")
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        assert [u for u in requests if not u.startswith(live.url)] == []
    finally:
        context.close()
    assert errors == []


def test_a_chatters_page_shows_their_state(
    now_site: tuple[LiveCollector, Device], browser: Browser
) -> None:
    live, alex = now_site
    alex.send("idle", 250)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    tab = Recorded(context.new_page())
    try:
        log_in(tab, live, MANAGER)
        tab.page.goto(live.url + "/chatters/alex")
        state = tab.page.locator("#chatter-now [data-state]")
        assert state.get_attribute("data-state") == "idle"
        assert state.inner_text() == "idle 4 min"
    finally:
        context.close()
