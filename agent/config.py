"""The agent's configuration and its device key (a file only the user can read)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import msgspec

from agent import paths
from shared.protocol import AgentSettings


class AgentConfig(msgspec.Struct, kw_only=True):
    server: str
    device_id: str
    settings: AgentSettings = msgspec.field(default_factory=AgentSettings)
    # Seconds to add to the local clock to get the collector's clock.
    clock_offset: float = 0.0
    # From the enrollment reply (None when enrolled by an older collector or agent).
    chatter_name: str | None = None
    stats_url: str | None = None


class DeviceKey(msgspec.Struct, kw_only=True):
    key_id: str
    secret: str


class NotEnrolled(RuntimeError):
    pass


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_config() -> AgentConfig:
    path = paths.config_file()
    if not path.exists():
        raise NotEnrolled(f"not enrolled yet ({path} missing); run 'chatter-agent enroll'")
    return msgspec.json.decode(path.read_bytes(), type=AgentConfig)


def save_config(config: AgentConfig) -> None:
    _write_atomic(paths.config_file(), msgspec.json.format(msgspec.json.encode(config)), 0o600)


def load_key() -> DeviceKey:
    path = paths.credentials_file()
    if not path.exists():
        raise NotEnrolled(f"device key missing ({path}); run 'chatter-agent enroll'")
    return msgspec.json.decode(path.read_bytes(), type=DeviceKey)


def save_key(key: DeviceKey) -> None:
    """Key id and secret in one file, replaced atomically, mode 0600."""
    _write_atomic(paths.credentials_file(), msgspec.json.encode(key), 0o600)


def enroll_request_id(token: str) -> str:
    """The request id of this token's enrollment: random, kept (mode 0600) until the key
    arrives, so that asking again after a lost reply is the same enrollment."""
    import hashlib
    import secrets

    path = paths.data_dir() / "enroll-request.json"
    digest = hashlib.sha256(token.encode()).hexdigest()
    try:
        saved = msgspec.json.decode(path.read_bytes(), type=dict[str, str])
        if saved.get("token_sha256") == digest and saved.get("request_id"):
            return saved["request_id"]
    except (OSError, msgspec.DecodeError):
        pass
    request_id = secrets.token_urlsafe(24)
    _write_atomic(
        path, msgspec.json.encode({"token_sha256": digest, "request_id": request_id}), 0o600
    )
    return request_id


def forget_enroll_request() -> None:
    (paths.data_dir() / "enroll-request.json").unlink(missing_ok=True)
