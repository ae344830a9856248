"""/api/v1/alert-rules, /api/v1/alerts and the delivery log: roles, audit, bad input 4xx."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from collector.db.alert_models import AlertRule
from collector.db.models import AuditEntry
from tests.collector.alerts.conftest import NOW, Hook, World
from tests.collector.auth.test_accounts import PASSWORD, login
from tests.collector.conftest import Collector

MIN = dt.timedelta(minutes=1)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make(agency: Collector, admin: str, **body: Any) -> Any:
    rule = {"name": "Late", "kind": "no_show", "threshold": 10, **body}
    return agency.http.post("/api/v1/alert-rules", json=rule, headers=auth(admin))


def _audit(world: World) -> list[tuple[str, str]]:
    with world.session() as s:
        return [
            (e.action, e.subject) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_rule_crud(agency: Collector, world: World, hook: Hook) -> None:
    admin = agency.token("admin")
    reply = make(
        agency, admin, creator="luna", webhook_url=hook.url, emails=["a@x.test", "A@x.test"]
    )
    assert reply.status_code == 201, reply.text
    rule = reply.json()
    assert rule["webhook_secret"].startswith("whsec_")
    assert (rule["creator"], rule["emails"], rule["unit"]) == ("luna", ["a@x.test"], "minutes")
    rule_id = rule["id"]
    listed = agency.http.get("/api/v1/alert-rules", headers=auth(admin)).json()["rules"]
    assert [r["id"] for r in listed] == [rule_id] and "webhook_secret" not in listed[0]
    patched = agency.http.patch(
        f"/api/v1/alert-rules/{rule_id}",
        json={"threshold": 20, "enabled": False, "creator": None},
        headers=auth(admin),
    )
    assert patched.status_code == 200
    assert (patched.json()["threshold"], patched.json()["enabled"], patched.json()["creator"]) == (
        20,
        False,
        None,
    )
    rotated = agency.http.post(f"/api/v1/alert-rules/{rule_id}/rotate-secret", headers=auth(admin))
    assert rotated.json()["webhook_secret"] != rule["webhook_secret"]
    assert (
        agency.http.delete(f"/api/v1/alert-rules/{rule_id}", headers=auth(admin)).status_code == 204
    )
    assert agency.http.get(f"/api/v1/alert-rules/{rule_id}", headers=auth(admin)).status_code == 404
    assert [a for a, _ in _audit(world) if a.startswith("alert_rule")] == [
        "alert_rule_create",
        "alert_rule_update",
        "alert_rule_rotate_secret",
        "alert_rule_delete",
    ]


def test_rules_are_for_admins(agency: Collector) -> None:
    manager = agency.token("manager")
    assert make(agency, manager).status_code == 403
    assert agency.http.get("/api/v1/alert-rules", headers=auth(manager)).status_code == 403
    assert agency.http.get("/api/v1/alert-rules").status_code == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "a\x00b"}, 422),
        ({"name": "x" * 101}, 422),
        ({"name": "   "}, 422),
        ({"kind": "weather"}, 422),
        ({"threshold": 0}, 422),
        ({"threshold": 1441}, 422),
        ({"threshold": 10**30}, 422),
        ({"threshold": "10"}, 422),
        ({"threshold": True}, 422),
        ({"webhook_url": "ftp://example.com/x"}, 422),
        ({"webhook_url": "file:///etc/passwd"}, 422),
        ({"webhook_url": "javascript:alert(1)"}, 422),
        ({"webhook_url": "http://"}, 422),
        ({"webhook_url": "http://exa mple.com/"}, 422),
        ({"webhook_url": "http://example.com:99999/"}, 422),
        ({"webhook_url": "https://example.com/" + "a" * 2000}, 422),
        ({"webhook_url": "http://example.com/\x00"}, 422),
        ({"emails": ["not-an-address"]}, 422),
        ({"emails": ["a@b"]}, 422),
        ({"emails": ["a b@example.com"]}, 422),
        ({"emails": [f"p{i}@example.com" for i in range(21)]}, 422),
        ({"emails": "a@example.com"}, 422),
        ({"creator": "nobody"}, 422),
        ({"name": "Late\u202eevil"}, 422),  # a bidirectional override (text.check_label)
        ({"name": "Late\u2066x\u2069"}, 422),
        ({"name": "Late\x1b[31m"}, 422),  # a terminal escape
        ({"name": "Late\x85"}, 422),
        ({"creator": "lu\x00na"}, 422),
        ({"extra": 1}, 422),
    ],
)
def test_bad_rules_are_refused(
    agency: Collector, world: World, body: dict[str, Any], status: int
) -> None:
    admin = agency.token("admin")
    reply = make(agency, admin, **body)
    assert reply.status_code == status, reply.text
    assert reply.json()["error"] and reply.json()["message"]
    with world.session() as s:
        assert s.scalars(select(AlertRule)).all() == []  # nothing half written


def test_bad_bodies(agency: Collector) -> None:
    admin = agency.token("admin")
    headers = {**auth(admin), "Content-Type": "application/json"}
    assert (
        agency.http.post("/api/v1/alert-rules", content=b"{nope", headers=headers).status_code
        == 400
    )
    assert (
        agency.http.post("/api/v1/alert-rules", content=b"[" * 100, headers=headers).status_code
        == 400
    )
    big = b'{"name": "' + b"x" * 70000 + b'"}'
    assert agency.http.post("/api/v1/alert-rules", content=big, headers=headers).status_code == 413
    missing = agency.http.post("/api/v1/alert-rules", json={"name": "x"}, headers=auth(admin))
    assert missing.status_code == 422 and {d["field"] for d in missing.json()["details"]} == {
        "kind",
        "threshold",
    }
    assert (
        agency.http.patch("/api/v1/alert-rules/99", json={}, headers=auth(admin)).status_code == 404
    )
    assert (
        agency.http.patch(f"/api/v1/alert-rules/{10**20}", json={}, headers=auth(admin)).status_code
        == 404
    )
    rule = make(agency, admin).json()["id"]
    # A change of kind re-checks the threshold against the new kind's bounds.
    reply = agency.http.patch(
        f"/api/v1/alert-rules/{rule}", json={"kind": "idle", "threshold": 5000}, headers=auth(admin)
    )
    assert reply.status_code == 422


def test_alerts_list_acknowledge_resolve(agency: Collector, world: World) -> None:
    world.shift("alice", "luna", "10:00", "18:00")
    world.shift("bob", "nova", "10:00", "18:00")
    world.rule("no_show", 10)
    world.evaluate(NOW + 10 * MIN)
    manager = agency.token("manager")
    listed = agency.http.get("/api/v1/alerts", headers=auth(manager)).json()["alerts"]
    assert len(listed) == 2 and {a["state"] for a in listed} == {"open"}
    luna = agency.http.get("/api/v1/alerts?creator=luna", headers=auth(manager)).json()["alerts"]
    [alert] = luna
    assert alert["chatter"]["key"] == "alice" and alert["kind"] == "no_show"
    ack = agency.http.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=auth(manager))
    assert ack.status_code == 200 and ack.json()["state"] == "acknowledged"
    assert ack.json()["acknowledged_by"].startswith("token:manager-")
    again = agency.http.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=auth(manager))
    assert again.status_code == 409
    # Acknowledged alerts stay open: the next rounds keep it, send nothing new.
    assert world.evaluate(NOW + 11 * MIN).opened == []
    done = agency.http.post(f"/api/v1/alerts/{alert['id']}/resolve", headers=auth(manager))
    assert done.status_code == 200 and done.json()["state"] == "resolved"
    assert (
        agency.http.post(f"/api/v1/alerts/{alert['id']}/resolve", headers=auth(manager)).status_code
        == 409
    )
    states = agency.http.get("/api/v1/alerts?state=resolved", headers=auth(manager)).json()[
        "alerts"
    ]
    assert [a["id"] for a in states] == [alert["id"]]
    assert ("alert_acknowledge", f"alert:{alert['id']}") in _audit(world)
    assert ("alert_resolve", f"alert:{alert['id']}") in _audit(world)
    for bad in (
        "state=maybe",
        "kind=x",
        "creator=nobody",
        "chatter=nobody",
        "limit=0",
        "limit=501",
        "limit=²",
    ):
        assert agency.http.get(f"/api/v1/alerts?{bad}", headers=auth(manager)).status_code == 400, (
            bad
        )
    for missing in ("999", str(10**25)):
        assert (
            agency.http.post(
                f"/api/v1/alerts/{missing}/acknowledge", headers=auth(manager)
            ).status_code
            == 404
        )
        assert (
            agency.http.get(f"/api/v1/alerts/{missing}", headers=auth(manager)).status_code == 404
        )
    chatter = agency.token("chatter", "alice")
    assert agency.http.get("/api/v1/alerts", headers=auth(chatter)).status_code == 403
    assert (
        agency.http.post(
            f"/api/v1/alerts/{alert['id']}/acknowledge", headers=auth(chatter)
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/alerts?limit={}",
        "/api/v1/alerts?state={}",
        "/api/v1/alerts?kind={}",
        "/api/v1/alerts/deliveries?alert={}",
        "/api/v1/alerts/deliveries?status={}",
        "/api/v1/alerts/deliveries?limit={}",
    ],
)
def test_a_long_bad_parameter_is_not_echoed_whole(agency: Collector, path: str) -> None:
    """From the attack review: limit=<5000 digits> came back whole in the 400."""
    reply = agency.http.get(path.format("9" * 5000), headers=auth(agency.token("admin")))
    assert reply.status_code == 400 and reply.json()["error"] == "bad_parameter", reply.text
    assert "9" * 21 not in reply.text and len(reply.content) < 1000


def test_team_lead_sees_only_their_creators(agency: Collector, world: World) -> None:
    world.shift("alice", "luna", "10:00", "18:00")
    world.shift("bob", "nova", "10:00", "18:00")
    world.rule("no_show", 10)
    world.evaluate(NOW + 10 * MIN)
    agency.app.config["SESSION_COOKIE_SECURE"] = False  # the test client speaks plain HTTP
    add = ("add-user", "lead@agency.test", "--role", "manager", "--creators", "nova")
    agency.cli(*add, input=PASSWORD + "\n")
    assert login(agency.http, "lead@agency.test", PASSWORD).status_code == 302
    seen = agency.http.get("/api/v1/alerts").json()["alerts"]
    assert [a["creator"]["key"] for a in seen] == ["nova"]
    assert agency.http.get("/api/v1/alerts?creator=luna").status_code == 403
    luna_alert = next(a for a in world.alerts() if a.creator_id == world.id_of_creator("luna"))
    assert agency.http.get(f"/api/v1/alerts/{luna_alert.id}").status_code == 404


def test_delivery_log(agency: Collector, world: World, hook: Hook) -> None:
    hook.replies = [(500, "text/plain", b"no")]
    world.shift("alice", "luna", "10:00", "18:00")
    world.rule("no_show", 10, webhook_url=hook.url)
    world.evaluate(NOW + 10 * MIN)
    world.send(now=NOW + 10 * MIN)
    admin = agency.token("admin")
    [row] = agency.http.get("/api/v1/alerts/deliveries", headers=auth(admin)).json()["deliveries"]
    assert (row["channel"], row["status"], row["attempts"]) == ("webhook", "delivered", 2)
    assert [(t["ok"], t["status_code"]) for t in row["log"]] == [(False, 500), (True, 200)]
    assert (
        agency.http.get("/api/v1/alerts/deliveries?status=failed", headers=auth(admin)).json()[
            "deliveries"
        ]
        == []
    )
    for bad in ("status=x", "alert=x", f"alert={10**30}", "limit=-1"):
        assert (
            agency.http.get(f"/api/v1/alerts/deliveries?{bad}", headers=auth(admin)).status_code
            == 400
        )
    manager = agency.token("manager")
    assert agency.http.get("/api/v1/alerts/deliveries", headers=auth(manager)).status_code == 403
