"""The admin CLI: clear messages and non-zero exits on bad input (both databases)."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import create_engine, select

from collector.db.models import ApiToken
from tests.collector.conftest import Collector


def test_people(collector: Collector) -> None:
    collector.cli("add-creator", "luna", "--name", "Luna")
    dup = collector.cli("add-creator", "luna", "--name", "Luna", expect=1)
    assert "already exists" in dup.output
    bad = collector.cli("add-creator", "Luna Rivers", "--name", "x", expect=2)
    assert "lowercase" in bad.output
    no_creator = collector.cli("add-chatter", "al", "--name", "Al", "--creator", "ghost", expect=1)
    assert "no creator 'ghost'" in no_creator.output
    spoofed = collector.cli(
        "add-chatter", "al", "--name", "Al\u202eexe", "--creator", "luna", expect=1
    )
    assert "control characters (U+202E)" in spoofed.output
    collector.cli("add-chatter", "al", "--name", "Al", "--creator", "luna")
    assert "al\tAl\tluna" in collector.cli("chatters").output
    assert "luna\tLuna" in collector.cli("creators").output


def test_settings(agency: Collector) -> None:
    assert "idle_threshold_seconds = 180" in agency.cli("settings", "list").output
    bad = agency.cli("settings", "set", "slice_seconds", "7", expect=1)
    assert "does not divide 60" in bad.output
    unknown = agency.cli("settings", "set", "colour", "red", expect=1)
    assert "unknown setting 'colour'" in unknown.output
    not_number = agency.cli("settings", "set", "idle_threshold_seconds", "soon", expect=1)
    assert "not a whole number" in not_number.output
    # Found by review: int() read another script's digits ("٣", Arabic-Indic three) as 3.
    for odd in ("٣", "３", "²", "3.0", "1e3"):
        refused = agency.cli("settings", "set", "late_grace_minutes", odd, expect=1)
        assert f"{odd!r} is not a whole number (digits 0-9)" in refused.output, odd
    assert "late_grace_minutes = 5" in agency.cli("settings", "list").output
    agency.cli("settings", "set", "late_grace_minutes", "3")
    assert "late_grace_minutes = 3" in agency.cli("settings", "list").output
    agency.cli("settings", "set", "slice_seconds", "30", "--chatter", "bob")
    assert "slice_seconds = 30" in agency.cli("settings", "list", "--chatter", "bob").output
    assert "slice_seconds = 60" in agency.cli("settings", "list").output
    per_chatter = agency.cli("settings", "set", "currency", "EUR", "--chatter", "bob", expect=1)
    assert "agency-wide" in per_chatter.output
    zone = agency.cli("settings", "set", "agency_timezone", "Mars/Olympus", expect=1)
    assert "IANA" in zone.output


def test_api_tokens(agency: Collector) -> None:
    missing = agency.cli("api-token", "me", "--role", "chatter", expect=2)
    assert "needs --chatter" in missing.output
    wrong = agency.cli("api-token", "x", "--role", "manager", "--chatter", "alice", expect=2)
    assert "only goes with --role chatter" in wrong.output
    role = agency.cli("api-token", "x", "--role", "god", expect=2)
    assert "god" in role.output
    token = agency.token("chatter", "alice")
    assert token.startswith("ctk_")
    assert token not in agency.cli("api-tokens").output


def test_api_tokens_show_their_last_use(agency: Collector) -> None:
    token = agency.token("manager")
    line = agency.cli("api-tokens").output.splitlines()[-1]
    token_id, name, *_ = line.split("\t")
    assert line == f"{token_id}\t{name}\tmanager\tactive\tlast used: never"
    reply = agency.http.get("/api/v1/chatters", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200
    engine = create_engine(agency.database_url)
    with engine.connect() as conn:
        used = conn.scalar(select(ApiToken.last_used_at).where(ApiToken.id == int(token_id)))
    engine.dispose()
    assert isinstance(used, dt.datetime)
    line = agency.cli("api-tokens").output.splitlines()[-1]
    shown = re.fullmatch(rf"{token_id}\t{name}\tmanager\tactive\tlast used: (.+) UTC", line)
    assert shown, line
    # The stored moment to the second, in UTC, as the devices listing writes its times.
    utc = used.replace(tzinfo=dt.UTC) if used.tzinfo is None else used.astimezone(dt.UTC)
    assert shown[1] == f"{utc:%Y-%m-%d %H:%M:%S}"


def test_devices_listing_and_revoke(agency: Collector) -> None:
    assert "no devices yet" in agency.cli("devices").output
    agent = agency.enroll("alice")
    table = agency.cli("devices").output
    assert agent.device_id in table and "active" in table
    short = agency.cli("revoke-device", "abc", expect=1)
    assert "at least 8 characters" in short.output
    agency.cli("revoke-device", agent.device_id)
    assert "revoked" in agency.cli("devices").output


def test_unreachable_database(tmp_path: object) -> None:
    from click.testing import CliRunner

    from collector.cli import main

    result = CliRunner().invoke(
        main,
        ["--database", "postgresql://nobody@127.0.0.1:1/none", "creators"],
    )
    assert result.exit_code == 1
    assert "database error" in result.output
