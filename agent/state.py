"""What the runner and the sender share: settings, clock offset, key, delivery health."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

from agent.config import AgentConfig, DeviceKey, save_config, save_key
from agent.supervise import Faults
from shared.protocol import AgentSettings

# Persist a new clock offset only when it moved this much, not after every reply.
OFFSET_SAVE_THRESHOLD = 1.0


@dataclass
class SharedState:
    config: AgentConfig
    key: DeviceKey
    last_success: float | None = None
    last_error: str | None = None
    credentials_refused: str | None = None
    # Failures of the supervised loops (sender, counting, input listeners).
    faults: Faults = field(default_factory=Faults)
    # Set when the agent's time is in doubt (start, a clock change): the sender asks the
    # collector for its time before anything else.
    time_check: threading.Event = field(default_factory=threading.Event)
    # A damaged outbox found while running: the sender closes its connection and says so
    # (sender_released), the counting loop sets the file aside and starts a new one, then
    # bumps the generation so the sender opens the new file.
    outbox_damaged: threading.Event = field(default_factory=threading.Event)
    sender_released: threading.Event = field(default_factory=threading.Event)
    outbox_generation: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def clock_offset(self) -> float:
        return self.config.clock_offset

    @property
    def settings(self) -> AgentSettings:
        return self.config.settings

    def learn_server_time(self, server_time: dt.datetime, sent: float, received: float) -> float:
        """Set the offset from a reply's server time, read somewhere between ``sent`` and
        ``received``: the offset is then known to lie in [server - received, server - sent].
        An offset already in it stays (moving to the midpoint would only trade a right
        value for the round trip's uncertainty: seconds on a loaded machine, a hole or an
        overlap in the slices); one outside it moves to the midpoint."""
        server = server_time.timestamp()
        with self._lock:
            if server - received <= self.config.clock_offset <= server - sent:
                return self.config.clock_offset
            offset = server - (sent + received) / 2
            moved = abs(offset - self.config.clock_offset) >= OFFSET_SAVE_THRESHOLD
            self.config.clock_offset = round(offset, 3)
            if moved:
                save_config(self.config)
            return offset

    def shift_offset(self, seconds: float) -> float:
        """Move the offset by ``seconds`` (the computer's clock was changed by -seconds)."""
        with self._lock:
            self.config.clock_offset = round(self.config.clock_offset + seconds, 3)
            save_config(self.config)
            return self.config.clock_offset

    def apply_settings(self, settings: AgentSettings) -> bool:
        with self._lock:
            if settings == self.config.settings:
                return False
            self.config.settings = settings
            save_config(self.config)
            return True

    def replace_key(self, key: DeviceKey) -> None:
        with self._lock:
            save_key(key)
            self.key = key
