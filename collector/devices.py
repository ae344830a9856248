"""How a device is shown to people (CLI and API)."""

from __future__ import annotations

from typing import Any

from collector.jsonio import iso
from collector.models import Device


def device_summary(device: Device) -> dict[str, Any]:
    # Slices the agent numbered but the collector never stored (lost or dropped).
    missing = max(device.seq_max - device.slices_received, 0)
    return {
        "device_id": device.uid,
        "chatter": device.chatter.key,
        "hostname": device.hostname,
        "platform": device.platform,
        "agent_version": device.agent_version,
        "enrolled_at": iso(device.enrolled_at),
        "last_seen_at": iso(device.last_seen_at),
        "revoked_at": iso(device.revoked_at),
        "slices_received": device.slices_received,
        "missing_slices": missing,
        "queue": device.queue_health,
        "clock_skew_seconds": device.clock_skew_seconds,
    }
