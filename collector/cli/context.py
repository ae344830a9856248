"""The app, a session and small helpers shared by the CLI commands.

A ``DomainError`` raised inside ``session_scope`` rolls back and ends the command with
its message and exit status 1.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from collector import config
from collector.agency import people
from collector.db import audit as db_audit
from collector.db.engine import begin_write
from collector.db.models import Chatter
from collector.devices import enrollment
from collector.errors import DomainError
from collector.http.database import db


class CliState:
    def __init__(self, database: str | None) -> None:
        self.database = database
        self._app: Flask | None = None
        # Only ``serve`` runs the scheduled purge and alerts; other commands end first.
        self.serving = False

    @property
    def app(self) -> Flask:
        if self._app is None:
            from collector import create_app

            try:
                settings = config.from_environment()
            except DomainError as exc:  # a setting in the environment that cannot be right
                raise click.ClickException(exc.message) from None
            if self.database:
                settings["DATABASE_URL"] = config.normalise_database_url(self.database)
            if not self.serving:
                settings["PURGE_INTERVAL_SECONDS"] = 0
                settings["ALERTS_INTERVAL_SECONDS"] = 0
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
        except DomainError as exc:
            session.rollback()
            raise click.ClickException(exc.message) from None
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


def shown_time(moment: dt.datetime | str | None) -> str:
    """A stored moment as every listing prints it: in UTC, saying so
    (``2026-01-05 10:00:00 UTC``); ``never`` when there is none.  ``moment`` may be the
    API's RFC 3339 text (``devices``) or a stored datetime."""
    if moment is None:
        return "never"
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def audit(session: Session, action: str, subject: str, **detail: Any) -> None:
    """The audit entry of a change made from the command line, in its transaction."""
    db_audit.record(session, actor(), action, subject, now(), **detail)


def check_key(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """A click callback: a KEY argument in the agency's key format."""
    try:
        return people.check_key(value)
    except DomainError as exc:
        raise click.BadParameter(exc.message) from None


def get_chatter(session: Session, key: str) -> Chatter:
    try:
        return people.find_chatter(session, key)
    except DomainError:
        raise click.ClickException(
            f"no chatter {key!r} (see 'chatter-collector chatters')"
        ) from None


def parse_duration(text: str) -> dt.timedelta:
    """A click-side duration (90m, 72h, 7d): a bad one is the option's fault (exit 2)."""
    try:
        return enrollment.parse_duration(text)
    except DomainError as exc:
        raise click.BadParameter(exc.message) from None
