"""``add-user --creators`` and ``set-creators``: a manager limited to creators, audited,
with a message and a non-zero exit on bad input (both databases)."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.collector.conftest import Collector

PASSWORD = "correct horse battery\n"


def audits(agency: Collector) -> list[tuple[str, str, object]]:
    engine = create_engine(agency.database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT action, subject, detail FROM audit_log ORDER BY id"))
        found = [(a, s, d) for a, s, d in rows]
    engine.dispose()
    return found


def test_limit_a_manager_from_the_command_line(agency: Collector) -> None:
    added = agency.cli(
        "add-user",
        "lead@agency.test",
        "--role",
        "manager",
        "--creators",
        "nova,luna",
        input=PASSWORD,
    )
    assert "lead@agency.test (manager) created creators=luna,nova" in added.output
    assert "lead@agency.test  manager creators=luna,nova" in agency.cli("users").output
    changed = agency.cli("set-creators", "Lead@Agency.test", "nova")
    assert "lead@agency.test: sees creators=nova" in changed.output
    again = agency.cli("set-creators", "lead@agency.test", "nova")
    assert "already sees creators=nova" in again.output
    lifted = agency.cli("set-creators", "lead@agency.test", "--all")
    assert "lead@agency.test: sees every creator" in lifted.output
    assert "lead@agency.test  manager\n" in agency.cli("users").output
    trail = [(a, s) for a, s, _ in audits(agency)]
    assert trail[-3:] == [
        ("add_user", "lead@agency.test"),
        ("set_user_creators", "lead@agency.test"),
        ("set_user_creators", "lead@agency.test"),  # the repeat changed nothing: no entry
    ]

    agency.cli(
        "add-user", "al@agency.test", "--role", "chatter", "--chatter", "alice", input=PASSWORD
    )
    before = audits(agency)
    for args, code, message in [
        (["set-creators", "lead@agency.test", "ghost"], 1, "no creator 'ghost'"),
        (["set-creators", "nobody@agency.test", "luna"], 1, "no login 'nobody@agency.test'"),
        (["set-creators", "al@agency.test", "luna"], 1, "only a manager login"),
        (["set-creators", "lead@agency.test"], 2, "or --all"),
        (["set-creators", "lead@agency.test", "luna", "--all"], 2, "or --all"),
        # A value naming no creator is refused, never read as "every creator".
        (["set-creators", "lead@agency.test", ","], 2, "no creator key"),
        (["set-creators", "lead@agency.test", " , "], 2, "no creator key"),
        (["add-user", "y@agency.test", "--role", "manager", "--creators", ","], 2, "no creator"),
    ]:
        assert message in agency.cli(*args, expect=code).output, args
    refused = agency.cli(
        "add-user",
        "x@agency.test",
        "--role",
        "admin",
        "--creators",
        "luna",
        input=PASSWORD,
        expect=1,
    )
    assert "only a manager login" in refused.output
    assert "x@agency.test" not in agency.cli("users").output
    assert audits(agency) == before
