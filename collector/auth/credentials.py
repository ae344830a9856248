"""Bearer tokens, enrollment tokens, device keys and temporary passwords: made, hashed."""

from __future__ import annotations

import hashlib
import secrets

API_TOKEN_PREFIX = "ctk_"
ENROLL_TOKEN_PREFIX = "cte_"
KEY_ID_PREFIX = "key_"


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_enroll_token() -> str:
    return ENROLL_TOKEN_PREFIX + secrets.token_urlsafe(24)


def new_key_id() -> str:
    return KEY_ID_PREFIX + secrets.token_hex(12)


def new_device_secret() -> str:
    return secrets.token_urlsafe(32)


def new_temporary_password() -> str:
    """What an admin's reset hands over: 96 random bits, its owner replaces it at login."""
    return secrets.token_urlsafe(12)


def token_hash(token: str) -> str:
    """Tokens carry 192+ random bits, so a plain SHA-256 is a safe store."""
    return hashlib.sha256(token.encode()).hexdigest()
