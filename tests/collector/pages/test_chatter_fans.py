"""The chatter page's revenue breakdown and fan table: the API's numbers, links that sort,
search and page without JavaScript, and export links that download the same rows."""

from __future__ import annotations

import csv
import html
import io
import re

from tests.collector.auth.test_accounts import browser  # noqa: F401  (fixture)
from tests.collector.conftest import Collector
from tests.collector.ingest.test_events import ev
from tests.collector.pages.test_stats import PAGE, RANGE, logged_in
from tests.collector.stats.test_api import SCENARIO, at, when

EXTRA = [
    when(
        ev(f"x{i}", "message_sent", chatter="alice", fan=f"fan-{i:02d}", kind="direct"),
        at(20, 15, i),
    )
    for i in range(30)
]


def section(page: str, heading: str) -> str:
    start = page.index(f'id="{heading}"')
    return page[start : page.index("</section>", start)]


def fans_shown(page: str) -> list[str]:
    return re.findall(r'<tr data-fan="([^"]*)"', section(page, "fans-h"))


def link(page: str, pattern: str) -> str:
    found = re.search(pattern, page)
    assert found, pattern
    return html.unescape(found.group(1))


def test_breakdown_and_fans_are_the_apis(browser: Collector) -> None:  # noqa: F811
    browser.post_events(SCENARIO + EXTRA, browser.token("integration"))
    http = logged_in(browser, "boss@agency.test")
    page = http.get("/chatters/alice", params=PAGE).text
    split = http.get("/api/v1/stats/chatters/alice/breakdown", params=RANGE).json()
    kinds = section(page, "breakdown-h")
    by_kind = kinds[kinds.index('id="breakdown-kinds"') : kinds.index('id="breakdown-creators"')]
    by_creator = kinds[kinds.index('id="breakdown-creators"') :]
    # Sales before refunds, said so; refunds a negative line in both tables (the API's 10.00).
    assert '<th scope="row">PPV sales (before refunds)</th><td class="num" data-value="10.00">' in (
        by_kind
    )
    assert '<th scope="row">Tips (before refunds)</th>' in by_kind
    assert '<th scope="row">Refunds</th><td class="num" data-value="-10.00">-$10.00</td>' in by_kind
    assert split["totals"]["refunds"] == "10.00"
    net = re.search(
        r'<tfoot><tr><th scope="row">Net \(= Total sales\)</th>'
        r'<td class="num" data-value="([^"]*)"',
        by_kind,
    )
    assert net and net.group(1) == split["totals"]["net_revenue"] == "3.00"
    luna = re.search(
        r'<tr data-creator="luna"><th scope="row">Luna</th>(.*?)</tr>', by_creator, re.S
    )
    assert luna and re.findall(r">([^<]+)</td>", luna.group(1)) == [
        "$10.00",
        "$3.00",
        "-$10.00",
        "$3.00",
    ]
    total = re.search(r'<tfoot><tr><th scope="row">Total</th>(.*?)</tr>', by_creator, re.S)
    assert total and re.findall(r">([^<]+)</td>", total.group(1))[-2:] == ["-$10.00", "$3.00"]
    assert "net is the total sales" not in kinds and "minus refunds, give the net" in kinds

    api = http.get("/api/v1/stats/chatters/alice/fans", params={**RANGE, "per_page": "25"}).json()
    assert fans_shown(page) == [r["fan"] for r in api["fans"]]
    assert fans_shown(page)[:2] == ["f1", "f3"]  # top spenders first
    fan_table = section(page, "fans-h")
    assert "One row per fan and creator" in fan_table
    # The creator by name, as in the breakdown; the fan's refunds a negative amount too.
    f1 = re.search(r'<tr data-fan="f1" data-creator="luna">(.*?)</tr>', fan_table, re.S)
    assert f1 and '<td data-value="Luna">Luna</td>' in f1.group(1)
    assert 'data-value="-10.00"' in f1.group(1) and ">-$10.00<" in f1.group(1)
    assert "Page 1 of 2 · 32 fans" in page
    # The last contact is shown in the page's zone, the instant kept in the markup.
    assert 'datetime="2026-11-21T09:00:00+00:00">2026-11-21 09:00</time>' in page


def test_sort_search_and_page_links(browser: Collector) -> None:  # noqa: F811
    browser.post_events(SCENARIO + EXTRA, browser.token("integration"))
    http = logged_in(browser, "boss@agency.test")
    page = http.get("/chatters/alice", params=PAGE).text
    by_fan = link(page, r'<th scope="col" data-key="fan"[^>]*>\s*<a class="sort" href="([^"]+)"')
    assert "fans_sort=fan" in by_fan and "fans_order=asc" in by_fan and by_fan.endswith("#fans-h")
    sorted_page = http.get(by_fan).text
    assert fans_shown(sorted_page)[:3] == ["f1", "f3", "fan-00"]
    assert re.search(r'data-key="fan"\s+aria-sort="ascending"', section(sorted_page, "fans-h"))
    following = link(sorted_page, r'<a class="button" rel="next" href="([^"]+)"')
    second = http.get(following).text
    assert fans_shown(second) == [f"fan-{i:02d}" for i in range(23, 30)]
    assert "fans_sort=fan" in following and "Page 2 of 2" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second

    searched = http.get("/chatters/alice", params={**PAGE, "fans_q": "FAN-1"}).text
    assert fans_shown(searched) == [f"fan-{i:02d}" for i in range(10, 20)]
    nothing = http.get("/chatters/alice", params={**PAGE, "fans_q": "zzz"}).text
    assert fans_shown(nothing) == [] and "No fan matches “zzz”." in nothing
    one = http.get("/chatters/alice", params={**PAGE, "fans_q": "fan-07"}).text
    assert "Page 1 of 1 · 1 fan<" in one
    # An old link past the last page says so and leads back, not "Page 9 of 2".
    beyond = http.get("/chatters/alice", params={**PAGE, "fans_page": "9"}).text
    assert fans_shown(beyond) == [] and "There are only 2 pages" in beyond
    assert "Page 9" not in beyond and "32 fans<" in beyond
    # A pasted novel is cut to the longest fan reference, not an error page.
    long = http.get("/chatters/alice", params={**PAGE, "fans_q": "FAN-1" + "x" * 50_000})
    assert long.status_code == 200 and fans_shown(long.text) == []
    # Stale or edited links show the defaults, not an error.
    stale = {**PAGE, "fans_sort": "luck", "fans_order": "up", "fans_page": "x"}
    assert fans_shown(http.get("/chatters/alice", params=stale).text)[:2] == ["f1", "f3"]


def test_export_link_downloads_the_rows_shown(browser: Collector) -> None:  # noqa: F811
    browser.post_events(SCENARIO, browser.token("integration"))
    http = logged_in(browser, "boss@agency.test")
    page = http.get("/chatters/alice", params={**PAGE, "fans_sort": "fan", "fans_order": "asc"})
    csv_link = link(page.text, r'data-table="fans-table" download href="([^"]+format=csv[^"]*)"')
    reply = http.get(csv_link)
    assert reply.status_code == 200
    rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert [r["Fan"] for r in rows] == fans_shown(page.text) == ["f1", "f3"]
    assert list(rows[0])[:3] == ["Fan", "Creator name", "Net spend"]  # the page's columns
    assert rows[0]["Creator name"] == "Luna"
    breakdown = link(page.text, r'download href="([^"]*/breakdown[^"]*format=csv[^"]*)"')
    lines = list(csv.DictReader(io.StringIO(http.get(breakdown).content.decode("utf-8-sig"))))
    assert [(r["Creator"], r["Net (= total sales)"]) for r in lines] == [("luna", "3.00")]


def test_a_mass_message_is_no_fan(browser: Collector) -> None:  # noqa: F811
    mass = when(ev("m1", "message_sent", chatter="alice", fan="all-fans", kind="mass"), at(20, 15))
    browser.post_events([*SCENARIO, mass], browser.token("integration"))
    http = logged_in(browser, "boss@agency.test")
    assert fans_shown(http.get("/chatters/alice", params=PAGE).text) == ["f1", "f3"]


def test_a_chatter_sees_their_own_fans(browser: Collector) -> None:  # noqa: F811
    browser.post_events(SCENARIO, browser.token("integration"))
    http = logged_in(browser, "alice@agency.test")
    page = http.get("/chatters/alice", params=PAGE).text
    assert fans_shown(page) == ["f1", "f3"]
    assert http.get("/api/v1/stats/chatters/bob/fans", params=RANGE).status_code == 403
    assert http.get("/chatters/bob", params=PAGE).status_code == 403
