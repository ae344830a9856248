"""Pre-built, pre-signed request bytes for heartbeats and events."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

from bench.rawhttp import build_request
from shared import signing

HEARTBEAT_PATH = "/api/v1/heartbeats"
EVENTS_PATH = "/api/v1/events"
SLICE_SECONDS = 60


@dataclass(frozen=True)
class Device:
    device_id: str
    key_id: str
    secret: str


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def heartbeat_requests(
    host: str,
    device: Device,
    *,
    batches: int,
    per_batch: int,
    skip_minutes: int = 0,
    tag: str = "hb",
) -> list[bytes]:
    """Signed batches of distinct minute slices, oldest first, with seq 1, 2, 3, ...

    The newest slice starts ``skip_minutes`` + 2 minutes before now, so callers
    can give one device disjoint ranges; every start stays within 35 days.
    """
    total = batches * per_batch
    newest = int(time.time()) // SLICE_SECONDS * SLICE_SECONDS - (skip_minutes + 2) * 60
    if total + skip_minutes > 34 * 1440:
        raise ValueError(f"{total} slices from {skip_minutes} min back do not fit in 34 days")
    now = dt.datetime.now(dt.UTC)
    timestamp = int(now.timestamp())
    out = []
    for b in range(batches):
        slices = []
        for j in range(per_batch):
            i = b * per_batch + j
            start = dt.datetime.fromtimestamp(newest - (total - 1 - i) * SLICE_SECONDS, dt.UTC)
            slices.append(
                {
                    "seq": i + 1,
                    "start": _rfc3339(start),
                    "duration": SLICE_SECONDS,
                    "active_seconds": 30,
                    "input_seconds": 10,
                    "keystrokes": 40,
                    "mouse_events": 12,
                }
            )
        batch = {"batch_id": f"{tag}-{b}", "sent_at": _rfc3339(now), "heartbeats": slices}
        body = json.dumps(batch, separators=(",", ":")).encode()
        headers = signing.signed_headers(
            device.key_id, [device.secret], "POST", HEARTBEAT_PATH, timestamp, body
        )
        headers["Content-Type"] = "application/json"
        out.append(build_request("POST", HEARTBEAT_PATH, host, headers, body))
    return out


def _event(
    i: int, event_id: str, occurred_at: str, creator: str, chatter: str
) -> dict[str, object]:
    base: dict[str, object] = {"id": event_id, "occurred_at": occurred_at, "creator": creator}
    fan = f"fan-{i % 997}"
    match i % 5:
        case 0:
            return base | {"type": "fan_message", "fan": fan}
        case 1:
            return base | {"type": "message_sent", "chatter": chatter, "fan": fan, "kind": "direct"}
        case 2:
            ppv = {"id": f"ppv-{i % 50}", "price": "19.99"}
            extra = {"type": "message_sent", "chatter": chatter, "fan": fan, "kind": "mass"}
            return base | extra | {"ppv": ppv}
        case 3:
            return base | {"type": "tip", "fan": fan, "amount": "5.00", "chatter": chatter}
        case _:
            return base | {
                "type": "ppv_purchase",
                "fan": fan,
                "ppv_id": f"ppv-{i % 50}",
                "amount": "19.99",
            }


def event_requests(
    host: str,
    token: str,
    *,
    requests: int,
    per_request: int,
    creator: str,
    chatter: str,
    tag: str = "ev",
) -> list[bytes]:
    """JSON arrays of unique events, a mix of messages, PPV sales and tips, all in the past."""
    oldest = int(time.time()) - 3600 - requests * per_request
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    out = []
    for r in range(requests):
        batch = []
        for j in range(per_request):
            i = r * per_request + j
            when = _rfc3339(dt.datetime.fromtimestamp(oldest + i, dt.UTC))
            batch.append(_event(i, f"{tag}-{r}-{j}", when, creator, chatter))
        body = json.dumps(batch, separators=(",", ":")).encode()
        out.append(build_request("POST", EVENTS_PATH, host, headers, body))
    return out
