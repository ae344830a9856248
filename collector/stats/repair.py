"""Overlapping slices of one device, stored before the collector refused them, removed.

Until migration 0007 a batch could choose its slice length, so a device could hold a
60 s slice and 59 one-second slices in the same minute (119 s online).  Each second
keeps the slice stored first (lowest id); every slice that overlaps a slice kept before
it is removed.  Overlapping slices form small clusters in (device, start) order, so one
streaming pass holds one cluster at a time.
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
    device_id: int
    start: dt.datetime
    seconds: int

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.seconds)

    def overlaps(self, other: _Stored) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class DroppedSlice:
    device: str  # the device's public id
    start: dt.datetime
    seconds: int
    kept_start: dt.datetime  # the first-stored slice it overlapped
    kept_seconds: int

    def describe(self) -> str:
        return (
            f"device {self.device}: {format_time(self.start)} ({self.seconds} s) overlapped "
            f"{format_time(self.kept_start)} ({self.kept_seconds} s), stored first"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "start": format_time(self.start),
            "seconds": self.seconds,
            "kept_start": format_time(self.kept_start),
            "kept_seconds": self.kept_seconds,
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
            f"overlapping slices removed: {self.dropped} (each second keeps the slice stored first)"
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
        winner = next((k for k in kept if k.overlaps(row)), None)
        if winner is None:
            kept.append(row)
        else:
            losers.append((row, winner))
    return losers


def drop_overlapping_slices(connection: Connection) -> SliceRepair:
    query = select(S.c.id, S.c.device_id, S.c.start, S.c.slice_seconds).order_by(
        S.c.device_id, S.c.start
    )
    losers: list[tuple[_Stored, _Stored]] = []
    cluster: list[_Stored] = []
    end: dt.datetime | None = None
    for row in connection.execute(query, execution_options=_STREAM):
        stored = _Stored(*row)
        if cluster and (
            stored.device_id != cluster[0].device_id or end is None or stored.start >= end
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
    wanted = sorted({loser.device_id for loser, _ in listed})
    uids = dict(connection.execute(select(D.c.id, D.c.uid).where(D.c.id.in_(wanted))).all())
    return SliceRepair(
        len(losers),
        [
            DroppedSlice(uids[d.device_id], d.start, d.seconds, k.start, k.seconds)
            for d, k in listed
        ],
    )
