"""The event generator: conversations, PPVs, mass and automated messages, tips, refunds."""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import random
from typing import Any

from bench.stats_data.agency import Agency, ChatterSpec, CreatorSpec, Schedule
from bench.stats_data.counts import Counts
from bench.stats_data.parameters import (
    AUTO,
    AUTOMATED,
    DAYS,
    DIRECT,
    END,
    FAN_MESSAGE,
    FIRST_DAY,
    HOUR_WEIGHTS,
    LONELY_TIPS,
    MASS,
    MASS_REACH,
    MASS_SENDS,
    MESSAGE_SENT,
    P_BUY_AUTOMATED,
    P_BUY_DIRECT,
    P_BUY_MASS,
    P_FOLLOW_UP,
    P_NAMED_TIP,
    P_PPV,
    P_REFUND,
    P_SESSION_TIP,
    PPV_PURCHASE,
    QUARTER,
    REFUND,
    SESSIONS,
    TIP,
    TIP_WEIGHTS,
    TIPS,
    UNKNOWN_REFUNDS,
    VAULT,
    WEEKDAY_FACTOR,
    EventTuple,
    _sround,
)


class EventGenerator:
    """Events day by day; state across days: PPVs each fan got, the running ids."""

    def __init__(self, agency: Agency, schedule: Schedule, scale: float, seed: int) -> None:
        self.agency = agency
        self.schedule = schedule
        self.scale = scale
        self.seed = seed
        self.ppvs_sent: dict[tuple[int, str], int] = {}
        self.next_id = 1

    def day(self, day: int, counts: Counts) -> list[EventTuple]:
        rows: list[list[Any]] = []
        for creator in self.agency.creators:
            _CreatorDay(self, creator, day, rows).generate()
        rows.sort(key=lambda r: r[0])  # stable: ties keep the generation order
        for row in rows:
            row.append(self.next_id)
            row.append(f"ev-{self.next_id:09d}")
            self.next_id += 1
        return [self._finish(row, counts) for row in rows]

    @staticmethod
    def _finish(row: list[Any], counts: Counts) -> EventTuple:
        t, kind_of, creator, chatter, contact, kind, ref, amount, number, event_id = row
        if isinstance(ref, list):  # a refund names its sale's id, known only now
            ref = ref[9]
        counts.events[kind_of] += 1
        if kind_of == MESSAGE_SENT:
            counts.messages[kind] += 1
            if kind == DIRECT:
                counts.direct_by_chatter[chatter] += 1
        content_hash = hashlib.sha256(event_id.encode()).hexdigest()
        # Integrations deliver within seconds; every 997th event comes in an hour late.
        received = t + 1 + number % 17 + (3600 if number % 997 == 0 else 0)
        return (number, event_id, kind_of, t, creator, chatter, contact, kind, ref, amount,
                content_hash, received)  # fmt: skip


class _CreatorDay:
    """One creator's events that begin on one local day (some end later)."""

    def __init__(
        self, gen: EventGenerator, creator: CreatorSpec, day: int, out: list[list[Any]]
    ) -> None:
        self.gen = gen
        self.creator = creator
        self.day = day
        self.out = out
        self.rng = random.Random(f"{gen.seed}/events/{creator.id}/{day}")
        self.midnight = gen.schedule.midnight(day)
        weekday = (FIRST_DAY + dt.timedelta(days=day)).weekday()
        trend = 0.9 + 0.2 * day / max(1, DAYS - 1)
        self.volume = gen.scale * creator.popularity * WEEKDAY_FACTOR[weekday] * trend

    def generate(self) -> None:
        self.conversations()
        self.mass_sends()
        self.automated()
        self.lonely_tips()
        self.unknown_refunds()

    def emit(
        self,
        t: int,
        kind_of: str,
        chatter: int | None = None,
        contact: str | None = None,
        kind: str | None = None,
        ref: Any = None,
        amount: int | None = None,
    ) -> list[Any] | None:
        if t >= END:  # after the data set's last day: never happened
            return None
        row = [t, kind_of, self.creator.id, chatter, contact, kind, ref, amount]
        self.out.append(row)
        return row

    def replier(self, t: int, prefer: ChatterSpec | None) -> tuple[int, ChatterSpec | None]:
        """Who answers at ``t``: the same chatter if still on duty, else anyone on duty.

        When nobody is on duty the answer waits for the next shift to begin.
        """
        rng = self.rng
        schedule = self.gen.schedule
        for step in range(4 * 48):
            if t >= END:
                return t, None
            on_duty = schedule.on_duty(self.creator.id, t)
            if on_duty:
                if prefer is not None and prefer in on_duty and rng.random() < 0.9:
                    return t, prefer
                r = rng.random() * sum(c.weight for c in on_duty)
                for chatter in on_duty:
                    r -= chatter.weight
                    if r < 0:
                        return t, chatter
                return t, on_duty[-1]
            t = (t // QUARTER + 1) * QUARTER + (rng.randint(10, 300) if step == 0 else 0)
        return t, None

    def start_time(self) -> int:
        hour = bisect.bisect_right(_HOUR_CUM, self.rng.random() * _HOUR_CUM[-1])
        return self.midnight + hour * 3600 + self.rng.randrange(3600)

    def conversations(self) -> None:
        rng = self.rng
        count = _sround(rng, SESSIONS * self.volume)
        fans = rng.choices(self.creator.fans, cum_weights=self.creator.fan_cum, k=count)
        starts = sorted((self.start_time(), fan) for fan in fans)
        busy_until: dict[str, int] = {}
        for start, fan in starts:
            # A fan in two conversations the same day has them one after the other.
            begin = max(start, busy_until.get(fan, 0) + rng.randint(600, 7200))
            busy_until[fan] = self.conversation(begin, fan)

    def conversation(self, t: int, fan: str) -> int:
        """Rounds of fan messages and replies; returns when the conversation ended."""
        rng = self.rng
        chatter: ChatterSpec | None = None
        rounds = 1 + min(int(rng.expovariate(1 / 1.6)), 12)
        for _ in range(rounds):
            burst = 1 + (rng.random() < 0.45) + (rng.random() < 0.25)
            for i in range(burst):
                if i:
                    t += rng.randint(4, 120)
                if self.emit(t, FAN_MESSAGE, contact=fan) is None:
                    return t
            delay = _reply_delay(rng)
            if delay < 0:  # left unanswered
                return t
            t, chatter = self.replier(t + delay, chatter)
            if chatter is None:
                return t
            self.emit(t, MESSAGE_SENT, chatter.id, fan, DIRECT)
            if rng.random() < P_FOLLOW_UP:
                t += rng.randint(8, 150)
                self.emit(t, MESSAGE_SENT, chatter.id, fan, DIRECT)
            if rng.random() < P_PPV:
                t += rng.randint(20, 400)
                self.direct_ppv(t, chatter, fan)
            t += rng.randint(20, 1200)  # the fan reads, thinks, writes again
        if chatter is not None and rng.random() < P_SESSION_TIP:
            self.session_tip(t, chatter, fan)
        return t

    def direct_ppv(self, t: int, chatter: ChatterSpec, fan: str) -> None:
        """A vault PPV the fan has not been sent yet, perhaps bought later."""
        rng = self.rng
        key = (self.creator.id, fan)
        sent = self.gen.ppvs_sent.get(key, 0)
        self.gen.ppvs_sent[key] = sent + 1
        item = (int(fan[1:]) + sent * 7) % VAULT
        price = self.creator.vault[item]
        if rng.random() < 0.15:  # a chatter's discount
            price = max(299, price - 500)
        ppv = f"v{self.creator.id:02d}-{item:03d}"
        self.emit(t, MESSAGE_SENT, chatter.id, fan, DIRECT, ppv, price)
        if rng.random() < P_BUY_DIRECT * self.gen.agency.spend[fan]:
            delay = 30 + int(rng.lognormvariate(7.3, 1.2))  # median ~25 min
            self.sale(t + delay, PPV_PURCHASE, None, fan, ppv, price)

    def session_tip(self, t: int, chatter: ChatterSpec, fan: str) -> None:
        rng = self.rng
        if rng.random() < 0.85:
            t += rng.randint(30, 5400)
        else:  # long after: the 24 h converter window has passed
            t += rng.randint(25 * 3600, 72 * 3600)
        named = chatter.id if rng.random() < P_NAMED_TIP else None
        self.sale(t, TIP, named, fan, None, rng.choices(TIPS, TIP_WEIGHTS)[0])

    def sale(
        self, t: int, kind_of: str, chatter: int | None, fan: str, ppv: str | None, amount: int
    ) -> None:
        row = self.emit(t, kind_of, chatter, fan, None, ppv, amount)
        rng = self.rng
        if row is not None and rng.random() < P_REFUND:
            refunded = amount if rng.random() < 0.8 or amount < 2 else rng.randint(1, amount - 1)
            later = 3600 + int(rng.lognormvariate(11.5, 1.0))  # median ~1.1 days
            self.emit(t + later, REFUND, ref=row, amount=refunded)

    def mass_sends(self) -> None:
        rng = self.rng
        fans = self.creator.fans
        for k in range(_sround(rng, MASS_SENDS)):
            t, chatter = self.replier(self.midnight + rng.randint(17 * 3600, 22 * 3600), None)
            if chatter is None:
                continue
            with_ppv = rng.random() < 0.75
            ppv = f"m{self.creator.id:02d}-{self.day:02d}-{k}" if with_ppv else None
            price = rng.choice((999, 1499, 1999, 2499)) if with_ppv else None
            for fan in rng.sample(fans, min(len(fans), _sround(rng, len(fans) * MASS_REACH))):
                at = t + rng.randint(0, 300)  # a mass message goes out over a few minutes
                self.emit(at, MESSAGE_SENT, chatter.id, fan, MASS, ppv, price)
                if ppv and price and rng.random() < P_BUY_MASS * self.gen.agency.spend[fan]:
                    delay = 60 + int(rng.lognormvariate(8.6, 1.2))  # median ~1.5 h
                    self.sale(at + delay, PPV_PURCHASE, None, fan, ppv, price)

    def automated(self) -> None:
        rng = self.rng
        everyone = self.gen.schedule.by_creator[self.creator.id]
        for _ in range(_sround(rng, AUTOMATED * self.volume)):
            t = self.midnight + rng.randrange(86400)
            on_duty = self.gen.schedule.on_duty(self.creator.id, t)
            chatter = rng.choice(on_duty or everyone)
            fan = rng.choice(self.creator.fans)
            if rng.random() < 0.1:
                ppv = f"a{self.creator.id:02d}-{rng.randrange(5)}"
                price = 499 + 250 * int(ppv[-1])
                self.emit(t, MESSAGE_SENT, chatter.id, fan, AUTO, ppv, price)
                if rng.random() < P_BUY_AUTOMATED * self.gen.agency.spend[fan]:
                    delay = 60 + int(rng.lognormvariate(8.0, 1.2))
                    self.sale(t + delay, PPV_PURCHASE, None, fan, ppv, price)
            else:
                self.emit(t, MESSAGE_SENT, chatter.id, fan, AUTO)

    def lonely_tips(self) -> None:
        """Tips outside conversations; some from fans nobody ever wrote to."""
        rng = self.rng
        for n in range(_sround(rng, LONELY_TIPS * self.volume)):
            t = self.midnight + rng.randrange(86400)
            if rng.random() < 0.4:
                fan = f"s{self.creator.id:02d}{self.day:02d}{n:04d}"
            else:
                fan = rng.choice(self.creator.fans)
            on_duty = self.gen.schedule.on_duty(self.creator.id, t)
            named = rng.choice(on_duty).id if on_duty and rng.random() < 0.3 else None
            self.sale(t, TIP, named, fan, None, rng.choices(TIPS, TIP_WEIGHTS)[0])

    def unknown_refunds(self) -> None:
        rng = self.rng
        for n in range(_sround(rng, UNKNOWN_REFUNDS * self.volume)):
            t = self.midnight + rng.randrange(86400)
            self.emit(t, REFUND, ref=f"pre-{self.creator.id}-{self.day}-{n}", amount=999)


_HOUR_CUM = tuple(sum(HOUR_WEIGHTS[: h + 1]) for h in range(24))


def _reply_delay(rng: random.Random) -> int:
    """Seconds until a reply: mostly a minute or two, some hours, a few over a day; -1: none."""
    r = rng.random()
    if r < 0.80:
        return 3 + int(rng.lognormvariate(4.3, 0.9))  # median ~75 s
    if r < 0.92:
        return rng.randint(300, 3600)
    if r < 0.98:
        return rng.randint(3600, 12 * 3600)
    if r < 0.995:
        return rng.randint(24 * 3600 + 600, 40 * 3600)
    return -1
