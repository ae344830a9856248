"""Running tallies of the generated rows, for the cache's summary and the devices' state."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Counts:
    events: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)  # message_sent by kind
    direct_by_chatter: Counter[int] = field(default_factory=Counter)
    slices: int = 0
    devices_seq: dict[int, int] = field(default_factory=dict)  # device -> last seq
    device_last: dict[int, int] = field(default_factory=dict)  # device -> last received
