"""The app's database: one engine per Flask app, one session per app context."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from collector.db.engine import configure_engine


class Database:
    """One engine per app, one session per app context (request or CLI command).

    The pattern of flask-sqlalchemy-lite, synchronous only: that extension's
    async teardown ran an event loop on every request, which cost more than
    the request itself.
    """

    _KEY = "chattertrack.db"

    def init_app(self, app: Flask) -> None:
        options = dict(app.config["DATABASE_ENGINE"])
        engine = create_engine(options.pop("url"), **options)
        configure_engine(engine)
        app.extensions[self._KEY] = sessionmaker(engine)
        app.teardown_appcontext(self._close_session)

    @property
    def _factory(self) -> sessionmaker[Session]:
        factory: sessionmaker[Session] = current_app.extensions[self._KEY]
        return factory

    @property
    def engine(self) -> Engine:
        bind = self._factory.kw["bind"]
        assert isinstance(bind, Engine)
        return bind

    @property
    def session(self) -> Session:
        session: Session | None = g.get("_db_session")
        if session is None:
            session = g._db_session = self._factory()
        return session

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("_db_session", None)
        if session is not None:
            session.close()


db = Database()
