"""What the admin pages list: people, logins, tokens, settings.

Read-only; the changes themselves go through agency.people, agency.settings,
auth.tokens, auth.accounts and the devices package.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from collector.db import settings
from collector.db.models import ApiToken, Chatter, Creator, Device, Setting, User, chatter_creators


@dataclass(frozen=True)
class ChatterRow:
    chatter: Chatter
    creators: list[str]
    devices: int  # not revoked: what deactivating revokes
    logins: int
    installed: int = 0  # not revoked and not uninstalled: the People page's count


def chatters(session: Session) -> list[ChatterRow]:
    live_devices: dict[int, int] = {}
    installed: dict[int, int] = {}
    for chatter_id, retired, count in session.execute(
        select(Device.chatter_id, Device.retired_at.is_not(None), func.count())
        .where(Device.revoked_at.is_(None))
        .group_by(Device.chatter_id, Device.retired_at.is_not(None))
    ):
        live_devices[chatter_id] = live_devices.get(chatter_id, 0) + count
        if not retired:
            installed[chatter_id] = count
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
            installed.get(c.id, 0),
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


def all_creators(session: Session) -> list[Creator]:
    """Every creator, by name: what a manager login can be limited to."""
    return list(session.scalars(select(Creator).order_by(Creator.name)))


def active_chatters(session: Session) -> list[Chatter]:
    return list(session.scalars(select(Chatter).where(Chatter.active).order_by(Chatter.key)))


def users(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .options(selectinload(User.chatter), selectinload(User.creators))
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
