"""The app, a session and small helpers shared by the CLI commands."""

from __future__ import annotations

import datetime as dt
import getpass
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from collector import config
from collector.db import begin_write, db
from collector.models import AuditEntry, Chatter, Creator
from shared.events import KEY_PATTERN


class CliState:
    def __init__(self, database: str | None) -> None:
        self.database = database
        self._app: Flask | None = None

    @property
    def app(self) -> Flask:
        if self._app is None:
            from collector import create_app

            settings = config.from_environment()
            if self.database:
                settings["DATABASE_URL"] = config.normalise_database_url(self.database)
            self._app = create_app(settings)
        return self._app

    def close(self) -> None:
        if self._app is not None:
            with self._app.app_context():
                db.engine.dispose()


@contextmanager
def session_scope(write: bool = True) -> Iterator[Session]:
    """A session in the app context; commits on success, rolls back on error."""
    state = click.get_current_context().find_object(CliState)
    assert state is not None
    with state.app.app_context():
        session = db.session
        try:
            if write:
                begin_write(session)
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            raise click.ClickException(
                f"database error: {exc.orig}. Is the database reachable, and did you run "
                "'chatter-collector db upgrade'?"
            ) from None
        except Exception:
            session.rollback()
            raise


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def audit(session: Session, action: str, subject: str, **detail: Any) -> None:
    session.add(
        AuditEntry(at=now(), actor=actor(), action=action, subject=subject, detail=detail or None)
    )


def check_key(value: str) -> str:
    if not re.match(KEY_PATTERN, value):
        raise click.BadParameter(
            f"{value!r}: use 1-63 lowercase letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return value


def get_chatter(session: Session, key: str) -> Chatter:
    chatter = session.scalar(select(Chatter).where(Chatter.key == key))
    if chatter is None:
        raise click.ClickException(f"no chatter {key!r} (see 'chatter-collector chatters')")
    return chatter


def get_creator(session: Session, key: str) -> Creator:
    creator = session.scalar(select(Creator).where(Creator.key == key))
    if creator is None:
        raise click.ClickException(f"no creator {key!r} (see 'chatter-collector creators')")
    return creator


_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> dt.timedelta:
    match = _DURATION.match(text.lower())
    if not match:
        raise click.BadParameter(f"{text!r}: write a duration such as 90m, 72h or 7d")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
