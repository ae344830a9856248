"""Dashboard accounts: creation, password checks, and limits on guessing.

Passwords are hashed with werkzeug's scrypt (salted, memory-hard).  Failed
logins are rows in the database, so the limit holds across collector processes.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from collector.auth.roles import LOGIN_ROLES
from collector.db import text
from collector.db.models import Chatter, LoginFailure, User
from collector.errors import DomainError

MIN_PASSWORD = 10
# Failures within the window after which a login refuses until it passes.  The tight
# limit is per account *from one address*, so a stranger cannot lock a manager out by
# guessing; one address is limited across accounts, and an account across every
# address (a spread-out attack) more loosely.
MAX_FAILURES_PER_EMAIL = 5  # per account, from one address
MAX_FAILURES_PER_ADDRESS = 20
MAX_FAILURES_PER_ACCOUNT = 50  # per account, from all addresses
FAILURE_WINDOW = dt.timedelta(minutes=15)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Checked against when the email is unknown, so both cases cost the same time.
_DUMMY_HASH = generate_password_hash("not a password of anyone")


class LoginRefused(Exception):
    """Wrong email or password (which one is not said), or too many attempts."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session,
    email: str,
    password: str,
    role: str,
    chatter: Chatter | None,
    now: dt.datetime,
) -> User:
    email = text.check(normalise_email(email), "the email", User.email)
    text.check(password, "the password")  # hashed, never stored, but it must encode
    if not _EMAIL.match(email):
        raise DomainError(f"{email!r} is not an email address")
    if role not in LOGIN_ROLES:
        raise DomainError(f"role must be one of {', '.join(LOGIN_ROLES)}")
    if (role == "chatter") != (chatter is not None):
        raise DomainError("a chatter account needs --chatter KEY, and only a chatter account")
    if len(password) < MIN_PASSWORD:
        raise DomainError(f"the password must have at least {MIN_PASSWORD} characters")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise DomainError(f"a user {email} already exists")
    user = User(
        email=email,
        password_hash=generate_password_hash(password),
        role=role,
        chatter_id=chatter.id if chatter else None,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(
    session: Session, email: str, password: str, address: str, now: dt.datetime
) -> User:
    """The active user with this email and password; a failure is recorded."""
    email = normalise_email(email)
    since = now - FAILURE_WINDOW
    address = address[:64]
    recent = select(func.count()).where(LoginFailure.at >= since)
    here = session.scalar(
        recent.where(LoginFailure.email == email, LoginFailure.address == address)
    )
    by_address = session.scalar(recent.where(LoginFailure.address == address))
    by_account = session.scalar(recent.where(LoginFailure.email == email))
    if (
        (here or 0) >= MAX_FAILURES_PER_EMAIL
        or (by_address or 0) >= MAX_FAILURES_PER_ADDRESS
        or (by_account or 0) >= MAX_FAILURES_PER_ACCOUNT
    ):
        raise LoginRefused(
            "too many failed attempts: wait 15 minutes before trying again", locked=True
        )
    user = session.scalar(select(User).where(User.email == email))
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not valid or not user.active:
        session.add(LoginFailure(email=email, address=address, at=now))
        session.execute(delete(LoginFailure).where(LoginFailure.at < now - FAILURE_WINDOW * 4))
        raise LoginRefused("wrong email or password")
    user.last_login_at = now
    return user


def end_sessions(user: User) -> None:
    """Every session of this account ends, here and in every other browser."""
    user.session_epoch += 1
