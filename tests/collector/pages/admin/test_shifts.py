"""The Schedules pages over a browser-style client: the week, every form, refusals that
write nothing, team leads limited to their creators (both databases)."""

from __future__ import annotations

from typing import Any

from collector.shifts.fields import WEEKDAY_NAMES
from tests.collector.pages.admin.test_admin import ADMIN, PASSWORD, Site, site  # noqa: F401

WEEK = "/admin/shifts?week=2026-12-07&tz=Europe/Paris"
NIGHT = {
    "chatter": "bob",
    "creator": "nova",
    "kind": "weekly",
    "weekdays": ["mon", "tue", "wed"],
    "start": "22:00",
    "end": "06:00",
    "first_day": "2026-12-07",
    "last_day": "",
    "zone": "Europe/Paris",
    "note": "nights",
}


def _shifts(given: Site) -> list[tuple[Any, ...]]:
    return given.rows("SELECT * FROM shifts ORDER BY id") + given.rows(
        "SELECT * FROM shift_exceptions ORDER BY id"
    )


def _post(given: Site, path: str, **data: Any) -> Any:
    return given.admin.http.post(path, data={**data, "csrf_token": given.admin.token()})


def test_week_view_and_forms(site: Site) -> None:  # noqa: F811
    page = site.admin.follow(_post(site, "/admin/shifts?week=2026-12-07&tz=Europe/Paris", **NIGHT))
    assert "Shift 1 added for Bob." in page
    assert page.count('22:00–06:00 <span class="next-day" aria-hidden="true">(+1)') == 3
    assert site.last_audit() == (ADMIN, "add_shift", "shift 1")
    # In New York the same nights start at 16:00 the same day.
    assert "16:00–00:00" in site.admin.get("/admin/shifts?week=2026-12-07&tz=America/New_York").text

    before = _shifts(site)
    for change, message in (
        ({"end": "22:00"}, "a shift needs a length"),
        ({"weekdays": []}, "at least one day of the week"),
        ({"chatter": "alice"}, "Alice does not work for"),
        ({"zone": "Mars/Base"}, "not an IANA time zone"),
        ({"note": "x" * 300}, "longer than 200"),
        (
            {"first_day": "2026-12-08", "weekdays": ["tue"], "start": "23:00", "end": "01:00"},
            "would work two shifts at once",
        ),
    ):
        reply = _post(site, "/admin/shifts", **{**NIGHT, **change})
        assert 400 <= reply.status_code < 500 and message in reply.text, (change, reply.status_code)
    assert _shifts(site) == before

    page = site.admin.follow(
        _post(site, "/admin/shifts/1/exceptions", day="2026-12-08", kind="cancelled", note="ill")
    )
    assert "cancelled on 2026-12-08" in page
    reply = _post(site, "/admin/shifts/1/exceptions", day="2026-12-10", kind="cancelled")
    assert reply.status_code == 422 and "does not run on 2026-12-10" in reply.text
    site.admin.follow(_post(site, "/admin/shifts/1/exceptions/2026-12-08/delete"))
    page = site.admin.follow(
        _post(site, "/admin/shifts/1", **{**NIGHT, "end": "05:00", "last_day": "2026-12-31"})
    )
    assert "Shift 1 saved." in page
    week = site.admin.get(WEEK).text
    assert "22:00–05:00" in week

    page = site.admin.follow(
        _post(
            site,
            "/admin/coverage-rules",
            creator="nova",
            weekdays=["sat", "sun"],
            start="00:00",
            end="00:00",
            required="2",
            zone="Europe/Paris",
        )
    )
    assert "Coverage rule 1 added." in page and "Needs <strong>2</strong> online" in page
    assert "online · Sat, Sun 00:00–00:00 (all day)" in page  # days as people write them
    reply = _post(
        site,
        "/admin/coverage-rules",
        creator="nova",
        weekdays=["sat"],
        start="00:00",
        end="00:00",
        required="99999999999999999999999",
        zone="Europe/Paris",
    )
    assert reply.status_code == 422
    form = site.admin.get("/admin/coverage-rules/1").text
    assert 'value="sat" checked' in form and 'value="mon" checked' not in form
    rule = {
        "creator": "nova",
        "weekdays": ["sun"],
        "start": "08:00",
        "end": "20:00",
        "required": "1",
        "zone": "Europe/Paris",
    }
    page = site.admin.follow(_post(site, "/admin/coverage-rules/1", **rule))
    assert "Coverage rule 1 saved." in page and "online · Sun 08:00–20:00 <" in page
    night = {**rule, "weekdays": list(WEEKDAY_NAMES), "start": "22:00", "end": "06:00"}
    page = site.admin.follow(_post(site, "/admin/coverage-rules/1", **night))
    assert "online · Every day 22:00–06:00 (+1) <" in page  # ends the next day
    reply = _post(site, "/admin/coverage-rules/1", **{**rule, "start": "8h"})
    assert reply.status_code == 422 and "is not a time" in reply.text
    assert site.admin.get("/admin/coverage-rules/2147483648").status_code == 404
    site.admin.follow(_post(site, "/admin/coverage-rules/1/delete"))
    site.admin.follow(_post(site, "/admin/shifts/1/delete"))
    assert site.rows("SELECT count(*) FROM shifts") == [(0,)]


def test_roster_upload(site: Site) -> None:  # noqa: F811
    def upload(text: str) -> Any:
        return site.admin.http.post(
            "/admin/shifts/import",
            data={"csrf_token": site.admin.token(), "from": "2026-12-07"},
            files={"roster": ("roster.csv", text.encode(), "text/csv")},
        )

    reply = upload(
        "chatter,creator,weekday,start,end\nalice,luna,mon-fri,08:00,16:00\n"
        "alice,nova,sat,08:00,16:00\nbob,luna,sun,08:00,08:00\n"
    )
    assert reply.status_code == 422
    assert "Line 3: chatter: Alice does not work for Nova" in reply.text
    assert "Line 4: end: the shift starts and ends at 08:00" in reply.text
    assert site.rows("SELECT count(*) FROM shifts") == [(0,)]
    page = site.admin.follow(
        upload("chatter,creator,weekday,start,end\nalice,luna,mon-fri,08:00,16:00\n")
    )
    assert "Roster imported: 1 shift added." in page


def test_team_lead_sees_only_their_creators(site: Site) -> None:  # noqa: F811
    site.collector.cli("add-user", "lead@agency.test", "--role", "manager", input=PASSWORD + "\n")
    site.collector.cli("set-creators", "lead@agency.test", "nova")
    site.admin.follow(
        _post(site, "/admin/shifts", **{**NIGHT, "creator": "luna", "chatter": "alice"})
    )
    site.admin.follow(_post(site, "/admin/shifts", **NIGHT))
    lead = site.client("lead@agency.test")
    week = lead.get(WEEK).text
    assert 'id="creator-nova"' in week and 'id="creator-luna"' not in week
    assert lead.get("/admin/shifts/2").status_code == 200
    # Another creator's shift answers as a missing one does (review: 403 against 404 told
    # a lead which ids exist), on every address of a shift.
    for shift_id in (1, 999):
        assert lead.get(f"/admin/shifts/{shift_id}").status_code == 404, shift_id
        assert lead.get(f"/admin/shifts/{shift_id}/delete").status_code == 404, shift_id
        for path, data in (
            ("", {**NIGHT, "first_day": "2027-01-04"}),
            ("/delete", {}),
            ("/exceptions", {"day": "2026-12-08", "kind": "cancelled"}),
            ("/exceptions/2026-12-08/delete", {}),
        ):
            reply = lead.http.post(
                f"/admin/shifts/{shift_id}{path}", data={**data, "csrf_token": lead.token()}
            )
            assert reply.status_code == 404, (shift_id, path)
            assert f"No shift {shift_id}<" in reply.text, (shift_id, path)
    before = _shifts(site)
    reply = lead.http.post(
        "/admin/shifts",
        data={
            **NIGHT,
            "creator": "luna",
            "chatter": "alice",
            "first_day": "2027-01-04",
            "csrf_token": lead.token(),
        },
    )
    assert reply.status_code == 403
    assert "creator &#39;luna&#39; is not one of yours" in reply.text
    assert "belongs to" not in reply.text
    assert _shifts(site) == before
    assert site.client("alice@agency.test").get(WEEK).status_code == 403


def test_a_team_lead_refused_for_an_overlap_learns_nothing_of_another_creator(
    site: Site,  # noqa: F811
) -> None:
    """Alice works for luna and nova; a lead of nova only is told she is busy then, never
    the luna shift's number, day or hours (an admin is told all of it)."""
    site.collector.cli("add-user", "lead@agency.test", "--role", "manager", input=PASSWORD + "\n")
    site.collector.cli("set-creators", "lead@agency.test", "nova")
    luna_night = {**NIGHT, "creator": "luna", "chatter": "alice", "start": "21:00", "end": "05:00"}
    site.admin.follow(_post(site, "/admin/shifts", **luna_night))
    form = {"name": "Alice", "creators": ["luna", "nova"], "csrf_token": site.admin.token()}
    site.admin.follow(site.admin.http.post("/admin/chatters/alice", data=form))
    nova_night = {**NIGHT, "chatter": "alice"}
    before = _shifts(site)
    lead = site.client("lead@agency.test")
    reply = lead.http.post("/admin/shifts", data={**nova_night, "csrf_token": lead.token()})
    assert reply.status_code == 409
    assert "a shift for another creator at that time" in reply.text
    assert "shift 1" not in reply.text and "21:00" not in reply.text
    assert _shifts(site) == before
    told = _post(site, "/admin/shifts", **nova_night)
    assert told.status_code == 409 and "shift 1 on 2026-12-07 (21:00–05:00" in told.text


def test_a_team_lead_never_sees_who_outside_their_creators_works_a_swapped_day(
    site: Site,  # noqa: F811
) -> None:
    """Bob's nova nights, Monday handed to Alice while she also worked for nova; then she
    left nova.  The lead of nova reads "another chatter" in the week and on the shift's
    page, never her name or key (the API's rule, ``listing.shown``); an admin reads Alice."""
    site.collector.cli("add-user", "lead@agency.test", "--role", "manager", input=PASSWORD + "\n")
    site.collector.cli("set-creators", "lead@agency.test", "nova")
    site.admin.follow(_post(site, "/admin/shifts", **NIGHT))
    both = {"name": "Alice", "creators": ["luna", "nova"], "csrf_token": site.admin.token()}
    site.admin.follow(site.admin.http.post("/admin/chatters/alice", data=both))
    swap = {"day": "2026-12-07", "kind": "swapped", "chatter": "alice"}
    site.admin.follow(_post(site, "/admin/shifts/1/exceptions", **swap))
    luna = {**both, "creators": ["luna"], "csrf_token": site.admin.token()}
    site.admin.follow(site.admin.http.post("/admin/chatters/alice", data=luna))

    lead = site.client("lead@agency.test")
    week = lead.get(WEEK).text
    assert '<th scope="row">Another chatter</th>' in week
    assert '<th scope="row">Bob</th>' in week and "swap for Bob" in week
    page = lead.get("/admin/shifts/1").text
    assert "worked by another chatter" in page
    for seen in (week, page):
        assert "alice" not in seen.lower()

    admin_week = site.admin.get(WEEK).text
    assert '<th scope="row">Alice</th>' in admin_week and "Another chatter" not in admin_week
    assert "worked by Alice" in site.admin.get("/admin/shifts/1").text
