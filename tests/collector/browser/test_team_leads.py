"""A team lead's dashboard in real Chromium: a manager login limited to one creator sees
that creator's chatters and numbers only, the same as the API for that creator."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.collector.browser.conftest import (
    LiveCollector,
    Recorded,
    dollars,
    figure,
    log_in,
    shown_range,
    wait_ready,
)
from tests.collector.browser.conftest import stats_api as api
from tests.collector.browser.test_stats_pages import table_names

LEAD = ("lead@demo.test", "team-lead-password")


def test_a_team_lead_sees_only_their_creators_chatters(live: LiveCollector, tab: Recorded) -> None:
    live.cli("add-user", LEAD[0], "--role", "manager", "--creators", "mira", stdin=LEAD[1] + "\n")
    page = tab.page
    log_in(tab, live, LEAD)
    assert page.url.startswith(live.url + "/stats")
    wait_ready(page)
    mira = api(live, "/chatters", **shown_range(page), creator="mira")
    everyone = api(live, "/chatters", **shown_range(page))
    # The API (an unlimited token) for mira alone is what the lead's whole page shows.
    assert table_names(page) == [row["name"] for row in mira["chatters"]]
    assert len(table_names(page)) < len(everyone["chatters"])
    assert figure(page, "total_sales") == dollars(mira["totals"]["total_sales"])
    picker = page.get_by_label("Creator", exact=True)
    assert picker.locator("option").all_inner_texts() == ["All creators", "Mira Gold"]
    expect(page.locator("#creator-limit")).to_contain_text("Mira Gold only")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Conversations")).to_have_count(0)
    # Another chatter's page is refused.
    other = next(r for r in everyone["chatters"] if r["key"] and r["name"] not in table_names(page))
    reply = page.goto(f"{live.url}/chatters/{other['key']}")
    assert reply is not None and reply.status == 403
