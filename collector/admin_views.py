"""What the admin pages list, and times shown in the agency's time zone.

Read-only helpers for collector/blueprints/admin_ui package; the changes themselves go
through collector/people.py, api_tokens.py, device_admin.py, settings.py and users.py.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from collector import settings
from collector.models import (
    ApiToken,
    Chatter,
    Creator,
    Device,
    Event,
    Setting,
    User,
    chatter_creators,
)


@dataclass(frozen=True)
class Clock:
    """Moments for people: in the agency's zone, with how long ago they were."""

    zone: zoneinfo.ZoneInfo
    now: dt.datetime

    @classmethod
    def of(cls, session: Session, now: dt.datetime) -> Clock:
        name = str(settings.get_value(session, "agency_timezone"))
        return cls(zoneinfo.ZoneInfo(name), now)

    @property
    def zone_name(self) -> str:
        return self.zone.key

    def when(self, moment: dt.datetime | None, never: str = "never") -> str:
        """24 Nov 2026, 14:05 (in the agency zone)."""
        if moment is None:
            return never
        local = moment.astimezone(self.zone)
        return f"{local.day} {local:%b %Y, %H:%M}"

    def iso(self, moment: dt.datetime | None) -> str:
        """For a <time datetime> attribute."""
        return "" if moment is None else moment.astimezone(dt.UTC).isoformat()

    @staticmethod
    def skew(seconds: float) -> str:
        """How far a device's clock was off: +1.5 s ahead, -0.3 s behind (never -0.0)."""
        tenths = round(seconds * 10)
        return "0.0 s" if tenths == 0 else f"{tenths / 10:+.1f} s"

    def ago(self, moment: dt.datetime | None) -> str:
        """just now, 5 min ago, 3 h ago, 2 days ago; 'in 3 h' for the future."""
        if moment is None:
            return ""
        seconds = (self.now - moment).total_seconds()
        future = seconds < 0
        seconds = abs(seconds)
        if seconds < 60:
            return "just now" if not future else "in under a minute"
        if seconds < 3600:
            text = f"{int(seconds // 60)} min"
        elif seconds < 2 * 86400:
            text = f"{round(seconds / 3600)} h"
        else:
            text = f"{round(seconds / 86400)} days"
        return f"in {text}" if future else f"{text} ago"


@dataclass(frozen=True)
class ChatterRow:
    chatter: Chatter
    creators: list[str]
    devices: int
    logins: int


def chatters(session: Session) -> list[ChatterRow]:
    live_devices = dict(
        session.execute(
            select(Device.chatter_id, func.count())
            .where(Device.revoked_at.is_(None))
            .group_by(Device.chatter_id)
        ).all()
    )
    logins = dict(
        session.execute(
            select(User.chatter_id, func.count())
            .where(User.chatter_id.is_not(None), User.active)
            .group_by(User.chatter_id)
        ).all()
    )
    rows = session.scalars(
        select(Chatter)
        .options(selectinload(Chatter.creators))
        .order_by(Chatter.active.desc(), Chatter.key)
    )
    return [
        ChatterRow(
            c,
            sorted(cr.key for cr in c.creators),
            live_devices.get(c.id, 0),
            logins.get(c.id, 0),
        )
        for c in rows
    ]


@dataclass(frozen=True)
class CreatorRow:
    creator: Creator
    chatters: int


def creators(session: Session) -> list[CreatorRow]:
    counts: dict[int, int] = dict(
        session.execute(
            select(chatter_creators.c.creator_id, func.count())
            .join(Chatter, Chatter.id == chatter_creators.c.chatter_id)
            .where(Chatter.active)
            .group_by(chatter_creators.c.creator_id)
        ).all()
    )
    rows = session.scalars(select(Creator).order_by(Creator.active.desc(), Creator.key))
    return [CreatorRow(c, counts.get(c.id, 0)) for c in rows]


def active_creators(session: Session) -> list[Creator]:
    return list(session.scalars(select(Creator).where(Creator.active).order_by(Creator.key)))


def active_chatters(session: Session) -> list[Chatter]:
    return list(session.scalars(select(Chatter).where(Chatter.active).order_by(Chatter.key)))


def users(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .options(selectinload(User.chatter))
            .order_by(User.active.desc(), User.role, User.email)
        )
    )


def api_tokens(session: Session) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .options(selectinload(ApiToken.chatter))
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
        )
    )


@dataclass(frozen=True)
class Override:
    chatter: Chatter
    name: str
    value: str


def chatter_overrides(session: Session) -> list[Override]:
    """Settings a chatter has of their own (scope ``chatter:<id>``)."""
    rows = session.scalars(select(Setting).where(Setting.scope.startswith("chatter:"))).all()
    ids = {int(r.scope.partition(":")[2]) for r in rows}
    people = {c.id: c for c in session.scalars(select(Chatter).where(Chatter.id.in_(ids)))}
    out = [
        Override(people[int(r.scope.partition(":")[2])], r.name, r.value)
        for r in rows
        if int(r.scope.partition(":")[2]) in people
    ]
    return sorted(out, key=lambda o: (o.chatter.key, o.name))


def agency_values(session: Session) -> dict[str, tuple[object, bool]]:
    """Every setting's agency value, and whether it was set (else it is the default)."""
    stored = set(session.scalars(select(Setting.name).where(Setting.scope == settings.GLOBAL)))
    return {name: (value, name in stored) for name, value in settings.effective(session).items()}


def currency_locked(session: Session) -> bool:
    """Amounts are stored: the currency can no longer change (settings.set_value refuses)."""
    found = session.scalar(select(Event.id).where(Event.amount_minor.is_not(None)).limit(1))
    return found is not None
