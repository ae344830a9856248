"""The payroll pages on both databases: the admin sees every chatter's pay and approves a
period (audited, with the reasons a period is refused), a team lead sees the chatters of
their creators and no approval, a chatter only their own pay; the pay rule form on the
admin chatter page reads amounts exactly; every form needs its CSRF token."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

from collector.agency.settings import set_value
from collector.http.database import db
from tests.collector.pages.admin.test_admin import ADMIN, PASSWORD, Site, site  # noqa: F401

# Weekly periods, Monday to Sunday, in UTC: long over whenever the tests run.
WEEK = "2026-11-16..2026-11-22"
NEXT = "2026-11-23..2026-11-29"
LEAD = "lead@agency.test"


def _weekly(site: Site) -> None:  # noqa: F811
    with site.collector.app.app_context():
        for name, value in (("agency_timezone", "UTC"), ("pay_period", "weekly")):
            set_value(db.session, name, value)
        db.session.commit()


def _rule(site: Site, key: str, **form: str) -> str:  # noqa: F811
    return site.admin.follow(site.admin.post(f"/admin/chatters/{key}/pay-rules", **form))


def _paid(site: Site) -> None:  # noqa: F811
    """Alice: a 70.00 bonus a week; Bob: 15.00 an hour online, at least 35.00 a week."""
    _weekly(site)
    _rule(site, "alice", valid_from="2026-11-16", bonus="70.00")
    _rule(site, "bob", valid_from="2026-11-16", hourly="15.00", minimum="35.00")


def _rows(html: str) -> dict[str, str]:
    """Each chatter row's total, by chatter key."""
    return dict(re.findall(r'<tr data-chatter="([^"]+)">.*?data-total="([^"]+)"', html, re.S))


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_pay_rule_form_reads_amounts_exactly(site: Site) -> None:  # noqa: F811
    _weekly(site)
    page = _rule(
        site,
        "bob",
        valid_from="2026-11-16",
        hourly="15.25",
        hours_basis="scheduled",
        commission="12.5",
        after_fee="on",
        bonus="",
        minimum="100",
    )
    assert "Pay rule for Bob from 2026-11-16 saved." in page
    row = site.rows(
        "SELECT hourly_minor, hours_basis, commission_basis_points, commission_after_fee,"
        " bonus_minor, minimum_minor, created_by FROM pay_rules"
    )
    assert row == [(1525, "scheduled", 1250, True, 0, 10_000, ADMIN)]
    assert site.last_audit() == (ADMIN, "set_pay_rule", "chatter:bob")
    text = _text(page)
    assert "2026-11-16 $15.25/h scheduled time 12.50 % after the fee" in text
    before = site.snapshot()
    for form, message in (
        ({"valid_from": "2026-11-16", "hourly": "1"}, "already has a pay rule from 2026-11-16"),
        ({"valid_from": "2026-11-17", "hourly": "15.001"}, "more than 2 decimal places"),
        ({"valid_from": "2026-11-17", "hourly": "-1"}, "hourly rate"),
        ({"valid_from": "2026-11-17", "commission": "12.345"}, "commission: a percent"),
        ({"valid_from": "2026-11-17", "commission": "101"}, "from 0 to 100"),
        ({"valid_from": "2026-11-17", "hours_basis": "dreams"}, "hours_basis must be one of"),
        ({"valid_from": "17/11/2026"}, "from: a day (YYYY-MM-DD)"),
    ):
        reply = site.admin.post("/admin/chatters/bob/pay-rules", **form)
        taken = message.startswith("already")  # a conflict with the stored rule
        assert reply.status_code == (409 if taken else 400), (form, reply.status_code)
        assert 'id="rule-error"' in reply.text and message in unescape(reply.text), form
        assert f'value="{form["valid_from"]}"' in reply.text  # the form keeps what was typed
    assert site.snapshot() == before
    boss = site.client("boss@agency.test")
    before = site.snapshot()  # (a login is written down)
    assert site.admin.post("/admin/chatters/bob/pay-rules", csrf=False).status_code == 400
    assert boss.post("/admin/chatters/bob/pay-rules", valid_from="2026-11-20").status_code == 403
    assert site.snapshot() == before


def test_the_admin_sees_everyone_and_approves_in_order(site: Site) -> None:  # noqa: F811
    _paid(site)
    page = site.admin.get(f"/payroll?period={WEEK}")
    assert page.status_code == 200
    assert _rows(page.text) == {"alice": "70.00", "bob": "35.00"}
    assert 'id="payroll-totals"' in page.text and 'data-total="105.00"' in page.text
    text = _text(page.text)
    assert "Minimum guarantee top-up" in text and "Bonus" in text
    assert "This period is over but not approved" in text
    assert "/api/v1/payroll?period=2026-11-16..2026-11-22&amp;format=csv&amp;view=chatters" in (
        page.text
    )
    assert "format=xlsx&amp;view=lines" in page.text
    assert 'href="/payroll?period=2026-11-09..2026-11-15"' in page.text  # previous
    assert 'href="/payroll?period=2026-11-23..2026-11-29"' in page.text  # next
    assert 'id="approve-link"' in page.text
    # A day in the period picks the period; a bad one says so and shows today's.
    assert _rows(site.admin.get("/payroll?period=2026-11-19").text) == _rows(page.text)
    bad = site.admin.get("/payroll?period=19.11.2026")
    assert bad.status_code == 200 and "first..last is needed" in unescape(bad.text)
    # The confirmation step, then the approval.
    confirm = site.admin.get(f"/payroll/approve?period={WEEK}")
    assert confirm.status_code == 200
    assert "Approve and lock the pay period 2026-11-16 to 2026-11-22?" in unescape(confirm.text)
    assert "2 chatters, $105.00 in all" in unescape(confirm.text)
    boss = site.client("boss@agency.test")
    before = site.snapshot()
    assert site.admin.post(f"/payroll/approve?period={WEEK}", csrf=False).status_code == 400
    assert boss.post(f"/payroll/approve?period={WEEK}").status_code == 403
    assert site.snapshot() == before
    # The first approval may be any period that is over; then they go in order.
    first = site.admin.post("/payroll/approve?period=2026-11-02..2026-11-08")
    assert first.status_code == 302
    assert site.value("SELECT COUNT(*) FROM pay_periods") == 1
    before = site.snapshot()
    skipped = site.admin.post(f"/payroll/approve?period={WEEK}")
    assert skipped.status_code == 409
    assert "approve 2026-11-09..2026-11-15 first" in unescape(skipped.text)
    earlier = site.admin.post("/payroll/approve?period=2026-11-01")
    assert earlier.status_code == 409
    assert "is before the first approved period" in unescape(earlier.text)
    again = site.admin.post("/payroll/approve?period=2026-11-05")
    assert again.status_code == 409 and "is locked" in unescape(again.text)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    open_now = site.admin.post(f"/payroll/approve?period={today}")
    assert open_now.status_code == 409 and "is not over yet" in unescape(open_now.text)
    assert 'id="approve-error"' in open_now.text
    assert site.snapshot() == before


def test_an_approval_is_audited_and_late_changes_are_adjustments(site: Site) -> None:  # noqa: F811
    _paid(site)
    done = site.admin.follow(site.admin.post(f"/payroll/approve?period={WEEK}"))
    assert f"Pay period 2026-11-16 to 2026-11-22 approved and locked by {ADMIN}." in done
    assert site.last_audit() == (ADMIN, "approve_pay_period", f"pay_period:{WEEK}")
    text = _text(done)
    assert f"Locked Approved by {ADMIN}" in text and 'id="approve-link"' not in done
    # A rule from Thursday of the locked week: the bonus changes for its last four days,
    # paid as an adjustment in the next week, which says it carries adjustments.
    saved = _rule(site, "alice", valid_from="2026-11-19", bonus="140.00")
    assert "It reaches into approved pay" in saved
    locked = site.admin.get(f"/payroll?period={WEEK}")
    assert _rows(locked.text) == {"alice": "70.00", "bob": "35.00"}  # as paid
    following = site.admin.get(f"/payroll?period={NEXT}")
    assert 'id="carries-adjustments"' in following.text
    assert "Bonus (adjustment)" in following.text and "for 2026-11-16..2026-11-22" in following.text
    # 4 of 7 days at 140.00 instead of 70.00: 40.00 more; and the week's own 140.00.
    assert _rows(following.text)["alice"] == "180.00"
    assert "from 2026-11-19, set by root@agency.test" in _text(following.text)


def test_a_team_lead_sees_their_creators_chatters_only(site: Site) -> None:  # noqa: F811
    _paid(site)
    site.collector.cli("add-user", LEAD, "--role", "manager", "--creators", "nova",
                       input=PASSWORD + "\n")  # fmt: skip
    lead = site.client(LEAD)
    page = lead.get(f"/payroll?period={WEEK}")
    assert page.status_code == 200
    assert _rows(page.text) == {"bob": "35.00"}  # bob works for nova; alice does not
    assert ">Alice<" not in page.text and 'id="approve-link"' not in page.text
    assert 'href="/payroll"' in page.text  # in their top bar
    assert lead.get(f"/payroll/approve?period={WEEK}").status_code == 403
    assert lead.post(f"/payroll/approve?period={WEEK}").status_code == 403
    assert site.rows("SELECT * FROM pay_periods") == []


def test_a_chatter_sees_only_their_own_pay(site: Site) -> None:  # noqa: F811
    _paid(site)
    alice = site.client("alice@agency.test")
    assert alice.get(f"/payroll?period={WEEK}").status_code == 403
    assert alice.get(f"/payroll/approve?period={WEEK}").status_code == 403
    page = alice.get(f"/my-pay?period={WEEK}")
    assert page.status_code == 200
    assert _rows(page.text) == {"alice": "70.00"}
    assert "Bob" not in page.text and "35.00" not in page.text
    assert 'href="/my-pay"' in page.text and 'href="/payroll"' not in page.text
    assert 'href="/my-pay?period=2026-11-09..2026-11-15"' in page.text
    # Managers have the payroll page, not "My pay".
    assert site.admin.get("/my-pay").status_code == 403
