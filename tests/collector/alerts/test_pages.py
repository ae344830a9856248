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


def test_a_rule_without_a_webhook_shows_no_secret_page(site: Site, world: World) -> None:  # noqa: F811
    """E-mail only: no secret to copy; back to the list with the rule made."""
    made = site.admin.post("/admin/alerts", **_form())
    assert made.status_code == 302 and made.headers["location"].endswith("/admin/alerts")
    page = site.admin.follow(made)
    assert "Rule “Late” created." in page and "whsec_" not in page
    [rule] = _rules(world)
    assert not rule.webhook_url and rule.emails == "lead@agency.test,boss@agency.test"


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


def _rules_table(page: str) -> str:
    return page[page.index('id="rules-table"') : page.index("</table>", page.index("rules-table"))]


def test_rules_table_reads_as_words(site: Site, world: World) -> None:  # noqa: F811
    """Creator names (not keys), "1 chatter missing", "New secret" only for a rule with a
    webhook."""
    world.rule("coverage", 1, creator="luna", webhook_url="https://hooks.example.com/a")
    world.rule("no_show", 5)  # all creators, no webhook, no e-mail
    world.rule("idle", 1, creator="nova", emails=["lead@agency.test"])
    table = _rules_table(site.admin.get("/admin/alerts").text)
    rows = table.split('<tr data-rule="')[1:]
    coverage, no_show, idle = rows
    assert ">Luna<" in coverage and ">luna<" not in coverage
    assert "1 chatter missing" in coverage and "chatters missing" not in coverage
    assert "New secret" in coverage
    assert "5 minutes" in no_show and "All creators" in no_show
    assert "New secret" not in no_show and "dashboard only" in no_show
    assert "1 minute<" in idle and ">Nova<" in idle and "New secret" not in idle
    # The form of a rule without a webhook is refused too (an old page, a crafted POST).
    [no_hook] = [r for r in _rules(world) if r.kind == "no_show"]
    refused = site.admin.post(f"/admin/alerts/{no_hook.id}/secret")
    assert refused.status_code == 409 and "has no webhook" in refused.text


def test_smtp_warning(site: Site, world: World) -> None:  # noqa: F811
    app = site.collector.app
    page = site.admin.get("/admin/alerts").text
    # No SMTP server and no rule wanting e-mail: only the note beside the field.
    assert 'id="smtp-warning"' not in page and 'id="rule-emails-note"' in page
    world.rule("no_show", 5, emails=["lead@agency.test"])
    world.rule("idle", 5, webhook_url="https://hooks.example.com/a")
    page = site.admin.get("/admin/alerts").text
    warning = page[page.index('id="smtp-warning"') : page.index("</p>", page.index("smtp-warning"))]
    assert "E-mail is not set up" in warning and "no_show 5" in warning
    assert "idle 5" not in warning and "CHATTER_SMTP_HOST" in warning
    assert "e-mail not set up" in _rules_table(page)
    # With a server set up: no warning, no note.
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_FROM="alerts@agency.test")
    page = site.admin.get("/admin/alerts").text
    assert 'id="smtp-warning"' not in page and 'id="rule-emails-note"' not in page
    assert "e-mail not set up" not in page


def test_admin_form_refuses_unreadable_names_and_private_webhooks(
    site: Site,  # noqa: F811
    world: World,
) -> None:
    for name in ("Late\u202eevil", "Late\x1b[2J", "a\u2067b"):
        reply = site.admin.post("/admin/alerts", **_form(name=name))
        assert reply.status_code == 400 and "must not contain control characters" in reply.text
    site.collector.app.config["ALERTS_ALLOW_PRIVATE_WEBHOOKS"] = False  # the default
    for url in (
        "http://127.0.0.1:9000/h",
        "http://10.0.0.7/h",
        "http://169.254.169.254/latest",
        "http://[::1]/h",
        "http://[::ffff:127.0.0.1]/h",
        "http://localhost/h",
    ):
        reply = site.admin.post("/admin/alerts", **_form(webhook_url=url))
        assert reply.status_code == 400, url
        assert "must be a public address" in reply.text, url
        assert 'id="rule-error"' in reply.text
    assert _rules(world) == []


def test_team_lead_sees_no_other_creators_data(site: Site, world: World) -> None:  # noqa: F811
    """bob works for luna in the morning and nova from 10:00; a lead of nova sees alerts
    of nova only, and no message they see names luna or its shifts."""
    site.collector.cli(
        "add-user",
        "lead@agency.test",
        "--role",
        "manager",
        "--creators",
        "nova",
        input=PASSWORD + "\n",
    )
    world.shift("bob", "luna", "06:00", "10:00")
    world.shift("bob", "nova", "10:00", "18:00")
    world.shift("alice", "luna", "10:00", "18:00")
    world.coverage("luna", 3)
    world.coverage("nova", 3)
    for kind, threshold in (("no_show", 5), ("no_presence", 5), ("coverage", 1)):
        world.rule(kind, threshold)  # every creator
    world.rule("no_show", 5, creator="nova")
    world.evaluate(MINUTE)
    mine = [a for a in world.alerts() if a.creator_id == world.id_of_creator("nova")]
    theirs = [a for a in world.alerts() if a.creator_id != world.id_of_creator("nova")]
    assert mine and theirs
    assert all("Luna" not in a.message for a in mine), [a.message for a in mine]
    lead = site.client("lead@agency.test")
    page = lead.get("/stats").text
    start = page.index('id="open-alerts"')
    panel = page[start : page.index("</section>", start)]
    assert "Nova" in panel and "Luna" not in panel and "Alice" not in panel
    listed = lead.get("/api/v1/alerts?state=all").json()["alerts"]
    assert {a["id"] for a in listed} == {a.id for a in mine}
    text = str(listed)
    assert "Luna" not in text and "luna" not in text and "Alice" not in text
    for other in theirs:
        assert lead.get(f"/api/v1/alerts/{other.id}").status_code == 404
        assert lead.post(f"/alerts/{other.id}/acknowledge").status_code == 404
