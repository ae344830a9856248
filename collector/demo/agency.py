"""A small, believable demo agency for ``make run``: people, devices, slices, events."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from collector.attendance import store as attendance
from collector.auth import accounts, credentials
from collector.db.models import ApiToken, Chatter, Creator, Device, DeviceKey, Event, Slice
from collector.demo.conversations import seed_conversations
from collector.demo.payroll import seed_payroll
from collector.demo.shifts import seed_shifts
from collector.shifts.queries import load_occurrences
from collector.stats.rebuild import rebuild_all

# Fixed demo tokens so the README can name them; they exist only in demo databases.
MANAGER_TOKEN = "ctk_demo_manager"
INTEGRATION_TOKEN = "ctk_demo_integration"
# Fixed demo logins for the dashboard, same reason: (email, password, role, chatter).
DEMO_USERS = [
    ("admin@demo.test", "demo-admin-password", "admin", None),
    ("manager@demo.test", "demo-manager-password", "manager", None),
    ("lead@demo.test", "demo-lead-password", "manager", None),
    ("alex@demo.test", "demo-chatter-password", "chatter", "alex"),
]
# The team lead: a manager login limited to these creators.
LEAD_CREATORS = {"lead@demo.test": ["nova"]}

CREATORS = [("luna", "Luna Rivers"), ("nova", "Nova Sky"), ("mira", "Mira Gold")]
CHATTERS = [
    ("alex", "Alex Moreau", ["luna"]),
    ("bea", "Bea Santos", ["luna", "nova"]),
    ("chen", "Chen Wei", ["nova"]),
    ("dana", "Dana Novak", ["mira"]),
    ("eli", "Eli Okafor", ["mira", "luna"]),
    ("fran", "Fran Costa", ["nova"]),
]
DAYS = 7


def seed(session: Session, now: dt.datetime | None = None) -> bool:
    """Create the demo agency unless it exists; True when it was created."""
    if session.scalar(select(Creator).where(Creator.key == CREATORS[0][0])) is not None:
        return False
    now = now or dt.datetime.now(dt.UTC)
    rng = random.Random(20261124)
    creators = {key: Creator(key=key, name=name, created_at=now) for key, name in CREATORS}
    session.add_all(creators.values())
    chatters = []
    for key, name, assigned in CHATTERS:
        chatter = Chatter(key=key, name=name, created_at=now)
        chatter.creators = [creators[c] for c in assigned]
        chatters.append(chatter)
    session.add_all(chatters)
    for token, name, role in (
        (MANAGER_TOKEN, "demo manager", "manager"),
        (INTEGRATION_TOKEN, "demo integration", "integration"),
    ):
        session.add(
            ApiToken(name=name, role=role, token_hash=credentials.token_hash(token), created_at=now)
        )
    session.flush()
    for email, password, role, chatter_key in DEMO_USERS:
        person = next((c for c in chatters if c.key == chatter_key), None)
        user = accounts.create_user(session, email, password, role, person, now)
        user.creators = [creators[c] for c in LEAD_CREATORS.get(email, [])]

    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    # The roster first: the demo chatters work (mostly) their shifts, so Attendance shows
    # a few late starts, early leaves and one or two no-shows rather than noise.
    # The weekly roster (from the first day of activity), coverage rules, a cancelled and a
    # swapped day.
    seed_shifts(session, now, today - dt.timedelta(days=DAYS))
    worked: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for o in load_occurrences(session, today - dt.timedelta(days=DAYS + 1), now):
        worked.setdefault(o.chatter_id, []).append((o.starts_at, o.ends_at))
    slices: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for chatter in chatters:
        device = Device(
            uid=str(uuid.UUID(int=rng.getrandbits(128))),
            chatter_id=chatter.id,
            hostname=f"{chatter.key}-laptop",
            platform=rng.choice(["Windows-11", "macOS-15", "Linux-6.8"]),
            agent_version="0.1.0",
            enrolled_at=today - dt.timedelta(days=DAYS),
            last_seen_at=now,
            # What an agent reports with each batch: an empty outbox, all delivered.
            queue_health={"queued": 0, "parked": 0, "dropped": 0, "oldest": None},
            clock_skew_seconds=0.0,
        )
        session.add(device)
        session.flush()
        session.add(
            DeviceKey(
                key_id=credentials.new_key_id(),
                device_id=device.id,
                secret=credentials.new_device_secret(),
                created_at=device.enrolled_at,
            )
        )
        seq, shifts = _demo_slices(rng, device, today, now, slices, worked.get(chatter.id, []))
        device.seq_max = device.slices_received = seq
        _demo_events(rng, chatter, shifts, now, events, {k: c.id for k, c in creators.items()})

    session.execute(insert(Slice), slices)
    session.execute(insert(Event), events)
    rebuild_all(session.connection())
    attendance.rebuild(session.connection())
    seed_conversations(session, now)  # the website chat: widget, requests, orders, ratings
    seed_payroll(session, now)  # weekly pay rules, last week approved, an adjustment
    return True


def _demo_slices(
    rng: random.Random,
    device: Device,
    today: dt.datetime,
    now: dt.datetime,
    out: list[dict[str, Any]],
    scheduled: list[tuple[dt.datetime, dt.datetime]],
) -> tuple[int, list[tuple[dt.datetime, int]]]:
    """The device's slices; returns its last seq and each stretch worked (start, minutes),
    so that the chatter's messages and sales fall inside the time they were online.

    A chatter with shifts works them: on time mostly, some minutes late or early away now
    and then, a little overtime, rarely not at all.  One without works random hours."""
    seq = 0
    shifts: list[tuple[dt.datetime, int]] = []
    if scheduled:
        for starts_at, ends_at in sorted(scheduled):
            # The roster starts with the activity (demo/shifts.py): every shift loaded is
            # in it, worked or (rarely) a no-show.
            if rng.random() < 0.06:  # a no-show
                continue
            start = starts_at + dt.timedelta(minutes=rng.choice([0, 0, 0, 0, 1, 3, 8, 20]))
            end = ends_at + dt.timedelta(minutes=rng.choice([-40, -10, 0, 0, 0, 0, 5, 25]))
            shifts.append((start, int((end - start).total_seconds()) // 60))
    else:
        for day in range(DAYS, -1, -1):
            shift_start = today - dt.timedelta(days=day, hours=-rng.choice([8, 9, 14, 16]))
            shifts.append((shift_start, rng.randint(240, 420)))
    taken: set[dt.datetime] = set()  # overtime may run into the next shift: one slice a minute
    for shift_start, length in shifts:
        for minute in range(length):
            start = shift_start + dt.timedelta(minutes=minute)
            if start + dt.timedelta(minutes=1) > now:
                break
            if start in taken:
                continue
            taken.add(start)
            seq += 1
            active = rng.choice([60, 60, 60, 55, 40, 0])
            out.append(
                {
                    "device_id": device.id,
                    "chatter_id": device.chatter_id,
                    "start": start,
                    "duration": 60,
                    "active_seconds": active,
                    "input_seconds": active * rng.randint(3, 9) // 10,
                    "paused_seconds": 0,
                    "keystrokes": active * rng.randint(1, 4) if active else 0,
                    "mouse_events": active * rng.randint(0, 3),
                    "seq": seq,
                    "batch_id": f"demo-{device.id}",
                    "received_at": now,
                }
            )
    return seq, shifts


def _demo_events(
    rng: random.Random,
    chatter: Chatter,
    shifts: list[tuple[dt.datetime, int]],
    now: dt.datetime,
    out: list[dict[str, Any]],
    creator_ids: dict[str, int],
) -> None:
    def add(event_type: str, at: dt.datetime, creator: str, **cols: Any) -> str | None:
        if at > now:  # nothing has happened yet after now: a refund of a later sale, a reply
            return None
        event_id = f"demo-{len(out)}"
        row = {
            "event_id": event_id,
            "type": event_type,
            "occurred_at": at,
            "creator_id": creator_ids[creator],
            "chatter_id": cols.pop("chatter_id", None),
            "contact": cols.pop("contact", None),
            "kind": cols.pop("kind", None),
            "ref": cols.pop("ref", None),
            "amount_minor": cols.pop("amount_minor", None),
            "attrs": None,
            "source": "demo",
            "content_hash": hashlib.sha256(event_id.encode()).hexdigest(),
            "received_at": now,
        }
        out.append(row)
        return event_id

    assigned = [c.key for c in chatter.creators]
    for base, length in shifts:
        for _ in range(rng.randint(20, 45)):
            creator = rng.choice(assigned)
            fan = f"fan-{rng.randint(1, 400)}"
            # A fan writes during the shift, early enough for the reply to come inside it.
            at = base + dt.timedelta(minutes=rng.randint(0, length - 20))
            if at > now:
                continue
            add("fan_message", at, creator, contact=fan)
            reply = at + dt.timedelta(seconds=rng.randint(20, 900))
            ppv = None
            price = rng.choice([999, 1499, 1999, 2999])
            if rng.random() < 0.3:
                ppv = f"ppv-{chatter.key}-{len(out)}"
            add(
                "message_sent",
                reply,
                creator,
                chatter_id=chatter.id,
                contact=fan,
                kind="direct",
                ref=ppv,
                amount_minor=price if ppv else None,
            )
            if ppv and rng.random() < 0.45:
                bought = reply + dt.timedelta(minutes=rng.randint(1, 120))
                purchase = add(
                    "ppv_purchase", bought, creator, contact=fan, ref=ppv, amount_minor=price
                )
                if purchase is not None and rng.random() < 0.03:
                    add(
                        "refund",
                        bought + dt.timedelta(hours=2),
                        creator,
                        ref=purchase,
                        amount_minor=price,
                    )
            if rng.random() < 0.1:
                add(
                    "tip",
                    reply + dt.timedelta(minutes=5),
                    creator,
                    contact=fan,
                    chatter_id=chatter.id if rng.random() < 0.5 else None,
                    amount_minor=rng.choice([500, 1000, 2000, 5000]),
                )
        if rng.random() < 0.5:
            add(
                "message_sent",
                base,
                rng.choice(assigned),
                chatter_id=chatter.id,
                contact="all-fans",
                kind="mass",
            )
