"""Login device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").

After a successful login the browser gets a cookie naming the account and a random
nonce, signed with the app's secret.  A login that presents a valid one for the account
it tries is a trusted client: its failures are counted for that cookie alone, so
guesses from anywhere else never lock it out (``collector.auth.accounts``).

One cookie holds the entries of the last few accounts logged in from the browser
(a shared office computer).  itsdangerous signs it (HMAC-SHA256 with the app's secret
and a salt of its own) and dates it, so an old cookie stops counting after LIFETIME.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

NAME = "chattertrack_device"
LIFETIME = dt.timedelta(days=365)
MAX_ACCOUNTS = 5
_SALT = "chattertrack.login-device"


def _serializer(secret_key: str | bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        secret_key, salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )


def _entries(secret_key: str | bytes, cookie: str | None) -> list[tuple[str, str]]:
    """The (login, nonce) pairs of a valid cookie; nothing for a forged or stale one."""
    if not cookie:
        return []
    try:
        data = _serializer(secret_key).loads(cookie, max_age=int(LIFETIME.total_seconds()))
    except BadSignature:  # also a bad time stamp, or one older than LIFETIME
        return []
    if not isinstance(data, list):
        return []
    return [
        (entry[0], entry[1])
        for entry in data
        if isinstance(entry, list)
        and len(entry) == 2
        and all(isinstance(part, str) for part in entry)
    ]


def nonce_for(secret_key: str | bytes, cookie: str | None, login: str) -> str | None:
    """The nonce of this browser's valid device cookie for ``login`` (normalised), if any."""
    for name, nonce in _entries(secret_key, cookie):
        if name == login:
            return nonce
    return None


def issue(secret_key: str | bytes, cookie: str | None, login: str) -> str:
    """The cookie after a successful login to ``login``: a fresh nonce for it.

    A fresh nonce also starts that browser's failure count afresh.
    """
    kept = [entry for entry in _entries(secret_key, cookie) if entry[0] != login]
    entries = [(login, secrets.token_urlsafe(16)), *kept][:MAX_ACCOUNTS]
    return _serializer(secret_key).dumps([list(entry) for entry in entries])
