"""Bearer tokens, enrollment tokens and device keys: made, hashed, looked up."""

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


def token_hash(token: str) -> str:
    """Tokens carry 192+ random bits, so a plain SHA-256 is a safe store."""
    return hashlib.sha256(token.encode()).hexdigest()
