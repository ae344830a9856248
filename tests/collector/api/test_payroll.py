"""The payroll API on both databases: the report's numbers worked by hand
(tests/collector/payroll/test_pay.py), who sees whose pay, the CSV and Excel files read
back (openpyxl and LibreOffice), what a line stands on, approval (order, 409 codes, two at
once), pay rules, and bad input answered 4xx JSON, never 500."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from collector.agency.settings import set_value
from collector.db.models import AuditEntry
from collector.db.payroll_models import LockedPeriod, PayRule
from collector.http.database import db
from tests.collector.auth.test_accounts import PASSWORD, login
from tests.collector.conftest import Agent, Collector
from tests.collector.http.test_exports import read_lo_csv, soffice
from tests.collector.payroll.test_pay import NEXT, PARIS, WEEK, _at, _events, _online, _rule

LEAD = "lead-payroll@agency.test"
DAY = WEEK.first.isoformat()


def _settings() -> None:
    for name, value in (
        ("agency_timezone", "Europe/Paris"),
        ("pay_period", "weekly"),
        ("retention_slice_days", "366"),
    ):
        set_value(db.session, name, value)
    db.session.commit()


@pytest.fixture
def paid(agency: Collector, agent: Agent, integration: str) -> Collector:
    """The hand-worked week (test_pay.py): alice 15.00/h online with a 100.00 minimum, 90
    minutes online (22.50 + a 77.50 top-up); bob 20 % after the 20 % fee of 70.00 net
    (11.20).  No app context stays pushed: a request would share its session."""
    with agency.app.app_context():
        _settings()
        _rule(db.session, "alice", WEEK.first, hourly_minor=1500, minimum_minor=10_000)
        _rule(db.session, "bob", WEEK.first, commission_basis_points=2000,
              commission_after_fee=True)  # fmt: skip
    _online(agent, dt.datetime(2026, 11, 17, 10, 0, tzinfo=PARIS), 90)
    _events(
        agency,
        integration,
        {"id": "t1", "type": "tip", "occurred_at": _at(17, 12), "creator": "luna",
         "fan": "f1", "chatter": "bob", "amount": "50.00"},
        {"id": "m1", "type": "message_sent", "occurred_at": _at(17, 13), "creator": "nova",
         "fan": "f2", "chatter": "bob", "kind": "direct", "ppv": {"id": "p1", "price": "30.00"}},
        {"id": "b1", "type": "ppv_purchase", "occurred_at": _at(17, 14), "creator": "nova",
         "fan": "f2", "ppv_id": "p1", "amount": "30.00"},
        {"id": "r1", "type": "refund", "occurred_at": _at(18, 9), "creator": "luna",
         "refers_to": "t1", "amount": "10.00"},
    )  # fmt: skip
    return agency


def _audited(agency: Collector, action: str) -> list[AuditEntry]:
    with agency.app.app_context():
        found = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        db.session.expunge_all()
        return list(found)


def _get(c: Collector, path: str, token: str | None = None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return c.http.get(path, params=params, headers=headers)


def _post(c: Collector, path: str, token: str | None, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return c.http.post(path, headers=headers, **kw)


def _by_key(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in body["chatters"]}


def test_the_report_body_matches_the_hand_worked_week(agency: Collector, paid: Collector) -> None:
    reply = _get(agency, "/api/v1/payroll", agency.token("admin"), period=DAY)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["period"] == {
        "first": "2026-11-16",
        "last": "2026-11-22",
        "label": "2026-11-16..2026-11-22",
        "kind": "weekly",
        "time_zone": "Europe/Paris",
        "status": "open",
        "over": True,
        "approved_at": None,
        "approved_by": None,
        "carries_adjustments": False,
        "before_payroll_start": None,
    }
    assert body["currency"] == "USD" and body["platform_fee_basis_points"] == 2000
    rows = _by_key(body)
    alice, bob = rows["alice"], rows["bob"]
    assert (alice["online_seconds"], alice["active_seconds"], alice["scheduled_seconds"]) == (
        5400,
        2700,
        0,
    )
    assert (alice["hourly_pay"], alice["minimum_topup"], alice["commission"]) == (
        "22.50",
        "77.50",
        "0.00",
    )
    assert alice["total"] == "100.00" and alice["adjustments"] == "0.00"
    assert (bob["net_sales"], bob["commission"], bob["total"]) == ("70.00", "11.20", "11.20")
    assert [(line["kind"], line["amount"]) for line in alice["lines"]] == [
        ("hours", "22.50"),
        ("commission", "0.00"),
        ("minimum", "77.50"),
    ]
    commission = next(line for line in bob["lines"] if line["kind"] == "commission")
    assert commission["rate"] == "20.00 % after the 20.00 % fee"
    assert (commission["ppv_sales"], commission["tips"], commission["refunds"]) == (
        "30.00",
        "40.00",
        "10.00",
    )
    assert body["totals"]["total"] == "111.20" and body["totals"]["online_seconds"] == 5400
    # The same week named by its label, or by any day in it.
    again = _get(agency, "/api/v1/payroll", agency.token("manager"), period=WEEK.label())
    assert again.json() == body


def test_a_chatter_sees_their_own_pay_and_a_team_lead_their_creators_chatters(
    agency: Collector, paid: Collector
) -> None:
    mine = _get(agency, "/api/v1/payroll", agency.token("chatter", "alice"), period=DAY).json()
    assert list(_by_key(mine)) == ["alice"] and mine["totals"]["total"] == "100.00"
    assert "bob" not in str(mine)
    # A chatter asking what bob's line stands on: 403, the same as for a key nobody has.
    alice_token = agency.token("chatter", "alice")
    for key in ("bob", "nobody"):
        reply = _get(
            agency, "/api/v1/payroll/sources", alice_token, period=DAY, chatter=key, line=0
        )
        assert reply.status_code == 403, reply.text
    # Rules are for managers.
    assert _get(agency, "/api/v1/payroll/rules", alice_token).status_code == 403

    # A team lead of nova sees bob (luna and nova), not alice (luna only).
    agency.app.config["SESSION_COOKIE_SECURE"] = False
    agency.cli("add-user", LEAD, "--role", "manager", "--creators", "nova", input=PASSWORD + "\n")
    assert login(agency.http, LEAD, PASSWORD).status_code == 302
    lead = _get(agency, "/api/v1/payroll", period=DAY).json()
    assert list(_by_key(lead)) == ["bob"] and lead["totals"]["total"] == "11.20"
    for fmt in ("csv", "xlsx"):
        file = _get(agency, "/api/v1/payroll", period=DAY, format=fmt, view="lines")
        assert file.status_code == 200 and b"alice" not in file.content.lower()
    for key in ("alice", "nobody"):
        reply = _get(agency, "/api/v1/payroll/sources", period=DAY, chatter=key, line=0)
        assert reply.status_code == 403, reply.text
        assert _get(agency, "/api/v1/payroll/rules", chatter=key).status_code == 403
    rules = _get(agency, "/api/v1/payroll/rules").json()["rules"]
    assert [r["chatter"] for r in rules] == ["bob"]
    assert _get(agency, "/api/v1/payroll/sources", period=DAY, chatter="bob", line=1).is_success

    # An admin sees everyone; an unknown key is 404 to them.
    admin = agency.token("admin")
    assert list(_by_key(_get(agency, "/api/v1/payroll", admin, period=DAY).json())) == [
        "alice",
        "bob",
    ]
    reply = _get(agency, "/api/v1/payroll/sources", admin, period=DAY, chatter="nobody", line=0)
    assert reply.status_code == 404
    rules = _get(agency, "/api/v1/payroll/rules", admin, chatter="alice").json()
    assert rules["rules"] == [
        {
            "chatter": "alice",
            "name": "Alice",
            "valid_from": "2026-11-16",
            "hourly_minor": 1500,
            "hours_basis": "online",
            "commission_basis_points": 0,
            "commission_after_fee": False,
            "bonus_minor": 0,
            "minimum_minor": 10_000,
            "hourly": "15.00",
            "bonus": "0.00",
            "minimum": "100.00",
            "created_at": "2026-11-30T09:00:00Z",
            "created_by": "boss",
        }
    ]


def test_the_csv_and_excel_files_read_back(
    agency: Collector, paid: Collector, tmp_path: Path
) -> None:
    admin = agency.token("admin")
    reply = _get(agency, "/api/v1/payroll", admin, period=DAY, format="csv")
    assert reply.headers["content-type"].startswith("text/csv")
    assert "payroll_2026-11-16_2026-11-22.csv" in reply.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert [r["Chatter key"] for r in rows] == ["alice", "bob"]
    assert rows[0]["Online (seconds)"] == "5400" and rows[0]["Total"] == "100.00"
    assert rows[1]["Commission"] == "11.20" and rows[1]["Net sales"] == "70.00"
    lines = _get(agency, "/api/v1/payroll", admin, period=DAY, format="csv", view="lines")
    found = list(csv.DictReader(io.StringIO(lines.content.decode("utf-8-sig"))))
    assert [(r["Chatter key"], r["Line"], r["Amount"]) for r in found] == [
        ("alice", "Hourly pay", "22.50"),
        ("alice", "Commission", "0.00"),
        ("alice", "Minimum guarantee top-up", "77.50"),
        ("bob", "Hourly pay", "0.00"),
        ("bob", "Commission", "11.20"),
    ]

    xlsx = _get(agency, "/api/v1/payroll", admin, period=DAY, format="xlsx").content
    (tmp_path / "payroll.xlsx").write_bytes(xlsx)
    sheet = load_workbook(io.BytesIO(xlsx)).active
    assert sheet is not None
    values = [[cell for cell in row] for row in sheet.iter_rows()]
    header = next(i for i, row in enumerate(values) if row[0].value == "Chatter key")
    titles = [cell.value for cell in values[header]]
    alice = dict(zip(titles, values[header + 1], strict=True))
    total = alice["Total"]
    assert total.value == Decimal("100.00") or total.value == 100
    assert total.data_type == "n" and total.number_format == '#,##0.00 "USD"'
    online = alice["Online (h:mm:ss)"]
    assert online.is_date and online.number_format == "[h]:mm:ss"
    assert online.value == dt.timedelta(seconds=5400) or online.value == dt.time(1, 30)
    assert alice["Hourly pay"].value == Decimal("22.50")

    # LibreOffice reads the same file, typed: amounts in the currency, times as h:mm:ss.
    binary = soffice()
    target = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true"
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    subprocess.run(
        [
            binary,
            f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(tmp_path / "out"),
            str(tmp_path / "payroll.xlsx"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
        env=env,
    )
    shown = read_lo_csv(tmp_path / "out" / "payroll.csv")
    assert shown[0][0] == "Payroll"
    head = next(i for i, row in enumerate(shown) if row and row[0] == "Chatter key")
    by_title = [dict(zip(shown[head], row, strict=False)) for row in shown[head + 1 :]]
    assert by_title[0]["Chatter"] == "Alice"
    assert by_title[0]["Online (h:mm:ss)"] == "1:30:00"
    assert by_title[0]["Active (h:mm:ss)"] == "0:45:00"
    assert by_title[0]["Hourly pay"] == "22.50 USD"
    assert by_title[0]["Total"] == "100.00 USD"
    assert by_title[1]["Commission"] == "11.20 USD"


def test_approval_in_order_with_its_409_codes_and_audited(
    agency: Collector, paid: Collector
) -> None:
    admin = agency.token("admin")
    for role in ("manager", "chatter", "integration"):
        token = agency.token(role, "alice" if role == "chatter" else None)
        reply = _post(agency, "/api/v1/payroll/approve", token, json={"period": DAY})
        assert reply.status_code == 403, reply.text
    today = dt.datetime.now(dt.UTC).date().isoformat()
    reply = _post(agency, "/api/v1/payroll/approve", admin, json={"period": today})
    assert (reply.status_code, reply.json()["error"]) == (409, "period_not_over")

    # The first approval may be any period that is over; every later one the next.
    first = _post(agency, "/api/v1/payroll/approve", admin, json={"period": "2026-11-02"})
    assert first.status_code == 200, first.text
    assert first.json()["totals"]["total"] == "0.00"
    reply = _post(agency, "/api/v1/payroll/approve", admin, json={"period": DAY})
    assert (reply.status_code, reply.json()["error"]) == (409, "period_out_of_order")
    assert "approve 2026-11-09..2026-11-15 first" in reply.json()["message"]
    middle = _post(agency, "/api/v1/payroll/approve", admin, json={"period": "2026-11-09"})
    assert middle.status_code == 200, middle.text

    reply = _post(agency, "/api/v1/payroll/approve", admin, json={"period": DAY})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["period"]["status"] == "locked" and body["period"]["approved_by"].startswith(
        "token:admin-"
    )
    assert body["totals"]["total"] == "111.20"
    for period, code in (
        (DAY, "period_locked"),
        ("2026-11-10", "period_locked"),
        ("2026-10-26", "period_before_lock"),
        ("2026-11-30", "period_not_over"),
    ):
        reply = _post(agency, "/api/v1/payroll/approve", admin, json={"period": period})
        assert (reply.status_code, reply.json()["error"]) == (409, code), reply.text
    # The GET reads the locked period as approved.
    assert _get(agency, "/api/v1/payroll", admin, period=DAY).json() == body
    entries = _audited(agency, "approve_pay_period")
    assert [(e.subject, e.detail["total_minor"]) for e in entries] == [
        ("pay_period:2026-11-02..2026-11-08", 0),
        ("pay_period:2026-11-09..2026-11-15", 0),
        ("pay_period:2026-11-16..2026-11-22", 11_120),
    ]


def test_two_approvals_at_once_one_wins(agency: Collector, paid: Collector) -> None:
    admin = agency.token("admin")
    start = threading.Barrier(2)
    replies: list[httpx.Response] = []

    def approve() -> None:
        transport = httpx.WSGITransport(app=agency.app)
        with httpx.Client(transport=transport, base_url="http://collector.test") as http:
            start.wait()
            replies.append(
                http.post(
                    "/api/v1/payroll/approve",
                    json={"period": DAY},
                    headers={"Authorization": f"Bearer {admin}"},
                )
            )

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r.status_code for r in replies) == [200, 409], [r.text for r in replies]
    refused = next(r for r in replies if r.status_code == 409)
    assert refused.json()["error"] == "period_locked"
    assert len(_audited(agency, "approve_pay_period")) == 1


def test_a_late_refund_is_an_adjustment_whose_sources_name_it(
    agency: Collector, paid: Collector, integration: str
) -> None:
    admin = agency.token("admin")
    assert _post(agency, "/api/v1/payroll/approve", admin, json={"period": DAY}).is_success
    refund = {"id": "r2", "type": "refund", "occurred_at": _at(20, 9), "creator": "nova",
              "refers_to": "b1", "amount": "30.00"}  # fmt: skip
    _events(agency, integration, refund)
    body = _get(agency, "/api/v1/payroll", admin, period=NEXT.first.isoformat()).json()
    assert body["period"]["carries_adjustments"] is True
    bob = _by_key(body)["bob"]
    # 30.00 less net, 24.00 after the fee: 4.80 less commission.
    assert bob["adjustments"] == "-4.80"
    index = next(i for i, line in enumerate(bob["lines"]) if line["adjustment"])
    assert bob["lines"][index]["for_period"] == WEEK.label()
    reply = _get(
        agency, "/api/v1/payroll/sources", admin, period=NEXT.label(), chatter="bob", line=index
    )
    assert reply.status_code == 200, reply.text
    under = reply.json()
    assert under["line"]["index"] == index and under["line"]["adjustment"] is True
    assert [(s["event_id"], s["type"], s["amount_minor"]) for s in under["sales"]] == [
        ("r2", "refund", 3000)
    ]
    assert under["changed_since"] is not None and under["changed_until"] is None
    # The week as paid: every sale under bob's commission.
    paid_for = _get(agency, "/api/v1/payroll/sources", admin, period=DAY, chatter="bob", line=1)
    assert [s["event_id"] for s in paid_for.json()["sales"]] == ["t1", "b1", "r1", "r2"]
    past = _get(agency, "/api/v1/payroll/sources", admin, period=DAY, chatter="bob", line=9)
    assert past.status_code == 404


def test_pay_rules_set_by_an_admin(agency: Collector, paid: Collector) -> None:
    admin = agency.token("admin")
    rule = {"chatter": "alice", "valid_from": "2026-11-19", "hourly_minor": 1800,
            "hours_basis": "active", "commission_basis_points": 1250,
            "commission_after_fee": True, "bonus_minor": 7000}  # fmt: skip
    assert (
        _post(agency, "/api/v1/payroll/rules", agency.token("manager"), json=rule).status_code
        == 403
    )
    reply = _post(agency, "/api/v1/payroll/rules", admin, json=rule)
    assert reply.status_code == 201, reply.text
    assert reply.json()["hourly"] == "18.00" and reply.json()["created_by"].startswith("token:")
    again = _post(agency, "/api/v1/payroll/rules", admin, json=rule)
    assert again.status_code == 409 and "already has a pay rule" in again.json()["message"]
    subjects = [e.subject for e in _audited(agency, "set_pay_rule")]
    assert subjects.count("chatter:alice") == 2
    # The week is now paid in two parts for alice.
    body = _get(agency, "/api/v1/payroll", admin, period=DAY).json()
    parts = {(line["kind"], line["first_day"]) for line in _by_key(body)["alice"]["lines"]}
    assert ("hours", "2026-11-19") in parts and ("bonus", "2026-11-19") in parts


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"hourly_minor": -1}, 422),
        ({"hourly_minor": 10**40}, 422),
        ({"hourly_minor": 2**63}, 422),
        ({"hourly_minor": "15.00"}, 422),
        ({"hourly_minor": 15.5}, 422),
        ({"hourly_minor": True}, 422),
        ({"commission_basis_points": 10_001}, 422),
        ({"commission_after_fee": "yes"}, 422),
        ({"hours_basis": "sleeping"}, 422),
        ({"hours_basis": "on\x00line"}, 422),
        ({"surprise": 1}, 422),
        ({"valid_from": "2026-02-30"}, 422),
        ({"valid_from": "yesterday"}, 422),
        ({"valid_from": 20261116}, 422),
        ({"valid_from": "2026-11-16\x00"}, 422),
        ({"chatter": "nobody"}, 422),
        ({"chatter": "ali\x00ce"}, 422),
        ({"chatter": ["alice"]}, 422),
        ({"chatter": "x" * 5000}, 422),
    ],
)
def test_a_bad_pay_rule_is_422(agency: Collector, change: dict[str, Any], status: int) -> None:
    rule = {"chatter": "alice", "valid_from": "2026-11-16", **change}
    reply = _post(agency, "/api/v1/payroll/rules", agency.token("admin"), json=rule)
    assert reply.status_code == status, reply.text
    assert reply.json()["message"]
    with agency.app.app_context():
        assert db.session.scalars(select(PayRule)).all() == []


def _deep(depth: int) -> str:
    return '{"period": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/payroll", {"period": "yesterday"}),
        ("/api/v1/payroll", {"period": "2026-11-16..2026-11-20"}),
        ("/api/v1/payroll", {"period": "2026-13-01"}),
        ("/api/v1/payroll", {"period": "99999-01-01"}),
        ("/api/v1/payroll", {"period": "9999-12-31"}),  # its week ends past datetime's limit
        ("/api/v1/payroll", {"period": "9999-12-27..9999-12-31"}),
        ("/api/v1/payroll", {"period": "0001-01-01"}),  # "over", but no agency's period
        ("/api/v1/payroll/sources", {"period": "9999-12-31", "chatter": "alice", "line": "0"}),
        ("/api/v1/payroll", {"period": "2026-11-16" * 50}),
        ("/api/v1/payroll", {"period": "2026-11-16\x00"}),
        ("/api/v1/payroll", {"format": "pdf"}),
        ("/api/v1/payroll", {"view": "creators"}),
        ("/api/v1/payroll/sources", {"chatter": "alice"}),
        ("/api/v1/payroll/sources", {"chatter": "alice", "line": "x"}),
        ("/api/v1/payroll/sources", {"chatter": "alice", "line": "-1"}),
        ("/api/v1/payroll/sources", {"chatter": "alice", "line": str(2**64)}),
        ("/api/v1/payroll/sources", {"chatter": "alice", "line": "１"}),
        ("/api/v1/payroll/sources", {"line": "0"}),
        ("/api/v1/payroll/sources", {"chatter": "x" * 5000, "line": "0"}),
        ("/api/v1/payroll/rules", {"chatter": "x" * 5000}),
    ],
)
def test_bad_queries_are_400(agency: Collector, path: str, params: dict[str, str]) -> None:
    reply = _get(agency, path, agency.token("admin"), **params)
    assert reply.status_code == 400, reply.text
    assert reply.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'"2026-11-16"',
        b'{"period": 20261116}',
        b'{"period": null}',
        b'{"period": ""}',
        b'{"period": "2026-11-16\\u0000"}',
        b'{"period": "2026-11-16", "by": "me"}',
        b'{"period": "9999-12-31"}',
        b'{"period": "0001-01-01..0001-01-07"}',
        b'{"period": "2026-11-16..2026-11-20"}',
        b'{"period": "' + b"9" * 5000 + b'"}',
        _deep(40).encode(),
        b'{"period": "2026-11-16"' + b" " * 20_000 + b"}",
    ],
)
def test_a_bad_approval_is_4xx(agency: Collector, body: bytes) -> None:
    reply = agency.http.post(
        "/api/v1/payroll/approve",
        content=body,
        headers={
            "Authorization": f"Bearer {agency.token('admin')}",
            "Content-Type": "application/json",
        },
    )
    assert 400 <= reply.status_code < 500, reply.text
    assert reply.json()["message"]
    with agency.app.app_context():
        assert db.session.scalars(select(LockedPeriod)).all() == []
