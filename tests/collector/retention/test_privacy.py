"""chatter-export and chatter-erase on both databases, read back with the json module."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select, text

from collector.db.models import AuditEntry, Chatter, Device, DeviceKey, Event, Slice, User
from collector.http.database import db
from tests.collector.auth.test_accounts import login
from tests.collector.conftest import Agent, Collector
from tests.collector.ingest.test_events import ev

ISO = "%Y-%m-%dT%H:%M:%SZ"


def _at(hours: float) -> str:
    base = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    return (base - dt.timedelta(hours=hours)).strftime(ISO)


def _alice_everywhere(agency: Collector, integration: str) -> Agent:
    """alice with a device and slices, sales, a login, a token, an override, a reassignment."""
    agent = agency.enroll("alice")
    assert agent.send(agent.slices(5)).status_code == 200
    events = [
        ev("a-fan", "fan_message", fan="fan-7", occurred_at=_at(5)),
        ev(
            "a-ppv",
            "message_sent",
            chatter="alice",
            fan="fan-7",
            kind="direct",
            ppv={"id": "p7", "price": "12.50"},
            occurred_at=_at(4.9),
        ),
        ev("a-buy", "ppv_purchase", fan="fan-7", ppv_id="p7", amount="12.50", occurred_at=_at(4.5)),
        ev("a-tip", "tip", fan="fan-7", amount="3.10", occurred_at=_at(4.4)),
        ev("b-tip", "tip", fan="fan-8", chatter="bob", amount="7.00", occurred_at=_at(4.3)),
        ev(
            "b-msg", "message_sent", chatter="bob", fan="fan-8", kind="direct", occurred_at=_at(4.2)
        ),
        ev(
            "nova-tip",
            "tip",
            creator="nova",
            fan="fan-9",
            chatter="bob",
            amount="1.00",
            occurred_at=_at(4.1),
        ),
    ]
    assert agency.post_events(events, integration).status_code == 200
    agency.cli(
        "add-user",
        "alice@example.test",
        "--role",
        "chatter",
        "--chatter",
        "alice",
        input="a-long-password-1\n",
    )
    agency.token("chatter", "alice")
    agency.enroll_token("alice")
    agency.cli("settings", "set", "idle_threshold_seconds", "240", "--chatter", "alice")
    agency.cli("reassign-sale", "b-tip", "--to", "alice", "--reason", "alice closed it")
    return agent


def _stats(agency: Collector, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    day = dt.datetime.now(dt.UTC).date()
    span = {"start": (day - dt.timedelta(days=3)).isoformat(), "end": day.isoformat(), "tz": "UTC"}
    out = {}
    for creator in ("", "luna", "nova"):
        params = {**span, **({"creator": creator} if creator else {})}
        for path in ("/api/v1/stats/chatters", "/api/v1/stats/revenue"):
            reply = agency.http.get(path, params=params, headers=headers)
            assert reply.status_code == 200, reply.text
            out[path + creator] = reply.json()
    return out


def test_export_holds_everything_about_the_chatter(
    agency: Collector, integration: str, tmp_path: Path
) -> None:
    agent = _alice_everywhere(agency, integration)
    retired = agent.signed_post("/api/v1/agents/retire", b'{"unsent_slices": 2}')
    assert retired.status_code == 200
    target = tmp_path / "alice.json"
    assert "wrote" in agency.cli("chatter-export", "alice", str(target)).output
    assert target.stat().st_mode & 0o777 == 0o600  # personal data: its owner's only
    again = agency.cli("chatter-export", "alice", str(target), expect=1)
    assert "exists" in again.output and "--force" in again.output
    agency.cli("chatter-export", "alice", str(target), "--force")
    raw = target.read_text(encoding="utf-8")
    data = json.loads(raw)
    assert agent.secret not in raw and "scrypt" not in raw  # no secrets, no hashes
    assert data["format"] == "chattertrack-chatter-export" and data["version"] == 1
    assert data["currency"] == "USD"
    assert data["chatter"]["key"] == "alice" and data["chatter"]["creators"] == ["luna"]
    with agency.app.app_context():
        session = db.session
        alice = session.scalar(select(Chatter).where(Chatter.key == "alice"))
        assert alice is not None
        slices = session.scalars(
            select(Slice).where(Slice.chatter_id == alice.id).order_by(Slice.start)
        ).all()
        device = session.scalar(select(Device).where(Device.chatter_id == alice.id))
        assert device is not None
        key_ids = set(
            session.scalars(select(DeviceKey.key_id).where(DeviceKey.device_id == device.id))
        )
        credited = set(
            session.scalars(
                select(Event.event_id).where(
                    (Event.chatter_id == alice.id) | (Event.credit_chatter_id == alice.id)
                )
            )
        )
    assert [s["start"] for s in data["slices"]] == [s.start.strftime(ISO) for s in slices]
    assert [s["keystrokes"] for s in data["slices"]] == [s.keystrokes for s in slices]
    assert {s["device"] for s in data["slices"]} == {device.uid}
    [exported_device] = data["devices"]
    assert exported_device["hostname"] == "pc-1" and exported_device["uid"] == device.uid
    assert exported_device["retired_at"] == retired.json()["retired_at"]
    assert exported_device["retired_unsent"] == 2
    assert {k["key_id"] for k in exported_device["keys"]} == key_ids
    assert not any("secret" in k for k in exported_device["keys"])
    assert {e["event_id"] for e in data["events"]} == credited
    assert credited == {"a-ppv", "a-buy", "a-tip", "b-tip"}
    money = {e["event_id"]: e["amount"] for e in data["events"]}
    assert money["a-buy"] == {"amount": "12.50", "currency": "USD"}
    assert money["a-tip"] == {"amount": "3.10", "currency": "USD"}
    assert [r["to"] for r in data["sale_reassignments"]] == ["alice"]
    assert [u["email"] for u in data["logins"]] == ["alice@example.test"]
    assert len(data["api_tokens"]) == 1 and len(data["enrollment_tokens"]) == 2
    assert data["settings"][0]["name"] == "idle_threshold_seconds"
    assert data["settings"][0]["value"] == "240"
    assert {a["action"] for a in data["audit"]} >= {"add_chatter", "add_user"}
    assert data["activity_days"] and data["sales_days"]
    for moment in (data["exported_at"], data["chatter"]["created_at"], data["slices"][0]["start"]):
        assert (
            moment.endswith("Z") and dt.datetime.fromisoformat(moment).utcoffset() == dt.timedelta()
        )


def _all_text(agency: Collector) -> str:
    """Every value of every table, as text: where erased personal data must not remain."""
    with agency.app.app_context():
        connection = db.session.connection()
        out = []
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                out.append(repr(tuple(row)))
        return "\n".join(out)


def test_erase_removes_personal_data_and_keeps_sales(agency: Collector, integration: str) -> None:
    _alice_everywhere(agency, integration)
    manager = agency.token("manager")
    before = _stats(agency, manager)
    refused = agency.cli("chatter-erase", "alice", input="n\n", expect=1)
    assert "Aborted" in refused.output
    personal = ("'alice'", "Alice", "alice@example.test", "'pc-1'")
    assert all(p in _all_text(agency) for p in personal)

    done = agency.cli("chatter-erase", "alice", input="y\n").output
    assert "erased alice: now erased-" in done
    pseudonym = done.split("now ")[1].split(";")[0]
    everything = _all_text(agency)
    # (A reassignment's free-text reason is the manager's words and stays as written.)
    for p in personal:
        assert p not in everything, p
    after = _stats(agency, manager)
    # The agency's sales stay: every creator's revenue and every sales column, per chatter
    # (alice now under her pseudonym); her activity is gone.
    for key, report in before.items():
        if "revenue" in key:
            assert after[key] == report
            continue
        old = {r["key"]: r for r in report["chatters"]}
        new = {r["key"]: r for r in after[key]["chatters"]}
        if "alice" not in old:  # nova's report: alice works for luna only
            assert new == old
            continue
        old[pseudonym] = old.pop("alice")
        assert set(new) == set(old)
        for chatter, row in old.items():
            for column in ("ppv_sales", "tips", "total_sales", "refunds", "ppv_bought"):
                assert new[chatter][column] == row[column], (key, chatter, column)
        assert new[pseudonym]["online_seconds"] == 0 < old[pseudonym]["online_seconds"]
    with agency.app.app_context():
        session = db.session
        assert session.scalar(select(User).where(User.email == "alice@example.test")) is None
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "erase_chatter")
        ).one()
        assert entry.subject == pseudonym and entry.detail is not None
        assert entry.detail["slices"] == 5 and entry.detail["devices"] == 1
        assert entry.detail["logins"] == 1
    # A rebuild agrees: the sales stay credited to the pseudonym.
    agency.cli("stats", "rebuild")
    assert _stats(agency, manager) == after


def test_bad_keys_change_nothing(agency: Collector, tmp_path: Path) -> None:
    before = _all_text(agency)
    export = agency.cli("chatter-export", "ghost", str(tmp_path / "x.json"), expect=1)
    assert "no chatter 'ghost'" in export.output and not (tmp_path / "x.json").exists()
    erase = agency.cli("chatter-erase", "ghost", "--yes", expect=1)
    assert "no chatter 'ghost'" in erase.output
    unwritable = agency.cli("chatter-export", "alice", str(tmp_path / "no" / "x.json"), expect=1)
    assert "cannot write" in unwritable.output
    assert _all_text(agency) == before


def test_an_erased_chatters_session_never_becomes_someone_elses(agency: Collector) -> None:
    """SQLite hands out the highest deleted id again: a deleted login's id, named by an
    open session, would log that browser in as the next account made (an admin here)."""
    agency.app.config["SESSION_COOKIE_SECURE"] = False  # the test client speaks plain HTTP
    password = "a-long-password-1"
    agency.cli("add-user", "carol@example.test", "--role", "chatter", "--chatter", "alice",
               input=f"{password}\n")  # fmt: skip
    carol = agency.http
    assert login(carol, "carol@example.test", password).status_code == 302
    assert carol.get("/").status_code == 302  # to her own page
    agency.cli("chatter-erase", "alice", "--yes")
    assert carol.get("/admin/users").headers["location"].startswith("/login")

    agency.cli("add-user", "new-admin@example.test", "--role", "admin", input=f"{password}\n")
    for path in ("/admin/users", "/stats"):
        reply = carol.get(path)
        assert reply.status_code == 302 and reply.headers["location"].startswith("/login"), path
    # The erased login stays, switched off, under the pseudonym: no id is freed.
    with agency.app.app_context():
        emails = set(db.session.scalars(select(User.email)))
    assert "carol@example.test" not in emails and "new-admin@example.test" in emails
    assert any(e.startswith("erased-") and e.endswith("@erased.invalid") for e in emails)
    assert login(carol, "carol@example.test", password).status_code == 401
