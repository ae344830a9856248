"""The dashboard's pages over the test client, on SQLite and PostgreSQL: roles, errors,
the numbers against the API's, and the API read with a dashboard session."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import httpx

from tests.collector.auth.test_accounts import PASSWORD, browser, login  # noqa: F401  (fixture)
from tests.collector.conftest import Collector
from tests.collector.stats.test_api import SCENARIO

RANGE = {"start": "2026-11-20", "end": "2026-11-21", "tz": "UTC"}
PAGE = {"preset": "custom", **RANGE}


def logged_in(agency: Collector, email: str) -> httpx.Client:
    http = agency.http
    assert login(http, email, PASSWORD).status_code == 302
    return http


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">.*?<span class="value">([^<]*)</span>', html, re.S)
    assert found, name
    return found.group(1)


def test_manager_pages_show_the_api_numbers(browser: Collector) -> None:  # noqa: F811
    token = browser.token("integration")
    assert browser.post_events(SCENARIO, token).status_code == 200
    http = logged_in(browser, "boss@agency.test")
    page = http.get("/stats", params=PAGE)
    assert page.status_code == 200
    api = http.get("/api/v1/stats/chatters", params=RANGE).json()  # the same session
    totals = api["totals"]
    assert figure(page.text, "total_sales") == f"${Decimal(totals['total_sales']):,.2f}"
    assert figure(page.text, "messages_sent") == str(totals["messages_sent"])
    # Totals are the sum of the rows, the unattributed row included.
    rows = api["chatters"]
    assert Decimal(totals["total_sales"]) == sum(Decimal(r["total_sales"]) for r in rows)
    assert "Unattributed" in [r["name"] for r in rows]
    chatter = http.get("/chatters/alice", params=PAGE)
    daily = http.get("/api/v1/stats/chatters/alice/daily", params=RANGE).json()
    assert chatter.status_code == 200
    assert figure(chatter.text, "total_sales") == f"${Decimal(daily['totals']['total_sales']):,.2f}"


def test_bad_selections_answer_with_a_page_not_a_crash(browser: Collector) -> None:  # noqa: F811
    http = logged_in(browser, "boss@agency.test")
    # A bad choice falls back to a default and says why, rather than a dead end.
    for params, why in [
        ({**PAGE, "creator": "nobody"}, "among those you can see"),
        ({"tz": "Mars/Olympus"}, "not an IANA time zone"),
        ({**PAGE, "start": "2020-01-01"}, "at most 366 days"),
        ({**PAGE, "start": "0001-01-01"}, "outside the dates"),
        ({**PAGE, "end": "9999-12-31"}, "outside the dates"),
    ]:
        page = http.get("/stats", params=params)
        assert page.status_code == 200 and why in page.text, params
        assert 'role="alert"' in page.text
    # Stale sort or ranking links show the default order.
    assert http.get("/stats", params={**PAGE, "by": "luck", "sort": "x"}).status_code == 200
    assert http.get("/chatters/nobody", params=PAGE).status_code == 404
    # The API says the same in JSON, never a 500.
    for start in ("0001-01-01", "9999-12-31"):
        reply = http.get("/api/v1/stats/chatters", params={**RANGE, "start": start})
        assert reply.status_code == 400 and reply.json()["error"] == "bad_parameter"


def test_a_chatter_reaches_only_their_own_numbers(browser: Collector) -> None:  # noqa: F811
    http = logged_in(browser, "alice@agency.test")
    start = http.get("/")
    assert start.status_code == 302 and start.headers["location"] == "/chatters/alice"
    assert http.get("/chatters/alice", params=PAGE).status_code == 200
    for path in ["/chatters/bob", "/stats", "/admin/"]:
        assert http.get(path, params=PAGE).status_code == 403, path
    own = http.get("/api/v1/stats/chatters", params=RANGE).json()["chatters"]
    assert [r["key"] for r in own] == ["alice"]
    assert http.get("/api/v1/stats/top", params=RANGE).status_code == 403
    assert http.get("/api/v1/stats/chatters/bob/daily", params=RANGE).status_code == 403
    # Whether a key exists is not for a chatter to learn either.
    assert http.get("/api/v1/stats/chatters/nobody/daily", params=RANGE).status_code == 403
    assert http.get("/api/v1/stats/revenue", params=RANGE).status_code == 403


def test_the_api_without_a_session_or_token_is_refused(browser: Collector) -> None:  # noqa: F811
    reply = browser.http.get("/api/v1/stats/chatters", params=RANGE)
    assert reply.status_code == 401 and reply.json()["error"] == "unauthorized"
    assert browser.http.get("/stats").status_code == 302  # pages send you to log in
    assert browser.http.get("/stats").headers["location"].startswith("/login?next=")


def test_exports_take_the_pages_order_search_and_columns(browser: Collector) -> None:  # noqa: F811
    token = browser.token("integration")
    browser.post_events(SCENARIO, token)
    http = logged_in(browser, "boss@agency.test")
    params = {**RANGE, "format": "csv", "sort": "total_sales", "order": "desc"}
    params["columns"] = "name,total_sales,messages_sent"
    reply = http.get("/api/v1/stats/chatters", params=params)
    assert reply.status_code == 200
    rows = list(csv.reader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert rows[0] == ["Chatter", "Total sales", "Messages sent"]
    sales = [Decimal(r[1]) for r in rows[1:]]
    assert sales == sorted(sales, reverse=True) and len(rows) == 4  # alice, bob, unattributed
    searched = http.get("/api/v1/stats/chatters", params={**params, "q": "ali"})
    names = [r[0] for r in csv.reader(io.StringIO(searched.content.decode("utf-8-sig")))]
    assert names == ["Chatter", "Alice"]
    for bad in ({"sort": "luck"}, {"order": "sideways"}, {"columns": "name,secret"}):
        refused = http.get("/api/v1/stats/chatters", params={**params, **bad})
        assert refused.status_code == 400 and refused.json()["error"] == "bad_parameter"


def test_all_chatters_table_has_sent_and_bought_ppvs(browser: Collector) -> None:  # noqa: F811
    browser.post_events(SCENARIO, browser.token("integration"))
    http = logged_in(browser, "boss@agency.test")
    page = http.get("/stats", params=PAGE).text
    table = page[page.index('id="chatters-table"') :]
    assert 'data-key="ppv_sent"' in table and ">Sent PPVs</a>" in table
    assert 'data-key="ppv_bought"' in table and ">Bought PPVs</a>" in table
    api = {r["key"]: r for r in http.get("/api/v1/stats/chatters", params=RANGE).json()["chatters"]}
    for key in ("alice", "bob"):
        row = table[table.index(f'data-key="{key}"') :]
        row = row[: row.index("</tr>")]
        cells = re.findall(r'<td class="num" data-value="([^"]*)">', row)
        # name, then total, PPV sales, tips, then the two new columns
        assert cells[3:5] == [str(api[key]["ppv_sent"]), str(api[key]["ppv_bought"])], key
    # The page's own export link asks for them too, and the file has the page's rows.
    section = page[page.index('id="all-h"') :]
    link = re.search(r'data-table="chatters-table" download href="([^"]*format=csv[^"]*)"', section)
    assert link
    export = http.get(link.group(1).replace("&amp;", "&"))
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    by_name = {r["Chatter"]: r for r in rows}
    assert (by_name["Alice"]["Sent PPVs"], by_name["Alice"]["Bought PPVs"]) == ("1", "1")
    assert (by_name["Bob"]["Sent PPVs"], by_name["Bob"]["Bought PPVs"]) == ("1", "0")


def test_login_returns_to_the_page_asked_for(browser: Collector) -> None:  # noqa: F811
    http = browser.http
    asked = http.get("/chatters/alice", params=PAGE)
    target = asked.headers["location"]
    assert asked.status_code == 302 and target.startswith("/login?next=")
    form = http.get(target).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    hidden = re.search(r'name="next" value="([^"]+)"', form)
    assert token and hidden and hidden.group(1).startswith("/chatters/alice?")
    data = {"email": "boss@agency.test", "password": PASSWORD, "csrf_token": token.group(1)}
    reply = http.post("/login", data={**data, "next": hidden.group(1).replace("&amp;", "&")})
    assert reply.status_code == 302 and reply.headers["location"].startswith("/chatters/alice?")
    http.post("/logout", data={"csrf_token": token.group(1)})
    # Never to another site.
    for evil in ("https://evil.test/", "//evil.test/x", "/\\\\evil.test"):
        token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
        assert token
        data["csrf_token"] = token.group(1)
        reply = http.post("/login", data={**data, "next": evil})
        assert reply.status_code == 302 and reply.headers["location"] == "/", evil
        http.get("/")  # follow, then log out for the next round
        page = http.get("/stats").text
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert found
        http.post("/logout", data={"csrf_token": found.group(1)})


def test_empty_states_say_what_to_do_next(browser: Collector) -> None:  # noqa: F811
    http = logged_in(browser, "boss@agency.test")
    stats = http.get("/stats", params=PAGE).text
    assert "No activity or sales in this range yet" in stats
    assert "agent enrolled" in stats
    chatter = http.get("/chatters/alice", params=PAGE).text
    assert "No device is enrolled for Alice yet" in chatter
    assert "Ask an admin for an enrollment token" in chatter  # a manager cannot open Admin
    browser.enroll("alice")
    enrolled = http.get("/chatters/alice", params=PAGE).text
    assert "Nothing in this range yet" in enrolled and "No device is enrolled" not in enrolled


def test_logout_ends_the_session_even_for_a_copied_cookie(browser: Collector) -> None:  # noqa: F811
    http = logged_in(browser, "alice@agency.test")
    stolen = dict(http.cookies)
    assert http.get("/chatters/alice", params=PAGE).status_code == 200
    page = http.get("/chatters/alice", params=PAGE).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    assert http.post("/logout", data={"csrf_token": token.group(1)}).status_code == 302
    http.cookies.clear()
    http.cookies.update(stolen)  # the cookie as it was before logging out
    replay = http.get("/chatters/alice", params=PAGE)
    assert replay.status_code == 302 and replay.headers["location"].startswith("/login")
    assert http.get("/api/v1/stats/chatters", params=RANGE).status_code == 401


def test_pages_forbid_framing_and_other_origins(browser: Collector) -> None:  # noqa: F811
    http = logged_in(browser, "boss@agency.test")
    reply = http.get("/stats", params=PAGE)
    policy = reply.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script runs
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_numbers_in_other_scripts_are_refused_not_crashed_on(browser: Collector) -> None:  # noqa: F811
    http = logged_in(browser, "boss@agency.test")
    for path, params in [
        ("/api/v1/stats/top", {**RANGE, "limit": "²"}),
        ("/api/v1/stats/conversations/nps", {**RANGE, "page": "²"}),
        ("/api/v1/stats/conversations/nps", {**RANGE, "per_page": "٣"}),
    ]:
        reply = http.get(path, params=params)
        assert reply.status_code == 400 and reply.json()["error"] == "bad_parameter", path
    assert http.get("/conversations", params={**PAGE, "page": "²"}).status_code == 200
