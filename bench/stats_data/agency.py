"""The agency: creators, chatters, their fans and devices, and who works when."""

from __future__ import annotations

import bisect
import datetime as dt
import random
from dataclasses import dataclass

from bench.datasets.rows import local_midnight
from bench.stats_data.parameters import (
    CHATTERS,
    CREATORS,
    DAYS,
    FAN_POOL,
    FANS_PER_CREATOR,
    FIRST_DAY,
    FIRST_NAMES,
    PRICE_WEIGHTS,
    PRICES,
    QUARTER,
    SECOND_CREATOR_SHARE,
    SECOND_DEVICE_SHARE,
    SEED,
    TZ_NAME,
    VAULT,
)


@dataclass(frozen=True)
class CreatorSpec:
    id: int
    key: str
    name: str
    popularity: float
    fans: tuple[str, ...]
    fan_cum: tuple[float, ...]  # cumulative activity weights of ``fans``
    vault: tuple[int, ...]  # price of each vault PPV


@dataclass(frozen=True)
class ChatterSpec:
    id: int
    key: str
    name: str
    creators: tuple[int, ...]
    weight: float  # how much of the on-duty work this chatter picks up
    shift_start: int  # local minutes after midnight, a multiple of 15
    days_off: frozenset[int]  # weekdays
    devices: tuple[int, ...]
    typing: float  # keys per active second
    mousing: float


@dataclass(frozen=True)
class Agency:
    creators: tuple[CreatorSpec, ...]
    chatters: tuple[ChatterSpec, ...]
    spend: dict[str, float]  # fan -> how readily the fan buys


def build_agency(scale: float, seed: int = SEED) -> Agency:
    rng = random.Random(f"{seed}/agency")
    pool = [f"u{10_000_000 + n}" for n in range(max(50, round(FAN_POOL * scale)))]
    activity = {fan: rng.lognormvariate(0, 1) for fan in pool}
    spend = {fan: _spend_factor(rng) for fan in pool}
    creators = []
    for i, (key, name, popularity) in enumerate(CREATORS, start=1):
        count = min(len(pool), max(5, round(FANS_PER_CREATOR * scale * popularity)))
        fans = tuple(rng.sample(pool, count))
        cum, total = [], 0.0
        for fan in fans:
            total += activity[fan]
            cum.append(total)
        vault = tuple(rng.choices(PRICES, PRICE_WEIGHTS, k=VAULT))
        creators.append(CreatorSpec(i, key, name, popularity, fans, tuple(cum), vault))
    return Agency(tuple(creators), _chatters(rng, len(creators)), spend)


def _spend_factor(rng: random.Random) -> float:
    r = rng.random()
    return 0.25 if r < 0.35 else 1.0 if r < 0.9 else 2.8  # browsers, buyers, whales


def _chatters(rng: random.Random, creators: int) -> tuple[ChatterSpec, ...]:
    second = set(rng.sample(range(CHATTERS), round(CHATTERS * SECOND_CREATOR_SHARE)))
    two_devices = set(rng.sample(range(CHATTERS), round(CHATTERS * SECOND_DEVICE_SHARE)))
    per_group = CHATTERS // creators
    out, device = [], 0
    for i in range(CHATTERS):
        primary = i % creators + 1
        assigned = [primary]
        if i in second:
            assigned.append((primary - 1 + rng.randint(1, creators - 1)) % creators + 1)
        # Spread each creator's own chatters evenly over the day, so someone is on duty.
        rank = i // creators
        start = (rank * 1440 // per_group + primary * 23) % 1440 // 15 * 15
        off = rng.randrange(7)
        days_off = {off, (off + 1) % 7} if rng.random() < 0.3 else {off}
        count = 2 if i in two_devices else 1
        devices = tuple(range(device + 1, device + count + 1))
        device += count
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        out.append(
            ChatterSpec(
                id=i + 1,
                key=f"{first}-{i + 1:03d}",
                name=f"{first.title()} {chr(65 + i // len(FIRST_NAMES))}.",
                creators=tuple(assigned),
                weight=rng.lognormvariate(0, 0.4),
                shift_start=start,
                days_off=frozenset(days_off),
                devices=devices,
                typing=rng.uniform(0.8, 2.2),
                mousing=rng.uniform(0.5, 2.5),
            )
        )
    return tuple(out)


class Schedule:
    """Who works when: one shift a day per chatter (or a day off), derived from the seed."""

    def __init__(self, agency: Agency, seed: int) -> None:
        self.agency = agency
        self.seed = seed
        self._shifts: dict[tuple[int, int], tuple[int, int] | None] = {}
        self._midnights = [
            local_midnight(FIRST_DAY + dt.timedelta(days=d), TZ_NAME) for d in range(-2, DAYS + 4)
        ]
        self._duty: dict[int, dict[int, list[ChatterSpec]]] = {c.id: {} for c in agency.creators}
        self._built: set[int] = set()
        self.by_creator = {
            c.id: [ch for ch in agency.chatters if c.id in ch.creators] for c in agency.creators
        }

    def midnight(self, day: int) -> int:
        return self._midnights[day + 2]

    def day_of(self, t: int) -> int:
        return bisect.bisect_right(self._midnights, t) - 3

    def shift(self, chatter: ChatterSpec, day: int) -> tuple[int, int] | None:
        """The chatter's shift starting on local ``day`` as [start, end) epoch seconds."""
        key = (chatter.id, day)
        if key not in self._shifts:
            rng = random.Random(f"{self.seed}/shift/{chatter.id}/{day}")
            weekday = (FIRST_DAY + dt.timedelta(days=day)).weekday()
            if weekday in chatter.days_off or rng.random() < 0.03:
                self._shifts[key] = None
            else:
                start = self.midnight(day) + (chatter.shift_start + 15 * rng.randint(-2, 2)) * 60
                self._shifts[key] = (start, start + 15 * 60 * rng.randint(32, 38))
        return self._shifts[key]

    def _build(self, day: int) -> None:
        self._built.add(day)
        for chatter in self.agency.chatters:
            shift = self.shift(chatter, day)
            if shift is None:
                continue
            for bucket in range(shift[0] // QUARTER, shift[1] // QUARTER):
                for creator in chatter.creators:
                    self._duty[creator].setdefault(bucket, []).append(chatter)

    def on_duty(self, creator: int, t: int) -> list[ChatterSpec]:
        day = self.day_of(t)
        for d in (day - 1, day):
            if d not in self._built:
                self._build(d)
        return self._duty[creator].get(t // QUARTER, [])
