"""The admin page's forms and the stats page's panel, over WSGI on both databases."""

from __future__ import annotations

import re

from sqlalchemy import select

from collector.db.alert_models import AlertRule
from tests.collector.alerts.conftest import NOW, World
from tests.collector.auth.test_accounts import PASSWORD
from tests.collector.pages.admin.test_admin import Site, site  # noqa: F401  (fixture)

MINUTE = NOW.replace(minute=10)


def _rules(world: World) -> list[AlertRule]:
    with world.session() as s:
        return list(s.scalars(select(AlertRule)))


def _form(**more: str) -> dict[str, str]:
    return {
        "name": "Late",
        "kind": "no_show",
        "threshold": "10",
        "creator": "luna",
        "webhook_url": "",
        "emails": "lead@agency.test, boss@agency.test",
        **more,
    }


def test_admin_makes_switches_and_deletes_a_rule(site: Site, world: World) -> None:  # noqa: F811
    page = site.admin.get("/admin/alerts")
    assert page.status_code == 200 and "No alert rules yet." in page.text
    made = site.admin.post("/admin/alerts", **_form(webhook_url="https://hooks.example.com/a"))
    assert made.status_code == 201 and "whsec_" in made.text
    [rule] = _rules(world)
    assert (rule.kind, rule.threshold, rule.emails) == (
        "no_show",
        10,
        "lead@agency.test,boss@agency.test",
    )
    assert rule.webhook_secret in made.text
    listed = site.admin.get("/admin/alerts").text
    assert "Late" in listed and rule.webhook_secret not in listed  # shown once
    toggled = site.admin.follow(site.admin.post(f"/admin/alerts/{rule.id}/toggle"))
    assert "switched off" in toggled and _rules(world)[0].enabled is False
    secret = site.admin.post(f"/admin/alerts/{rule.id}/secret")
    assert secret.status_code == 201 and _rules(world)[0].webhook_secret in secret.text
    assert site.admin.get(f"/admin/alerts/{rule.id}/delete").status_code == 200
    gone = site.admin.follow(site.admin.post(f"/admin/alerts/{rule.id}/delete"))
    assert "deleted" in gone and _rules(world) == []
    actions = [a for _, a, _ in site.audits() if a.startswith("alert_rule")]
    assert actions == [
        "alert_rule_create",
        "alert_rule_update",
        "alert_rule_rotate_secret",
        "alert_rule_delete",
    ]
    assert site.admin.post("/admin/alerts/999/toggle").status_code == 404
    assert site.admin.get("/admin/alerts/999/delete").status_code == 404


def test_admin_form_refuses_bad_input(site: Site, world: World) -> None:  # noqa: F811
    for change, message in (
        ({"threshold": "99999999999999999999"}, "threshold: type a whole number"),
        ({"threshold": "1441"}, "between 1 and 1440 minutes"),
        ({"threshold": "²"}, "threshold: type a whole number"),
        ({"webhook_url": "ftp://example.com/"}, "http:// or https://"),
        ({"webhook_url": "gopher://x"}, "http:// or https://"),
        ({"emails": "boss@"}, "is not an e-mail address"),
        ({"kind": "weather"}, "kind must be one of"),
        ({"name": "x" * 101}, "longer than 100"),
        ({"creator": "ghost"}, "no creator"),
    ):
        reply = site.admin.post("/admin/alerts", **_form(**change))
        assert reply.status_code == 400, (change, reply.status_code)
        assert message in reply.text.replace("&#39;", "'"), (change, reply.text[-2000:])
    nul = site.admin.post("/admin/alerts", **_form(name="a\x00b"))
    assert nul.status_code == 400
    assert _rules(world) == []
    manager = site.client("boss@agency.test")
    assert manager.get("/admin/alerts").status_code == 403
    assert manager.post("/admin/alerts", **_form()).status_code == 403


def test_stats_panel_and_acknowledge(site: Site, world: World) -> None:  # noqa: F811
    boss = site.client("boss@agency.test")
    assert 'id="open-alerts"' not in boss.get("/stats").text  # nothing open: no panel
    world.shift("alice", "luna", "10:00", "18:00")
    world.shift("bob", "nova", "10:00", "18:00")
    world.rule("no_show", 10)
    world.evaluate(MINUTE)
    page = boss.get("/stats").text
    panel = page[
        page.index('id="open-alerts"') : page.index("</section>", page.index('id="open-alerts"'))
    ]
    assert "Alice: no-show" in panel and "Bob: no-show" in panel
    ids = re.findall(r'data-alert="(\d+)"', panel)
    assert len(ids) == 2
    done = boss.post(f"/alerts/{ids[0]}/acknowledge", back="/stats?creator=luna#open-alerts")
    assert done.status_code == 302 and done.headers["location"] == "/stats?creator=luna#open-alerts"
    after = boss.get("/stats").text
    assert "Alert acknowledged." in after and "acknowledged by boss@agency.test" in after
    again = boss.follow(boss.post(f"/alerts/{ids[0]}/acknowledge"))
    assert "already acknowledged" in again
    # Only paths of this site are followed back.
    away = boss.post(f"/alerts/{ids[1]}/acknowledge", back="//evil.example/")
    assert away.headers["location"] == "/stats"
    assert boss.post("/alerts/999/acknowledge").status_code == 404
    assert boss.post(f"/alerts/{ids[1]}/acknowledge", csrf=False).status_code in (400, 403)
    chatter = site.client("alice@agency.test")
    assert chatter.post(f"/alerts/{ids[1]}/acknowledge").status_code == 403


def test_team_lead_panel_shows_their_creators_only(site: Site, world: World) -> None:  # noqa: F811
    site.collector.cli(
        "add-user",
        "lead@agency.test",
        "--role",
        "manager",
        "--creators",
        "nova",
        input=PASSWORD + "\n",
    )
    world.shift("alice", "luna", "10:00", "18:00")
    world.shift("bob", "nova", "10:00", "18:00")
    world.rule("no_show", 10)
    world.evaluate(MINUTE)
    lead = site.client("lead@agency.test")
    page = lead.get("/stats").text
    assert "Bob: no-show" in page and "Alice: no-show" not in page
    luna = next(a for a in world.alerts() if a.chatter_id == world.id_of_chatter("alice"))
    assert lead.post(f"/alerts/{luna.id}/acknowledge").status_code == 404
