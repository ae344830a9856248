"""A team lead's pages (a manager login limited to creators), and the admin's form that
limits it, on both databases."""

from __future__ import annotations

import re

from tests.collector.conftest import Collector
from tests.collector.pages.admin.test_admin import ADMIN, Site, site  # noqa: F401  (fixture)
from tests.collector.pages.test_stats import figure
from tests.collector.stats.test_team_leads import LEAD, RANGE, lead  # noqa: F401  (fixture)

PAGE = {"preset": "custom", **RANGE}


def options(html: str, name: str) -> list[str]:
    found = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert found, name
    return re.findall(r'<option value="([^"]*)"', found.group(1))


def labels(html: str, name: str) -> list[str]:
    """What the picker offers, as read (the option texts)."""
    found = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert found, name
    return [text.strip() for text in re.findall(r"<option[^>]*>([^<]*)</option>", found.group(1))]


def test_the_stats_page_shows_only_their_creators(lead: Collector) -> None:  # noqa: F811
    http = lead.http
    page = http.get("/stats", params=PAGE)
    assert page.status_code == 200
    assert options(page.text, "creator") == ["", "nova", "sol"]  # all (of theirs), then each
    assert labels(page.text, "creator") == ["All my creators", "Nova", "Sol"]  # not the agency's
    assert "Your login sees Nova, Sol only" in page.text
    api = http.get("/api/v1/stats/chatters", params=RANGE).json()
    assert figure(page.text, "total_sales") == "$20.50" == f"${api['totals']['total_sales']}"
    table = page.text[page.text.index('id="chatters-table"') :]
    for name in ("Alice", "Bob", "Carol", "Dave", "Unattributed"):
        # A chatter who also works for another creator carries the "shared" badge.
        assert re.search(rf">{name}(<| <span class=\"badge shared\")", table), name
    assert ">Erin" not in table
    # Conversations are no creator's: not in their top bar, and refused.
    assert 'href="/conversations"' not in page.text
    assert http.get("/conversations", params=PAGE).status_code == 403
    # Another creator in a link falls back to all of theirs and says why (as for a chatter).
    other = http.get("/stats", params={**PAGE, "creator": "luna"})
    assert other.status_code == 200 and "among those you can see" in other.text
    assert "for all your creators instead" in other.text
    assert figure(other.text, "total_sales") == "$20.50"
    one = http.get("/stats", params={**PAGE, "creator": "sol"})
    assert figure(one.text, "total_sales") == "$5.00"


def test_chatter_pages_of_their_chatters_only(lead: Collector) -> None:  # noqa: F811
    http = lead.http
    bob = http.get("/chatters/bob", params=PAGE)
    assert bob.status_code == 200
    assert figure(bob.text, "total_sales") == "$7.00"  # nova's, not luna's
    assert options(bob.text, "creator") == ["", "nova", "sol"]
    for key in ("erin", "ghost"):
        assert http.get(f"/chatters/{key}", params=PAGE).status_code == 403, key
    # Alice sold once for nova, but works for luna: her computers and slices are luna's.
    alice = http.get("/chatters/alice", params=PAGE)
    assert alice.status_code == 200 and 'id="devices-table"' not in alice.text
    assert 'id="activity-hidden"' in alice.text and 'id="slices-caption"' not in alice.text
    assert 'id="devices-table"' in bob.text and 'id="slices-caption"' in bob.text


def test_the_admin_limits_a_manager(site: Site) -> None:  # noqa: F811
    page = site.admin.get("/admin/users").text
    assert 'name="creators" value="luna"' in page
    form = {"email": "lead@agency.test", "role": "manager", "password": "correct horse battery"}
    added = site.admin.follow(site.admin.post("/admin/users", **form, creators=["nova"]))
    assert "Login lead@agency.test (manager) added." in added
    assert site.last_audit() == (ADMIN, "add_user", "lead@agency.test")
    user_id = int(site.value("SELECT id FROM users WHERE email = 'lead@agency.test'"))
    assert limit(site, user_id) == ["nova"]
    team_lead = site.client(LEAD)
    # One creator: the picker offers that creator, picked, and no "all" at all.
    alone = team_lead.get("/stats").text
    assert options(alone, "creator") == ["nova"] and labels(alone, "creator") == ["Nova"]
    assert re.search(r'<option value="nova"\s+selected>', alone)
    assert options(team_lead.get("/chatters/bob").text, "creator") == ["nova"]
    stale = team_lead.get("/stats?creator=luna").text  # not theirs: the page says whose
    assert "among those you can see" in stale and "showing last 7 days for Nova instead" in stale

    changed = site.admin.post(f"/admin/users/{user_id}/creators", creators=["luna", "nova"])
    assert "now sees Luna, Nova" in site.admin.follow(changed)
    assert site.last_audit() == (ADMIN, "set_user_creators", "lead@agency.test")
    mine = team_lead.get("/stats").text  # at the next click
    assert options(mine, "creator") == ["", "luna", "nova"]
    assert labels(mine, "creator") == ["All my creators", "Luna", "Nova"]
    # Unticking every box takes nothing away and gives nothing: it is refused.
    unticked = site.admin.post(f"/admin/users/{user_id}/creators", scope="some")
    assert unticked.status_code == 400 and "tick at least one creator" in unticked.text
    assert limit(site, user_id) == ["luna", "nova"]
    lifted = site.admin.follow(site.admin.post(f"/admin/users/{user_id}/creators", scope="all"))
    assert "now sees every creator" in lifted and limit(site, user_id) == []
    every = team_lead.get("/stats").text
    assert options(every, "creator") == ["", "luna", "nova"]
    assert labels(every, "creator")[0] == "All creators"
    assert team_lead.get("/conversations").status_code == 200

    # Refused, writing nothing: a chatter or admin login, an unknown creator, no login.
    before = site.rows("SELECT * FROM user_creators"), site.audits()
    chatter_login = int(site.value("SELECT id FROM users WHERE email = 'alice@agency.test'"))
    for path, creators, status, message in [
        (f"/admin/users/{chatter_login}/creators", ["luna"], 400, "only a manager login"),
        (f"/admin/users/{user_id}/creators", ["ghost"], 400, "no creator"),
        ("/admin/users/999999/creators", ["luna"], 404, "No login"),
    ]:
        reply = site.admin.post(path, creators=creators)
        assert reply.status_code == status and message in reply.text, (path, reply.text[-500:])
    added_chatter = site.admin.post(
        "/admin/users",
        email="c@agency.test",
        role="chatter",
        chatter="bob",
        password="correct horse battery",
        creators=["luna"],
    )
    assert added_chatter.status_code == 400 and "only a manager login" in added_chatter.text
    assert (site.rows("SELECT * FROM user_creators"), site.audits()) == before
    assert site.value("SELECT id FROM users WHERE email = 'c@agency.test'") is None
    # A manager cannot reach the form.
    other = site.client("boss@agency.test")
    assert other.post(f"/admin/users/{user_id}/creators", creators=["luna"]).status_code == 403


def limit(site: Site, user_id: int) -> list[str]:  # noqa: F811  (site: the fixture)
    rows = site.rows(
        "SELECT c.key FROM user_creators u JOIN creators c ON c.id = u.creator_id "
        "WHERE u.user_id = :u ORDER BY c.key",
        u=user_id,
    )
    return [key for (key,) in rows]
