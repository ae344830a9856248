"""The Schedules pages as a browser without JavaScript sees them (both databases):
deleting asks first, people are named, the roster help names every column, a refused
roster lists one problem a line, and a day's heading fills the add-shift form."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from sqlalchemy import text

from collector.pages.admin.shifts import ROSTER_HELP
from collector.shifts import roster
from tests.collector.pages.admin.test_admin import PASSWORD, Site, site  # noqa: F401
from tests.collector.pages.admin.test_shifts import NIGHT

WEEK = "week=2026-12-07&tz=Europe/Paris"
NIGHTS = {**NIGHT, "note": ""}  # the Schedules page tests' nights, without a note
RULE = {
    "creator": "luna",
    "weekdays": ["sat", "sun"],
    "start": "00:00",
    "end": "00:00",
    "required": "2",
    "zone": "Europe/Paris",
}


def _add(given: Site, path: str, **data: Any) -> str:
    return given.admin.follow(given.admin.post(path, **data))


def _form(page: str, marker: str) -> str:
    """The HTML of the form that contains ``marker``."""
    at = page.index(marker)
    return page[page.rindex("<form", 0, at) : page.index("</form>", at)]


def _forms_posting_to(page: str, action: str) -> list[str]:
    return re.findall(rf'<form[^>]*method="post"[^>]*action="{re.escape(action)}"', page)


def test_deleting_a_shift_asks_first(site: Site) -> None:  # noqa: F811
    _add(site, f"/admin/shifts?{WEEK}", **NIGHTS)
    page = site.admin.get("/admin/shifts/1").text
    # The shift page links to the question; it has no one-click delete button any more.
    assert 'href="/admin/shifts/1/delete"' in page and "Delete shift…" in page
    assert _forms_posting_to(page, "/admin/shifts/1/delete") == []
    question = site.admin.get("/admin/shifts/1/delete")
    assert question.status_code == 200
    text = unescape(question.text)
    assert "Delete shift 1: Bob for Nova, every Mon–Wed, 22:00–06:00 (+1) Europe/Paris?" in text
    assert "To end a weekly shift and keep its history, set its last day instead." in text
    assert len(_forms_posting_to(question.text, "/admin/shifts/1/delete")) == 1
    assert 'href="/admin/shifts/1">Cancel</a>' in question.text
    assert site.value("SELECT count(*) FROM shifts") == 1  # asking deleted nothing
    page = site.admin.follow(site.admin.post("/admin/shifts/1/delete"))
    assert "Shift 1 deleted." in page
    assert site.value("SELECT count(*) FROM shifts") == 0
    assert site.admin.get("/admin/shifts/1/delete").status_code == 404


def test_deleting_a_coverage_rule_asks_first_and_keeps_the_week(site: Site) -> None:  # noqa: F811
    _add(site, f"/admin/coverage-rules?{WEEK}", **RULE)
    week = site.admin.get(f"/admin/shifts?{WEEK}").text
    link = "/admin/coverage-rules/1/delete?week=2026-12-07&amp;tz=Europe/Paris"
    assert f'href="{link}"' in week
    assert _forms_posting_to(week, "/admin/coverage-rules/1/delete") == []
    assert "Delete rule…" in site.admin.get("/admin/coverage-rules/1").text
    question = site.admin.get(unescape(link))
    text = unescape(question.text)
    assert question.status_code == 200
    assert "Delete coverage rule 1: Luna needs 2 online, Sat, Sun all day Europe/Paris?" in text
    assert len(_forms_posting_to(question.text, link)) == 1
    assert f'href="/admin/shifts?{WEEK.replace("&", "&amp;")}">Cancel</a>' in question.text
    assert site.value("SELECT count(*) FROM coverage_rules") == 1
    reply = site.admin.post(unescape(link))
    assert reply.status_code == 302 and reply.headers["location"].endswith(f"/admin/shifts?{WEEK}")
    assert site.value("SELECT count(*) FROM coverage_rules") == 0


def test_a_team_lead_is_not_asked_about_another_creators_shift(site: Site) -> None:  # noqa: F811
    site.collector.cli("add-user", "lead@agency.test", "--role", "manager", input=PASSWORD + "\n")
    site.collector.cli("set-creators", "lead@agency.test", "nova")
    _add(site, "/admin/shifts", **{**NIGHTS, "chatter": "alice", "creator": "luna"})
    _add(site, "/admin/coverage-rules", **RULE)
    lead = site.client("lead@agency.test")
    assert lead.get("/admin/shifts/1/delete").status_code == 404
    assert lead.get("/admin/coverage-rules/1/delete").status_code == 404


def test_people_are_shown_by_name(site: Site) -> None:  # noqa: F811
    _add(site, "/admin/shifts", **{**NIGHTS, "chatter": "alice", "creator": "luna"})
    _add(site, "/admin/shifts", **{**NIGHTS, "creator": "luna", "weekdays": ["thu"]})
    site.collector.cli("shifts", "swap", "1", "2026-12-07", "--to", "bob")
    page = unescape(site.admin.get("/admin/shifts/1").text)
    assert "Shift 1: Alice" in page and "for</span> Luna</h1>" in page
    assert "worked by Bob" in page and "worked by bob" not in page
    assert ">2: Bob, Thu 22:00–06:00 (+1)</option>" in page  # the shift to swap with
    assert "Every Mon–Wed,\n  22:00–06:00 (+1), Europe/Paris;" in page  # days and times for people
    assert "<code>alice" not in page
    rule = _add(site, "/admin/coverage-rules", **RULE)
    assert "Coverage rule 1 added." in rule
    assert "Coverage rule 1: Luna</h1>" in site.admin.get("/admin/coverage-rules/1").text
    # The name as it is now, and a deactivated chatter's too (kept in the edit form).
    with site.engine.begin() as conn:
        conn.execute(text("UPDATE chatters SET name = 'Alice Liddell', active = false"))
    page = site.admin.get("/admin/shifts/1").text
    assert "Shift 1: Alice Liddell" in page
    assert '<option value="alice" selected>Alice Liddell</option>' in page


def test_the_roster_help_names_every_column(site: Site) -> None:  # noqa: F811
    assert set(ROSTER_HELP) == set(roster.COLUMNS)
    page = site.admin.get("/admin/shifts").text
    help_list = page[page.index('<dl class="columns" id="roster-columns"') :]
    help_list = help_list[: help_list.index("</dl>")]
    assert re.findall(r"<dt><code>([a-z_]+)</code></dt>", help_list) == list(ROSTER_HELP)
    for column in roster.COLUMNS:
        assert f"<dt><code>{column}</code></dt>" in help_list
    assert "chatter,creator,weekday,start,end" in page  # a weekly example too


def test_a_refused_roster_lists_one_problem_a_line(site: Site) -> None:  # noqa: F811
    reply = site.admin.http.post(
        "/admin/shifts/import",
        data={"csrf_token": site.admin.token(), "from": "2026-12-07"},
        files={
            "roster": (
                "roster.csv",
                b"chatter,creator,day,start,end,zone,note\n"
                b"alice,nova,2026-12-07,08:00,16:00,,\n"
                b"bob,luna,2026-12-08,9,17:00,,\n"
                b'bob,luna,2026-12-09,09:00,17:00,,"open\n',
                "text/csv",
            )
        },
    )
    assert reply.status_code == 422
    box = unescape(reply.text[reply.text.index('id="roster-error"') :])
    box = box[: box.index("</div>")]
    assert (
        "<p>The roster was not imported, nothing was written: 3 problems. "
        "Fix the lines below and upload the whole file again.</p>" in box
    )
    items = re.findall(r"<li>(.*?)</li>", box)
    assert items[0].startswith("Line 2: chatter: Alice does not work for Nova: ")
    assert items[1].startswith("Line 3: start: '9' is not a time")
    assert items[2].startswith("Line 4: a quoted value on this line is never closed")
    assert len(items) == 3
    assert site.value("SELECT count(*) FROM shifts") == 0


def test_a_days_heading_fills_the_add_shift_form(site: Site) -> None:  # noqa: F811
    _add(site, f"/admin/shifts?{WEEK}", **NIGHTS)
    week = site.admin.get(f"/admin/shifts?{WEEK}").text
    # Wednesday's heading in Nova's week.
    link = "/admin/shifts?week=2026-12-07&amp;tz=Europe/Paris&amp;day=2026-12-09&amp;creator=nova"
    assert f'href="{link}#add-shift-title"' in week
    assert ">Wed 2026-12-09<span" in week  # the heading's day in ISO, as every date
    page = site.admin.get(unescape(link)).text
    form = _form(page, 'id="add-shift"')
    assert 'name="first_day" type="date" required value="2026-12-09"' in form
    assert re.findall(r'value="(\w+)" id="shift-\w+" checked', form) == ["wed"]
    assert '<option value="nova" selected>' in form
    assert "<option selected>Europe/Paris</option>" in form  # the week's zone
    assert (
        'role="status">Set to Wed 2026-12-09, Nova: choose the chatter and the hours.</p>' in page
    )
    # The other forms keep their own defaults.
    rule = _form(page, 'id="rule-creator"')
    assert len(re.findall(r'id="rule-\w+" checked', rule)) == 7
    # A day that is not a date, or a creator that is not there, fills nothing or only the day.
    page = site.admin.get("/admin/shifts?day=2026-13-40&creator=nova").text
    assert 'role="status"></p>' in page
    page = site.admin.get("/admin/shifts?day=2026-12-09&creator=nobody").text
    assert "Set to Wed 2026-12-09: choose" in page
    # A refused add shows what was sent, not the day asked for before.
    reply = site.admin.post(
        f"/admin/shifts?{WEEK}&day=2026-12-09&creator=nova", **{**NIGHTS, "end": "22:00"}
    )
    assert reply.status_code == 422 and 'role="status"></p>' in reply.text
    assert 'value="2026-12-07"' in _form(reply.text, 'id="add-shift"')


def test_a_team_leads_day_heading_never_picks_another_creator(site: Site) -> None:  # noqa: F811
    site.collector.cli("add-user", "lead@agency.test", "--role", "manager", input=PASSWORD + "\n")
    site.collector.cli("set-creators", "lead@agency.test", "nova")
    page = site.client("lead@agency.test").get("/admin/shifts?day=2026-12-09&creator=luna").text
    assert "Set to Wed 2026-12-09: choose" in page
    assert '<option value="luna"' not in page
