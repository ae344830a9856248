"""The slice generator: each device's 60-second heartbeat slices while its chatter works."""

from __future__ import annotations

import random

from bench.stats_data.agency import Agency, ChatterSpec, Schedule
from bench.stats_data.counts import Counts
from bench.stats_data.parameters import END, START, SliceTuple, _sround


class SliceGenerator:
    """Each device's 60-second slices while its chatter is on shift."""

    def __init__(self, agency: Agency, schedule: Schedule, scale: float, seed: int) -> None:
        self.agency = agency
        self.schedule = schedule
        self.scale = scale
        self.seed = seed
        self.next_id = 1

    def day(self, day: int, counts: Counts) -> list[SliceTuple]:
        rows: list[SliceTuple] = []
        for chatter in self.agency.chatters:
            shift = self.schedule.shift(chatter, day)
            if shift is not None:
                self._shift(chatter, day, shift, counts, rows)
        rows.sort(key=lambda r: (r[3], r[1]))  # arrival order, roughly
        out = []
        for row in rows:
            out.append((self.next_id, *row[1:]))
            self.next_id += 1
        counts.slices += len(out)
        return out

    def _shift(
        self,
        chatter: ChatterSpec,
        day: int,
        shift: tuple[int, int],
        counts: Counts,
        rows: list[SliceTuple],
    ) -> None:
        rng = random.Random(f"{self.seed}/slices/{chatter.id}/{day}")
        # The agent runs from a few minutes before the shift until a little after it.
        first = shift[0] - 60 * rng.randint(0, 5)
        minutes = (shift[1] - first) // 60 + rng.randint(0, 10)
        # A smaller scale records a shorter stretch of every shift (fewer slices, same days).
        length = _sround(rng, minutes * self.scale)
        offset = rng.randint(0, minutes - length)
        begin = first + 60 * offset
        pause = (-1, -1)
        if rng.random() < 0.25:  # a break with the agent paused, in shift minutes
            at = rng.randrange(minutes) - offset
            pause = (at, at + rng.randint(10, 40))
        if length == 0:
            return
        main, *others = chatter.devices
        self._run(rng, chatter, main, begin, length, pause, counts, rows)
        if others and rng.random() < 0.7:  # a second computer, on for part of the shift
            second = min(length, _sround(rng, rng.randint(60, 300) * self.scale) or 1)
            offset = rng.randint(0, length - second)
            self._run(rng, chatter, others[0], begin + 60 * offset, second, (-1, -1), counts, rows)

    @staticmethod
    def _run(
        rng: random.Random,
        chatter: ChatterSpec,
        device: int,
        begin: int,
        length: int,
        pause: tuple[int, int],
        counts: Counts,
        rows: list[SliceTuple],
    ) -> None:
        """Consecutive slices of one device: working minutes and idle stretches."""
        random_ = rng.random
        randint = rng.randint
        typing, mousing, who = chatter.typing, chatter.mousing, chatter.id
        seq = counts.devices_seq.get(device, 0)
        working = True
        received = 0
        for m in range(length):
            start = begin + 60 * m
            if not START <= start < END:
                continue
            duration = randint(5, 60) if m == 0 else 60  # the agent started mid-minute
            paused = 0
            if pause[0] <= m < pause[1]:
                paused = randint(5, 59) if m == pause[0] else 60
                active = 0 if paused == 60 else randint(0, 60 - paused)
            elif working:
                if random_() < 0.05:  # drifts off; idle is backdated to the last input
                    working = False
                    active = randint(0, 59)
                else:
                    active = 60 if random_() < 0.75 else randint(30, 59)
            elif random_() < 0.2:
                working = True
                active = randint(1, 59)
            else:
                active = 0
            paused = min(paused, duration)
            active = min(active, duration - paused)
            seq += 1
            if active:
                inputs = active - int(active * random_() * 0.5)
                keys = int(active * typing * (0.4 + random_()))
                mouse = int(active * mousing * (0.2 + random_()))
            else:
                inputs = keys = mouse = 0
            # The agent sends a batch every five slices; the batch arrives a moment later.
            received = start + 60 * (5 - seq % 5) + 2
            row = (0, device, who, start, duration, active, inputs, paused, keys, mouse, seq)
            rows.append((*row, f"b{device}-{seq // 5}", received))
        counts.devices_seq[device] = seq
        if received:
            counts.device_last[device] = max(counts.device_last.get(device, 0), received)
