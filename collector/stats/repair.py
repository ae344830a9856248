"""Overlapping slices of one chatter, stored before the collector refused them, removed.

Until migration 0007 a batch could choose its slice length, so a device could hold a
60 s slice and 59 one-second slices in the same minute (119 s online); until the check
covered every device of a chatter, two devices could do the same between them.
Activity counts the most of a chatter's slices per start, which is right only when
overlapping slices are the same slot (same start and length).  Each second keeps the
slice stored first (lowest id) and later slices of the same slot; every slice that
overlaps a kept slice of another slot is removed.  Overlapping slices form small
clusters in (chatter, start) order, so one streaming pass holds one cluster at a time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, select

from collector.db.models import Device, Slice
from shared.protocol import format_time

S = cast(Table, Slice.__table__)
D = cast(Table, Device.__table__)
LISTED = 20  # dropped slices named in the report; the count covers them all
_STREAM = {"stream_results": True, "yield_per": 10_000}
_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class _Stored:
    id: int
    chatter_id: int
    device_id: int
    start: dt.datetime
    seconds: int

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.seconds)

    def clashes(self, other: _Stored) -> bool:
        """Overlapping in another slot (the same start and length count once)."""
        same_slot = (self.start, self.seconds) == (other.start, other.seconds)
        return not same_slot and self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class DroppedSlice:
    device: str  # the device's public id
    start: dt.datetime
    seconds: int
    kept_start: dt.datetime  # the first-stored slice it overlapped
    kept_seconds: int
    kept_device: str  # whose that slice is: this device or another of its chatter

    def describe(self) -> str:
        whose = "" if self.kept_device == self.device else f" of device {self.kept_device}"
        return (
            f"device {self.device}: {format_time(self.start)} ({self.seconds} s) overlapped "
            f"{format_time(self.kept_start)} ({self.kept_seconds} s){whose}, stored first"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "start": format_time(self.start),
            "seconds": self.seconds,
            "kept_start": format_time(self.kept_start),
            "kept_seconds": self.kept_seconds,
            "kept_device": self.kept_device,
        }


@dataclass
class SliceRepair:
    """What a repair removed: how many slices, and the first ``LISTED`` of them."""

    dropped: int = 0
    listed: list[DroppedSlice] = field(default_factory=list)

    def lines(self) -> list[str]:
        if not self.dropped:
            return ["overlapping slices removed: none"]
        out = [
            f"overlapping slices removed: {self.dropped} (each second of a chatter keeps the "
            "slice stored first, and slices of the same start and length)"
        ]
        out += [f"  {d.describe()}" for d in self.listed]
        if self.dropped > len(self.listed):
            out.append(f"  ... and {self.dropped - len(self.listed)} more")
        return out


def _cluster_losers(cluster: list[_Stored]) -> list[tuple[_Stored, _Stored]]:
    """(dropped, the kept slice it overlapped) for one cluster, first-stored first."""
    kept: list[_Stored] = []
    losers = []
    for row in sorted(cluster, key=lambda r: r.id):
        winner = next((k for k in kept if k.clashes(row)), None)
        if winner is None:
            kept.append(row)
        else:
            losers.append((row, winner))
    return losers


def drop_overlapping_slices(connection: Connection) -> SliceRepair:
    query = select(S.c.id, S.c.chatter_id, S.c.device_id, S.c.start, S.c.slice_seconds).order_by(
        S.c.chatter_id, S.c.start
    )
    losers: list[tuple[_Stored, _Stored]] = []
    cluster: list[_Stored] = []
    end: dt.datetime | None = None
    for row in connection.execute(query, execution_options=_STREAM):
        stored = _Stored(*row)
        if cluster and (
            stored.chatter_id != cluster[0].chatter_id or end is None or stored.start >= end
        ):
            if len(cluster) > 1:
                losers += _cluster_losers(cluster)
            cluster, end = [], None
        cluster.append(stored)
        end = stored.end if end is None else max(end, stored.end)
    if len(cluster) > 1:
        losers += _cluster_losers(cluster)

    ids = sorted(loser.id for loser, _ in losers)
    for i in range(0, len(ids), _CHUNK):
        connection.execute(delete(S).where(S.c.id.in_(ids[i : i + _CHUNK])))
    listed = sorted(losers, key=lambda pair: (pair[0].device_id, pair[0].start))[:LISTED]
    wanted = sorted({row.device_id for pair in listed for row in pair})
    uids = dict(connection.execute(select(D.c.id, D.c.uid).where(D.c.id.in_(wanted))).all())
    return SliceRepair(
        len(losers),
        [
            DroppedSlice(
                uids[d.device_id], d.start, d.seconds, k.start, k.seconds, uids[k.device_id]
            )
            for d, k in listed
        ],
    )
