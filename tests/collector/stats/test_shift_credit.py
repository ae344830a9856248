"""Sales credited by shift (settings ppv_credit, tip_credit; METRICS.md "Money"), both databases.

The worked example of METRICS.md through the API and the command line; a property test
where random shifts and exceptions change after random sales arrived (and the settings
flip), and the stored credits, the stats API and a rebuild all equal the reference
(collector/stats/metrics.py) on the raw rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.orm import Session

from collector.agency import credit
from collector.agency import settings as setting_changes
from collector.db.engine import begin_write
from collector.db.models import Chatter, Creator, Event
from collector.db.schedule_models import Shift, ShiftException
from collector.errors import DomainError
from collector.http.database import db
from collector.shifts import manage
from collector.stats.metrics import (
    ShiftCredit,
    ShiftExceptionRow,
    ShiftRow,
    _credits,
    compute,
)
from collector.stats.periods import period
from tests.collector.conftest import Collector
from tests.collector.ingest.test_events import ev
from tests.collector.maintenance.test_rebuild import _check_rebuild_changes_nothing
from tests.collector.stats import test_property as base
from tests.collector.stats.test_api import at, when

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _rows(agency: Collector, token: str, **params: str) -> dict[str | None, Any]:
    query = {"start": "2026-11-20", "end": "2026-11-20", "tz": "UTC", **params}
    body = agency.http.get("/api/v1/stats/chatters", params=query, headers=_auth(token)).json()
    return {r["key"]: r for r in body["chatters"]}


def _money(rows: dict[str | None, Any], field: str) -> dict[str | None, str]:
    return {k: r[field] for k, r in rows.items() if r[field] != "0.00"}


def _shift(agency: Collector, token: str, **fields: Any) -> int:
    data = {"creator": "luna", "zone": "UTC", "first_day": "2026-11-20", **fields}
    reply = agency.http.post("/api/v1/shifts", json=data, headers=_auth(token))
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


# METRICS.md, "Money", the shift rule's example (all times UTC, on 2026-11-20).
EXAMPLE = [
    when(
        ev(
            "m1",
            "message_sent",
            chatter="bob",
            fan="f1",
            kind="direct",
            ppv={"id": "p1", "price": "10.00"},
        ),
        at(20, 9),
    ),
    when(ev("b1", "ppv_purchase", fan="f1", ppv_id="p1", amount="10.00"), at(20, 11)),
    when(ev("m2", "message_sent", chatter="alice", fan="f2", kind="direct"), at(20, 13)),
    when(ev("t1", "tip", fan="f2", amount="4.00"), at(20, 13, 30)),
    when(ev("t2", "tip", fan="f2", chatter="alice", amount="3.00"), at(20, 15)),
    when(ev("t3", "tip", fan="f3", amount="2.00"), at(20, 14)),
    when(ev("t4", "tip", fan="f3", amount="1.00"), at(20, 19)),
]


def test_the_worked_example(agency: Collector, integration: str) -> None:
    manager = agency.token("manager")
    assert agency.post_events(EXAMPLE, integration).status_code == 200
    # The default rules: the PPV to its sender, tips to the named chatter or converter.
    before = _rows(agency, manager)
    assert _money(before, "ppv_sales") == {"bob": "10.00"}
    assert _money(before, "tips") == {"alice": "7.00", None: "3.00"}

    # Shifts added after the sales: alice 10:00-14:00, bob 13:00-18:00.
    _shift(agency, manager, chatter="alice", start="10:00", end="14:00")
    bobs = _shift(agency, manager, chatter="bob", start="13:00", end="18:00")
    assert _rows(agency, manager) == before  # the settings are still at their defaults

    agency.cli("settings", "set", "ppv_credit", "shift")
    agency.cli("settings", "set", "tip_credit", "shift")
    rows = _rows(agency, manager)
    # b1 at 11:00: alice alone on shift.  t1 at 13:30: two on shift, so the converter
    # (alice).  t2 at 15:00: bob alone (alice's shift ended at 14:00), over the named
    # alice.  t3 at 14:00: bob (an end is not in its shift, a start is).  t4 at 19:00:
    # nobody on shift and no converter: unattributed.
    assert _money(rows, "ppv_sales") == {"alice": "10.00"}
    assert _money(rows, "tips") == {"alice": "4.00", "bob": "5.00", None: "1.00"}

    # bob's day cancelled: t2 back to the named alice, t3 to nobody, t1 to alice alone.
    reply = agency.http.post(
        f"/api/v1/shifts/{bobs}/exceptions",
        json={"day": "2026-11-20", "kind": "cancelled"},
        headers=_auth(manager),
    )
    assert reply.status_code == 201, reply.text
    assert _money(_rows(agency, manager), "tips") == {"alice": "7.00", None: "3.00"}
    # Restored: as before the cancellation.
    reply = agency.http.delete(
        f"/api/v1/shifts/{bobs}/exceptions/2026-11-20", headers=_auth(manager)
    )
    assert reply.status_code == 200, reply.text
    assert _money(_rows(agency, manager), "tips") == {"alice": "4.00", "bob": "5.00", None: "1.00"}

    # A manual reassignment wins over the shift; refunds follow the sale.
    reply = agency.http.post(
        "/api/v1/sales/t2/reassign",
        json={"chatter": "alice", "reason": "x"},
        headers=_auth(manager),
    )
    assert reply.status_code == 200, reply.text
    assert _money(_rows(agency, manager), "tips") == {"alice": "7.00", "bob": "2.00", None: "1.00"}
    refund = when(ev("r1", "refund", refers_to="b1", amount="10.00"), at(21, 9))
    assert agency.post_events([refund], integration).status_code == 200
    next_day = _rows(agency, manager, start="2026-11-21", end="2026-11-21")
    assert _money(next_day, "ppv_sales") == {"alice": "-10.00"}

    # bob's shift removed: t3 (14:00, when alice's shift has ended) to nobody again.
    reply = agency.http.delete(f"/api/v1/shifts/{bobs}", headers=_auth(manager))
    assert reply.status_code == 200, reply.text
    assert _money(_rows(agency, manager), "tips") == {"alice": "7.00", None: "3.00"}

    # Back to the defaults: the PPV and its refund return to the sender.
    agency.cli("settings", "unset", "ppv_credit")
    assert _money(_rows(agency, manager), "ppv_sales") == {"bob": "10.00"}
    assert _money(_rows(agency, manager, start="2026-11-21", end="2026-11-21"), "ppv_sales") == {
        "bob": "-10.00"
    }
    _check_rebuild_changes_nothing(agency.database_url)


def test_bad_values_are_refused(agency: Collector) -> None:
    result = agency.cli("settings", "set", "tip_credit", "shifts", expect=1)
    assert "tip_credit: 'shifts' is not one of: converter, shift" in result.output
    result = agency.cli("settings", "set", "ppv_credit", "converter", expect=1)
    assert "is not one of: sender, shift" in result.output
    result = agency.cli("settings", "set", "ppv_credit", "shift", "--chatter", "alice", expect=1)
    assert "agency-wide" in result.output


def test_values_are_read_leniently_and_checked(agency: Collector) -> None:
    with agency.app.app_context():
        session = db.session
        for raw, want in (("SHIFT", "shift"), (" sender ", "sender")):
            assert setting_changes.set_value(session, "ppv_credit", raw) == want
        with pytest.raises(DomainError, match="not one of"):
            setting_changes.set_value(session, "ppv_credit", "nobody")
        session.rollback()


# The property test ------------------------------------------------------------------------

DAY0 = dt.date(2026, 10, 23)
ZONES = ("UTC", "Europe/Berlin", "Asia/Kathmandu")


@dataclass(frozen=True)
class Drawn:
    events: list[dict[str, Any]]
    batches: list[list[dict[str, Any]]]
    ppv_shift: bool
    tip_shift: bool
    # Each op runs after the batch of that index (-1: before any sale).
    ops: list[tuple[int, tuple[Any, ...]]]
    reassigned: list[tuple[str, str | None]]


@st.composite
def shift_op(draw: st.DrawFn) -> tuple[Any, ...]:
    kind = draw(
        st.sampled_from(["add"] * 6 + ["cancel", "swap", "swap", "restore", "edit", "remove"])
    )
    if kind == "add":
        chatter = draw(st.sampled_from(["alice", "bob"]))
        creator = "luna" if chatter == "alice" else draw(st.sampled_from(["luna", "nova"]))
        first = DAY0 + dt.timedelta(days=draw(st.integers(0, 3)))
        last = draw(st.one_of(st.none(), st.integers(0, 3)))
        return (
            "add",
            {
                "chatter": chatter,
                "creator": creator,
                "zone": draw(st.sampled_from(ZONES)),
                "weekdays": draw(st.sampled_from([None, "daily", "daily", "mon,sat,sun"])),
                "start": f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 30])):02d}",
                "end": f"{draw(st.integers(0, 23)):02d}:00",
                "first_day": first.isoformat(),
                "last_day": None if last is None else (first + dt.timedelta(days=last)).isoformat(),
            },
        )
    return (kind, draw(st.integers(0, 5)), draw(st.integers(0, 4)), draw(st.integers(0, 23)))


@st.composite
def drawn(draw: st.DrawFn) -> Drawn:
    evs = draw(base.events())
    batches = base._batches(draw, evs)
    ops = draw(
        st.lists(st.tuples(st.integers(-1, len(batches) - 1), shift_op()), min_size=2, max_size=8)
    )
    ops.sort(key=lambda o: o[0])
    sales = [e["id"] for e in evs if e["type"] in ("ppv_purchase", "tip")]
    reassigned = []
    if sales:
        reassigned = draw(
            st.lists(
                st.tuples(st.sampled_from(sales), st.sampled_from(["alice", "bob", None])),
                max_size=2,
            )
        )
    on = st.sampled_from([True, True, False])
    return Drawn(evs, batches, draw(on), draw(on), ops, reassigned)


@pytest.fixture
def session(agency: Collector) -> Iterator[Session]:
    with agency.app.app_context():
        yield db.session


def _apply(session: Session, op: tuple[Any, ...]) -> None:
    """One shift change through collector/agency/credit.py; refused ones change nothing."""
    session.rollback()
    begin_write(session)
    shifts = session.scalars(select(Shift).order_by(Shift.id)).all()
    try:
        if op[0] == "add":
            fields = manage.shift_fields(session, op[1], default_zone="UTC")
            credit.add_shift(session, fields, "test", NOW)
        elif op[0] == "flip_ppv":
            setting_changes.set_value(session, "ppv_credit", op[1])
        elif op[0] == "flip_tip":
            setting_changes.set_value(session, "tip_credit", op[1])
        elif shifts:
            kind, index, day, hour = op
            shift = shifts[index % len(shifts)]
            on = shift.first_day + dt.timedelta(days=day)
            if kind in ("cancel", "swap"):
                data: dict[str, Any] = {"day": on.isoformat(), "kind": "cancelled"}
                if kind == "swap":
                    other = (
                        "alice"
                        if session.get_one(Chatter, shift.chatter_id).key == "bob"
                        else "bob"
                    )
                    data = {"day": on.isoformat(), "kind": "swapped", "chatter": other}
                credit.add_exception(session, shift, data, "test", NOW)
            elif kind == "restore":
                credit.remove_exception(session, shift, on, "test", NOW)
            elif kind == "edit":
                fields = manage.shift_fields(
                    session, {"start": f"{hour:02d}:15"}, default_zone="UTC", base=shift
                )
                credit.edit_shift(session, shift, fields, "test", NOW)
            else:
                credit.remove_shift(session, shift, "test", NOW)
        session.commit()
    except DomainError:
        session.rollback()


def _reference(session: Session, d: Drawn) -> ShiftCredit:
    keys = {c.id: c.key for c in session.scalars(select(Chatter))}
    creators = {c.id: c.key for c in session.scalars(select(Creator))}
    values = {
        name: setting_changes.get_value(session, name) for name in ("ppv_credit", "tip_credit")
    }
    return ShiftCredit(
        ppv=values["ppv_credit"] == "shift",
        tip=values["tip_credit"] == "shift",
        shifts=tuple(
            ShiftRow(
                s.id,
                creators[s.creator_id],
                keys[s.chatter_id],
                s.zone,
                s.weekdays,
                s.start_minute,
                s.end_minute,
                s.first_day,
                s.last_day,
            )
            for s in session.scalars(select(Shift))
        ),
        exceptions=tuple(
            ShiftExceptionRow(
                x.shift_id,
                x.day,
                x.kind,
                None if x.replacement_chatter_id is None else keys[x.replacement_chatter_id],
            )
            for x in session.scalars(select(ShiftException))
        ),
    )


def _check(agency: Collector, session: Session, token: str, d: Drawn) -> None:
    session.rollback()
    shift_credit = _reference(session, d)
    refs = base.reference_events(d.events, d.reassigned)
    ordered = sorted(refs, key=lambda e: (e.occurred_at, e.event_id))
    want = _credits(ordered, shift_credit)
    keys = {c.id: c.key for c in session.scalars(select(Chatter))}
    stored = {
        event_id: (None if chatter is None else keys[chatter])
        for event_id, chatter in session.execute(
            select(Event.event_id, Event.credit_chatter_id).where(
                Event.type.in_(("ppv_purchase", "tip"))
            )
        )
    }
    assert stored == {k: v[0] for k, v in want.items()}
    session.rollback()
    # The rollups behind the stats API, per chatter, for every local day of the sales.
    window = period(dt.date(2026, 10, 23), dt.date(2026, 10, 28), "Europe/Berlin")
    params = {"start": "2026-10-23", "end": "2026-10-28", "tz": "Europe/Berlin", "compare": "false"}
    body = agency.http.get("/api/v1/stats/chatters", params=params, headers=_auth(token)).json()
    got = {r["key"]: r for r in body["chatters"]}
    expected = compute(refs, [], window, shift_credit=shift_credit)
    for key in set(got) | set(expected):
        m = expected.get(key)
        row = got.get(key)
        money = (
            (base._money_signed(m.ppv_sales), base._money_signed(m.tips), base._money(m.refunds))
            if m is not None
            else ("0.00", "0.00", "0.00")
        )
        shown = (row["ppv_sales"], row["tips"], row["refunds"]) if row else ("0.00",) * 3
        assert shown == money, key


def _reset(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in (*base.TABLES, "shift_exceptions", "shifts"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("DELETE FROM settings WHERE name IN ('ppv_credit', 'tip_credit')"))
    engine.dispose()


@pytest.mark.parametrize("examples", [60])
def test_credits_follow_shift_changes(
    agency: Collector, integration: str, session: Session, examples: int, database_url: str
) -> None:
    token = agency.token("manager")
    count = examples if database_url.startswith("sqlite") else examples // 2

    @settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(drawn())
    def check(d: Drawn) -> None:
        session.rollback()
        _reset(agency.database_url)
        for name, on, value in (("ppv", d.ppv_shift, "shift"), ("tip", d.tip_shift, "shift")):
            if on:
                _apply(session, (f"flip_{name}", value))
        pending = list(d.ops)
        reassigned = list(d.reassigned)
        arrived: set[str] = set()
        while pending and pending[0][0] < 0:
            _apply(session, pending.pop(0)[1])
        for index, batch in enumerate(d.batches):
            reply = agency.post_events(batch, integration)
            assert reply.status_code == 200, reply.text
            arrived |= {e["id"] for e in batch}
            while reassigned and reassigned[0][0] in arrived:
                base._reassign(agency, token, *reassigned.pop(0))
            while pending and pending[0][0] <= index:
                _apply(session, pending.pop(0)[1])
        for sale, chatter in reassigned:
            base._reassign(agency, token, sale, chatter)
        _check(agency, session, token, d)
        # A setting flipped after everything: the credits follow it too.
        _apply(session, ("flip_tip", "converter" if d.tip_shift else "shift"))
        _check(agency, session, token, d)
        session.rollback()
        _check_rebuild_changes_nothing(agency.database_url)

    check()


def _tips(prefix: str, day: int) -> list[dict[str, Any]]:
    return [
        when(
            ev(f"{prefix}m", "message_sent", chatter="alice", fan=f"{prefix}f", kind="direct"),
            at(day, 9),
        ),
        when(ev(f"{prefix}t1", "tip", fan=f"{prefix}f", amount="1.00"), at(day, 10)),
        when(
            ev(f"{prefix}t2", "tip", fan=f"{prefix}g", amount="2.00", creator="nova"), at(day, 11)
        ),
    ]


def test_ingest_reads_shifts_only_when_a_setting_asks(agency: Collector, integration: str) -> None:
    """Issue 17: at the defaults an ingest reads nothing more; with ``shift`` on, the
    shifts of the batch's creators once (two statements: the shifts, their exceptions)."""
    manager = agency.token("manager")
    _shift(agency, manager, chatter="bob", start="10:00", end="12:00", first_day="2026-11-10")
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with agency.app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert agency.post_events(_tips("a", 10), integration).status_code == 200
        at_defaults = list(statements)
        agency.cli("settings", "set", "tip_credit", "shift")
        statements.clear()
        assert agency.post_events(_tips("b", 12), integration).status_code == 200
        by_shift = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    def on_shifts(found: list[str]) -> list[str]:
        return [s for s in found if re.search(r"\bFROM shift", s)]

    assert on_shifts(at_defaults) == []
    assert len(on_shifts(by_shift)) == 2
    # The settings table is read as often as before the rules existed: the rules ride on
    # the purge watermarks' read (the currency, the watermarks in the checks and under
    # the lock, and for the sales and fan rollups: 5).
    settings_reads = [len([s for s in f if "FROM settings" in s]) for f in (at_defaults, by_shift)]
    assert settings_reads == [5, 5]
    # On the 12th bob held luna's tip at 10:00 (nova's at 11:00 is not in a shift of
    # nova's); on the 10th the setting was off: alice converted hers.
    rows = _rows(agency, manager, start="2026-11-10", end="2026-11-12")
    assert _money(rows, "tips") == {"alice": "1.00", "bob": "1.00", None: "4.00"}


def test_roster_import_and_edits_recredit(agency: Collector, integration: str) -> None:
    """The roster import and an edit through the API move sales already stored."""
    manager = agency.token("manager")
    agency.cli("settings", "set", "ppv_credit", "shift")
    assert agency.post_events(EXAMPLE, integration).status_code == 200
    assert _money(_rows(agency, manager), "ppv_sales") == {"bob": "10.00"}  # no shift yet
    roster = "chatter,creator,day,start,end,zone\nalice,luna,2026-11-20,11:00,12:00,UTC\n"
    reply = agency.http.post(
        "/api/v1/shifts/import",
        content=roster,
        headers={**_auth(manager), "Content-Type": "text/csv"},
    )
    assert reply.status_code == 201, reply.text
    assert _money(_rows(agency, manager), "ppv_sales") == {"alice": "10.00"}  # 11:00 is in
    shift_id = agency.http.get("/api/v1/shifts", headers=_auth(manager)).json()["shifts"][0]["id"]
    reply = agency.http.patch(
        f"/api/v1/shifts/{shift_id}", json={"start": "11:01"}, headers=_auth(manager)
    )
    assert reply.status_code == 200, reply.text
    assert _money(_rows(agency, manager), "ppv_sales") == {"bob": "10.00"}  # 11:00 is out
    reply = agency.http.patch(
        f"/api/v1/shifts/{shift_id}",
        json={"chatter": "bob", "start": "10:00"},
        headers=_auth(manager),
    )
    assert reply.status_code == 200, reply.text
    # Swapped to alice for that day: hers again.
    reply = agency.http.post(
        f"/api/v1/shifts/{shift_id}/exceptions",
        json={"day": "2026-11-20", "kind": "swapped", "chatter": "alice"},
        headers=_auth(manager),
    )
    assert reply.status_code == 201, reply.text
    assert _money(_rows(agency, manager), "ppv_sales") == {"alice": "10.00"}
    _check_rebuild_changes_nothing(agency.database_url)


@pytest.mark.parametrize(("before", "after"), [("converter", "shift"), ("shift", "converter")])
def test_a_rule_change_racing_a_shift_change_leaves_what_a_rebuild_gives(
    agency: Collector, integration: str, before: str, after: str
) -> None:
    """tip_credit flips while another request adds the shift that covers a tip: whichever
    commits first, the other sees it (found by the attacker on PostgreSQL, where each read
    the other's data before taking the lock)."""
    import threading
    import time

    from collector.db.engine import configure_engine

    agency.cli("settings", "set", "tip_credit", before)
    tip = when(ev("t1", "tip", fan="f9", amount="5.00"), "2026-11-20T11:00:00Z")
    assert agency.post_events([tip], integration).status_code == 200
    engine = create_engine(agency.database_url)
    configure_engine(engine)
    flip, other = Session(engine), Session(engine)
    failures: list[BaseException] = []

    def add_shift() -> None:
        try:
            begin_write(other)  # as every writing request does (SQLite: waits its turn)
            data = {"chatter": "alice", "creator": "luna", "zone": "UTC", "start": "10:00",
                    "end": "12:00", "first_day": "2026-11-20"}  # fmt: skip
            credit.add_shift(
                other, manage.shift_fields(other, data, default_zone="UTC"), "test", NOW
            )
            other.commit()
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    try:
        begin_write(flip)
        setting_changes.set_value(flip, "tip_credit", after)  # holds the lock until commit
        racer = threading.Thread(target=add_shift)
        racer.start()
        time.sleep(1.0)  # the shift change is waiting for the flip now
        flip.commit()
        racer.join(60)
        assert not racer.is_alive() and failures == []
    finally:
        flip.close()
        other.close()
        engine.dispose()
    _check_rebuild_changes_nothing(agency.database_url)
    reader = create_engine(agency.database_url)
    with Session(reader) as session:
        credited = session.scalar(select(Event.credit_chatter_id).where(Event.event_id == "t1"))
        alice = session.scalar(select(Chatter.id).where(Chatter.key == "alice"))
    reader.dispose()
    assert credited == (alice if after == "shift" else None)
