"""Every page at a phone's width (390 px) and a laptop's (1440 px), as the role that sees it.

No page may scroll sideways (wide tables scroll inside their card), every chart canvas
must be drawn, figures and dates never wrap mid-value, export buttons neither break inside
nor split up, and the pages follow one reading rule: durations with units whose parts add
up, no "-0.0", today's partial day marked.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from collector.pages.colours import SERIES
from tests.collector.browser.conftest import (
    ADMIN,
    CHATTER,
    MANAGER,
    LiveCollector,
    Recorded,
    log_in,
)

WIDTHS = (390, 1440)
# (role, path): every page a person reaches, as the role that reaches it.
PAGES = [
    (None, "/login"),
    (None, "/no-such-page"),  # the error page
    (MANAGER, "/stats"),
    (MANAGER, "/stats?creator=luna"),
    (MANAGER, "/stats?by=response_time"),
    (MANAGER, "/chatters/bea"),
    (MANAGER, "/chatters/bea?creator=luna"),
    (MANAGER, "/conversations"),
    (CHATTER, "/chatters/alex"),
    (ADMIN, "/admin/people"),
    (ADMIN, "/admin/creators/luna"),
    (ADMIN, "/admin/chatters/bea"),
    (ADMIN, "/admin/chatters/bea/deactivate"),
    (ADMIN, "/admin/users"),
    (ADMIN, "/admin/enrollment"),
    (ADMIN, "/admin/devices"),
    (ADMIN, "/admin/tokens"),
    (ADMIN, "/admin/alerts"),
    (ADMIN, "/admin/settings"),
]

# Pages also photographed at a phone's width (`make screenshots`: docs/screenshots/NAME.png).
PHONE_SHOTS = {
    "/stats": "phone-stats",
    "/chatters/bea": "phone-chatter",
    "/conversations": "phone-conversations",
    "/admin/people": "phone-admin-people",
}


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def sized(request: pytest.FixtureRequest, browser: Browser) -> Iterator[tuple[int, Browser]]:
    yield request.param, browser


def _tab(browser: Browser, width: int) -> Recorded:
    context = browser.new_context(viewport={"width": width, "height": 900})
    return Recorded(context.new_page())


def overflow(page: Page) -> int:
    """How far the page scrolls sideways (0 when it fits)."""
    width: int = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return width


def widest(page: Page) -> list[str]:
    """The elements that stick out of the window, for the failure message."""
    found: list[str] = page.evaluate(
        """() => Array.from(document.querySelectorAll('body *'))
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .filter((e) => !e.closest('.table-wrap'))
            .slice(0, 8).map((e) => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className)"""
    )
    return found


def blank_canvases(page: Page) -> list[str]:
    """Ids of chart canvases with nothing drawn on them."""
    blank = []
    for canvas in page.locator("canvas").all():
        url = canvas.evaluate("(c) => c.toDataURL('image/png')")
        pixels = canvas.evaluate(
            """(c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n += 1; return n; }"""
        )
        assert base64.b64decode(url.split(",", 1)[1])[:4] == b"\x89PNG"
        if pixels < 50:
            blank.append(canvas.get_attribute("id") or "?")
    return blank


# Figures, dates and times, references (a visitor, a platform) and marked ranges ("1–5").
VALUES = "td.num, th.num, .date, .ref, time, .figures .value, .nowrap"


def wrapped_values(page: Page) -> list[str]:
    """Numeric and date cells whose text runs over more than one line."""
    found: list[str] = page.evaluate(
        r"""() => Array.from(document.querySelectorAll(VALUES))
            .filter((e) => /\d/.test(e.textContent) && e.textContent.trim().length < 40)
            .filter((e) => {
                // Lines of text only (a swatch beside the text is not a second line, nor
                // the "+… to come" line under a figure, nor words for screen readers).
                const tops = [];
                const walk = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
                for (let n = walk.nextNode(); n; n = walk.nextNode()) {
                    if (!n.textContent.trim()) continue;
                    if (n.parentElement.closest('.to-come, .visually-hidden')) continue;
                    const r = document.createRange(); r.selectNodeContents(n);
                    for (const box of r.getClientRects()) if (box.width) tops.push(box.top);
                }
                return tops.length > 1 && Math.max(...tops) - Math.min(...tops) > 4;
            })
            .slice(0, 5).map((e) => e.textContent.trim())""".replace("VALUES", repr(VALUES))
    )
    return found


def split_exports(page: Page) -> list[str]:
    """Export buttons whose label runs over two lines, and toolbars whose export buttons
    are not on one line (CSV at the end of one line, Excel alone on the next)."""
    found: list[str] = page.evaluate(
        """() => Array.from(document.querySelectorAll('.toolbar'))
            .filter((bar) => bar.querySelector('a.export'))
            .flatMap((bar) => {
                const buttons = Array.from(bar.querySelectorAll('a.export'));
                const where = bar.closest('section')?.getAttribute('aria-labelledby') || '?';
                const problems = [];
                for (const button of buttons) {
                    // Lines of the visible label (the screen readers' words are hidden).
                    const tops = new Set();
                    const walk = document.createTreeWalker(button, NodeFilter.SHOW_TEXT);
                    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
                        if (!n.textContent.trim() || n.parentElement.closest('.visually-hidden'))
                            continue;
                        const r = document.createRange(); r.selectNodeContents(n);
                        for (const box of r.getClientRects())
                            if (box.width) tops.add(Math.round(box.top));
                    }
                    if (tops.size !== 1) problems.push(where + ': ' + button.innerText + ' breaks');
                }
                const rows = new Set(buttons.map((b) => Math.round(b.getBoundingClientRect().top)));
                if (rows.size !== 1) problems.push(where + ': exports on ' + rows.size + ' lines');
                return problems;
            })"""
    )
    return found


@pytest.mark.parametrize(("who", "path"), PAGES, ids=[p for _, p in PAGES])
def test_no_page_scrolls_sideways(
    live: LiveCollector, sized: tuple[int, Browser], who: tuple[str, str] | None, path: str
) -> None:
    width, browser = sized
    tab = _tab(browser, width)
    page = tab.page
    try:
        if who is not None:
            log_in(tab, live, who)
        page.goto(live.url + path)
        page.wait_for_load_state("load")
        if page.locator("#chart-data").count():
            page.wait_for_selector("body[data-ready]", state="attached", timeout=10_000)
        assert overflow(page) <= 0, f"{path} at {width} px: {widest(page)}"
        assert wrapped_values(page) == [], f"{path} at {width} px wraps a value"
        assert split_exports(page) == [], f"{path} at {width} px"
        assert blank_canvases(page) == [], f"{path} at {width} px has blank charts"
        if width == min(WIDTHS) and path in PHONE_SHOTS:
            tab.screenshot(PHONE_SHOTS[path])
    finally:
        page.context.close()


def _texts(page: Page, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts()]


DURATION = re.compile(r"^(?:(\d+) h (\d\d) min|(\d+) min|(\d+) s)$")


def seconds(text: str) -> int:
    """A shown duration back in seconds (at its own precision)."""
    match = DURATION.match(text)
    assert match, f"{text!r} is not a duration with a unit"
    hours, minutes, only_minutes, only_seconds = match.groups()
    if hours is not None:
        return int(hours) * 3600 + int(minutes) * 60
    if only_minutes is not None:
        return int(only_minutes) * 60
    return int(only_seconds)


def test_online_parts_add_up_on_cards_and_rows(live: LiveCollector, browser: Browser) -> None:
    tab = _tab(browser, 1440)
    page = tab.page
    try:
        log_in(tab, live, MANAGER)
        for path in ("/stats?preset=last_30_days", "/chatters/bea?preset=last_30_days"):
            page.goto(live.url + path)
            split = page.locator('[data-figure="online_seconds"] .split').inner_text()
            match = re.fullmatch(r"active (.+) · inactive (.+)", split.strip())
            assert match, split
            online = page.locator('[data-figure="online_seconds"] .value').inner_text()
            assert seconds(match[1]) + seconds(match[2]) == seconds(online)
        page.goto(live.url + "/stats?preset=last_30_days")
        table = page.locator("#chatters-table")
        heads = _texts(table, "thead th")
        checked = 0
        for row in table.locator("tbody tr:visible").all():
            cells = [c.strip() for c in row.locator("th, td").all_inner_texts()]
            if len(cells) != len(heads):
                continue
            online, active, inactive = (
                cells[heads.index(name)] for name in ("Online", "Active", "Inactive")
            )
            if "–" in (online, active, inactive):
                continue
            assert seconds(active) + seconds(inactive) == seconds(online), cells
            checked += 1
        assert checked >= 3
        page.goto(live.url + "/chatters/bea?preset=last_30_days")
        table = page.locator("#daily-table")
        heads = _texts(table, "thead th")
        for row in table.locator("tbody tr, tfoot tr").all():
            cells = [c.strip() for c in row.locator("th, td").all_inner_texts()]
            online, active, inactive = (
                cells[heads.index(name)] for name in ("Online", "Active", "Inactive")
            )
            assert seconds(active) + seconds(inactive) == seconds(online), cells
    finally:
        page.context.close()


@pytest.mark.parametrize("who", [MANAGER, CHATTER], ids=["manager", "chatter"])
def test_no_minus_zero_and_today_marked_partial(
    live: LiveCollector, browser: Browser, who: tuple[str, str]
) -> None:
    tab = _tab(browser, 1440)
    page = tab.page
    try:
        log_in(tab, live, who)
        paths = (
            ["/chatters/alex"] if who == CHATTER else ["/stats", "/chatters/bea", "/conversations"]
        )
        for path in paths:
            page.goto(live.url + path)
            page.wait_for_selector("body[data-ready]", state="attached", timeout=10_000)
            text = page.locator("main").inner_text()
            assert not re.search(r"[-−]0\.0\b", text), f"{path} shows -0.0"
            for delta in page.locator(".delta").all():
                if re.match(r"^[+-]?0\.0 ", delta.inner_text()):
                    assert "flat" in (delta.get_attribute("class") or "")
            # Every daily chart ends on today, drawn as partial, with a note saying so.
            charts = page.evaluate(
                """() => Object.values(Chart.instances).filter((c) => c.canvas.dataset.daily)
                    .map((c) => ({id: c.canvas.id, last: c.data.labels[c.data.labels.length - 1],
                                  partial: c.canvas.dataset.partial}))"""
            )
            assert charts, f"{path} has no daily charts"
            today = page.get_by_label("To", exact=True).input_value()  # the default: to today
            for chart in charts:
                assert chart["last"] == today, chart
                assert chart["partial"] == "true", chart
                note = page.locator(f"#{chart['id']}-partial")
                assert "today so far" in note.inner_text().lower(), chart
            # Today keeps each series' colour (bars hatched, not lighter), and the legend
            # shows every series in its full colour.
            legends = page.evaluate(
                """() => Object.values(Chart.instances).filter((c) => c.canvas.dataset.partial)
                    .map((c) => ({id: c.canvas.id,
                        legend: c.legend.legendItems.map((i) => i.fillStyle),
                        series: c.data.datasets.map((d) => d.seriesColour),
                        hatched: c.data.datasets.map((d, n) => {
                            const bars = c.getDatasetMeta(n);
                            if (bars.type !== "bar") return null;
                            const last = bars.data[bars.data.length - 1].options;
                            return last.backgroundColor instanceof CanvasPattern
                                && last.borderColor === d.seriesColour;
                        })}))"""
            )
            for chart in legends:
                assert chart["legend"] == chart["series"], chart
                assert all(h in (None, True) for h in chart["hatched"]), chart
            if path.startswith("/chatters/"):
                activity = next(c for c in legends if c["id"] == "activity-chart")
                assert activity["legend"] == [SERIES[k] for k in ("active", "inactive", "paused")]
                # The daily table marks today's row as the charts do.
                marked = page.locator("#daily-table tbody th[data-partial]")
                assert marked.all_inner_texts() == [today]
                assert "today so far" in page.locator("#daily-table-partial").inner_text()
    finally:
        page.context.close()


def test_shared_activity_is_marked_on_a_chatters_page(
    live: LiveCollector, browser: Browser
) -> None:
    tab = _tab(browser, 390)
    page = tab.page
    try:
        log_in(tab, live, MANAGER)
        # Bea works for luna and nova: under luna, her activity is her whole activity.
        for path, marked in (
            ("/chatters/bea?creator=luna", True),
            ("/chatters/bea", False),  # all creators: nothing is shared
            ("/chatters/alex?creator=luna", False),  # one creator only
        ):
            page.goto(live.url + path)
            assert page.locator("#shared-note").count() == int(marked), path
            badges = page.locator("[data-figure] dt .badge.shared").count()
            assert badges == (2 if marked else 0), path  # online time and keystrokes
        page.goto(live.url + "/chatters/bea?creator=luna")
        assert "several creators" in page.locator("#shared-note").inner_text()
    finally:
        page.context.close()


def test_all_chatters_table_fits_a_laptop(live: LiveCollector, browser: Browser) -> None:
    """At 1440 px the All chatters table fits its card: no column cut, no scrolling."""
    tab = _tab(browser, 1440)
    page = tab.page
    try:
        log_in(tab, live, MANAGER)
        page.goto(live.url + "/stats?preset=last_30_days")
        fit = page.evaluate(
            """() => { const t = document.querySelector('#chatters-table');
                return [t.scrollWidth, t.closest('.table-wrap').clientWidth]; }"""
        )
        assert fit[0] <= fit[1], fit
        # The name is the link to the chatter's page (no separate column for it).
        row = page.locator("#chatters-table tbody tr[data-key]").first
        assert row.locator("th a").get_attribute("href", timeout=2_000)
    finally:
        page.context.close()


def test_the_chatter_page_tables_fit_a_laptop(live: LiveCollector, browser: Browser) -> None:
    """At 1440 px no column of a chatter's tables is cut off in its card: the daily table,
    the breakdown by creator (long headings wrap) and the fan table."""
    tab = _tab(browser, 1440)
    page = tab.page
    try:
        log_in(tab, live, MANAGER)
        page.goto(live.url + "/chatters/bea?preset=last_30_days")
        fits = page.evaluate(
            """() => ['daily-table', 'breakdown-kinds', 'breakdown-creators', 'fans-table']
                .map((id) => { const t = document.getElementById(id);
                    return [id, t.scrollWidth, t.closest('.table-wrap').clientWidth]; })"""
        )
        assert all(width <= room for _, width, room in fits), fits
    finally:
        page.context.close()


def test_the_admins_header_is_one_line_at_1440(live: LiveCollector, browser: Browser) -> None:
    """The admin's nav (the longest: every admin page) and the login's corner share one
    line at 1440 px; at 390 px the nav wraps but nothing scrolls sideways."""
    for width in WIDTHS:
        tab = _tab(browser, width)
        page = tab.page
        try:
            log_in(tab, live, ADMIN)
            page.goto(live.url + "/admin/alerts")
            # The vertical middles of the header's items: one line when they are close.
            middles = page.evaluate(
                """() => [...document.querySelectorAll(
                    'header.top .brand, header.top nav a, header.top .who > *')]
                    .map((e) => e.getBoundingClientRect())
                    .filter((r) => r.width).map((r) => (r.top + r.bottom) / 2)"""
            )
            if width == 1440:
                assert max(middles) - min(middles) < 12, "the admin's header wraps at 1440 px"
            assert overflow(page) <= 0, f"the header at {width} px: {widest(page)}"
            tab.screenshot(f"admin-header-{width}")
        finally:
            page.context.close()
