"""Dashboard accounts: creation, password checks, and limits on guessing.

Passwords are hashed with werkzeug's scrypt (salted, memory-hard).  Login attempts are
rows in the database, so the limits hold across collector processes.

A login is two steps.  ``begin_attempt`` counts the recent failures and stores this
attempt as a failure, in one write transaction that holds the account's lock (and, for
an untrusted client, the address's), so attempts running at once count each other:
at most the limit of them get as far as the password.  ``finish_attempt`` removes that
row again if the password was right.  The slow hash runs between the two, outside any
transaction, so a guesser does not hold the database's write lock.

Two kinds of client are limited apart (OWASP's device-cookie scheme):

- a *trusted* client presents a valid device cookie for the account
  (``collector.auth.device_cookies``): it is limited by its own failures only;
- every other client is *untrusted*: limited per account from one address, per address,
  and per account from every address.

So no number of guesses from elsewhere (any address, any other browser) locks out a
browser that has logged in to the account before.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
import zlib
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from collector.auth.roles import LOGIN_ROLES
from collector.db import locks, text
from collector.db.models import Chatter, LoginFailure, User
from collector.errors import DomainError

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # a passphrase fits; a megabyte pasted by mistake does not
# Failures within the window after which a login refuses until it passes.
MAX_FAILURES_PER_DEVICE = 5  # a trusted browser (device cookie), for its account
MAX_FAILURES_PER_EMAIL = 5  # untrusted: per account, from one address
MAX_FAILURES_PER_ADDRESS = 20  # untrusted: from one address, over every account
MAX_FAILURES_PER_ACCOUNT = 50  # untrusted: per account, from all addresses
FAILURE_WINDOW = dt.timedelta(minutes=15)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Control characters: a NUL can be neither stored nor sent in every form, and the others
# (tab, escape, ...) are not typed the same way in a browser's password field and at a
# terminal, so a password holding one could not reliably be typed again.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
UNUSABLE_CHARACTER = (
    "the password contains a character that cannot be used (a control character such as NUL or tab)"
)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the email is unknown, so both cases cost the same time.

    Made on first use, not at import: the salted hash costs a quarter of a second, which
    every command and worker that never checks a login would pay."""
    return generate_password_hash("not a password of anyone")


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
    email = check_email(normalise_email(email))
    if role not in LOGIN_ROLES:
        raise DomainError(f"role must be one of {', '.join(LOGIN_ROLES)}")
    if (role == "chatter") != (chatter is not None):
        raise DomainError("a chatter account needs --chatter KEY, and only a chatter account")
    check_password(password)
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


def check_email(email: str) -> str:
    """``email`` (normalised) unchanged, or why no login can have it."""
    text.check(email, "the email", User.email)
    if not _EMAIL.match(email):
        raise DomainError(f"{email!r} is not an email address")
    return email


def check_password(password: str) -> None:
    """The password policy, once: for a new login, a change and a reset alike."""
    if _CONTROL.search(password):
        raise DomainError(UNUSABLE_CHARACTER)
    text.check(password, "the password")  # hashed, never stored, but it must encode
    if len(password) < MIN_PASSWORD:
        raise DomainError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise DomainError(f"the password may have at most {MAX_PASSWORD} characters")
    if not password.strip():
        raise DomainError("the password cannot be only spaces")


def unusable_password(password: str) -> str | None:
    """Why ``password`` is no login's password whatever the account (a NUL, or text that is
    not UTF-8: no password with one was ever accepted), for the form to say before
    anything is counted; None when it may be one.  Other control characters pass: a
    password set before ``check_password`` refused them may hold one."""
    return UNUSABLE_CHARACTER if text.problem(password) is not None else None


def new_password_problems(
    current: str, new: str, repeat: str, current_name: str = "current"
) -> dict[str, str]:
    """What is wrong with a chosen password, by form field (``new``, ``repeat``); {} if fine.

    Checked before the current password is, so a typo costs no counted attempt.
    ``current_name``: what the form calls the password being replaced ("temporary").
    """
    problems: dict[str, str] = {}
    try:
        check_password(new)
    except DomainError as exc:
        problems["new"] = exc.message
    else:
        if new == current:
            problems["new"] = f"choose a password other than the {current_name} one"
    if new != repeat:
        problems["repeat"] = "the two new passwords differ: type the same one twice"
    return problems


def set_password(user: User, password: str, *, must_change: bool) -> None:
    """Give the login a new password; every session of the account ends.

    ``must_change``: someone else knows it (an admin's reset), so its owner must choose
    their own at the next login.  A deactivated login keeps its unknowable password.
    """
    if not user.active:
        raise DomainError(f"the login {user.email} is deactivated: reactivate it first", 409)
    check_password(password)
    user.password_hash = generate_password_hash(password)
    user.must_change_password = must_change
    end_sessions(user)


@dataclass(frozen=True)
class Attempt:
    """A login attempt, counted and stored as a failure until its password passes."""

    failure_id: int
    user_id: int | None  # None: no active account of that email
    password_hash: str


def _lock_key(value: str) -> int:
    """A stable 32-bit key for an advisory lock (a collision only makes two wait)."""
    return zlib.crc32(value.encode()) - (1 << 31)


def begin_attempt(
    session: Session, email: str, address: str, device: str | None, now: dt.datetime
) -> Attempt:
    """Count this attempt against the limits; refused (locked) when one is reached.

    ``device`` is the nonce of the browser's valid device cookie for this account, or
    None for an untrusted client.  Call inside a write transaction and commit it before
    ``password_matches``: the stored row is what later attempts count.
    """
    email = normalise_email(email)[:254]
    address = address[:64]
    connection = session.connection()
    # Always the account's lock first, then the address's: no two attempts wait on each
    # other in opposite orders.  (On SQLite the write transaction already serialises.)
    locks.serialise(connection, locks.LOGIN_ACCOUNTS, _lock_key(email))
    recent = select(func.count()).where(LoginFailure.at >= now - FAILURE_WINDOW)
    if device is not None:
        mine = session.scalar(
            recent.where(LoginFailure.email == email, LoginFailure.device == device)
        )
        locked = (mine or 0) >= MAX_FAILURES_PER_DEVICE
    else:
        locks.serialise(connection, locks.LOGIN_ADDRESSES, _lock_key(address))
        untrusted = recent.where(LoginFailure.device.is_(None))
        here = session.scalar(
            untrusted.where(LoginFailure.email == email, LoginFailure.address == address)
        )
        by_address = session.scalar(untrusted.where(LoginFailure.address == address))
        by_account = session.scalar(untrusted.where(LoginFailure.email == email))
        locked = (
            (here or 0) >= MAX_FAILURES_PER_EMAIL
            or (by_address or 0) >= MAX_FAILURES_PER_ADDRESS
            or (by_account or 0) >= MAX_FAILURES_PER_ACCOUNT
        )
    if locked:
        raise LoginRefused(
            "too many failed attempts: wait 15 minutes before trying again", locked=True
        )
    failure = LoginFailure(email=email, address=address, device=device, at=now)
    session.add(failure)
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - FAILURE_WINDOW * 4))
    session.flush()
    user = session.scalar(select(User).where(User.email == email))
    active = user is not None and user.active
    return Attempt(
        failure_id=failure.id,
        user_id=user.id if user is not None and active else None,
        password_hash=user.password_hash if user is not None else _dummy_hash(),
    )


def password_matches(attempt: Attempt, password: str) -> bool:
    """The slow, salted hash: run it outside any transaction."""
    return check_password_hash(attempt.password_hash, password)


def confirm_attempt(session: Session, attempt: Attempt, matches: bool) -> User:
    """The account whose password was given; a wrong password (or unknown email) keeps
    the failure.  Also how a logged-in user proves their current password."""
    user = session.get(User, attempt.user_id) if attempt.user_id is not None else None
    if not matches or user is None or not user.active:
        raise LoginRefused("wrong email or password")
    session.execute(delete(LoginFailure).where(LoginFailure.id == attempt.failure_id))
    return user


def finish_attempt(session: Session, attempt: Attempt, matches: bool, now: dt.datetime) -> User:
    """The logged-in user; a wrong password (or unknown email) keeps the failure."""
    user = confirm_attempt(session, attempt, matches)
    user.last_login_at = now
    return user


def end_sessions(user: User) -> None:
    """Every session of this account ends, here and in every other browser."""
    user.session_epoch += 1


def retire(user: User, email: str) -> None:
    """Switch the account off for good under another email (an erased chatter's login).

    The row stays so its id is never handed out again: sessions name their account by id.
    """
    user.email = email
    user.password_hash = generate_password_hash(secrets.token_urlsafe(32))  # unknowable
    user.active, user.last_login_at = False, None
    end_sessions(user)
