"""Time buckets and packed id sets: what the stats and conversation rollups share.

Every time zone's midnight (and hour) falls on a quarter hour, so any range of local
days or hours is a set of whole 15-minute UTC buckets; a bucket or day is keyed by its
first second since the epoch.  Sets of ids (visitors, response samples) are stored as
packed unsigned 32-bit integers.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterable, Iterator

import numpy as np
import numpy.typing as npt

QUARTER = 900
HOUR = 3600
DAY = 86_400


def epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def from_epoch(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def bucket_of(moment: dt.datetime) -> int:
    """The quarter hour holding ``moment``."""
    seconds = epoch(moment)
    return seconds - seconds % QUARTER


def day_of(moment: dt.datetime) -> int:
    """The UTC day holding ``moment``."""
    seconds = epoch(moment)
    return seconds - seconds % DAY


def runs(buckets: Iterable[int], step: int) -> Iterator[tuple[int, int, list[int]]]:
    """Consecutive buckets grouped as (first, end, members), so one query reads a run."""
    ordered = sorted(set(buckets))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + step:
            j += 1
        yield ordered[i], ordered[j] + step, ordered[i : j + 1]
        i = j + 1


def pack(values: Iterable[int]) -> bytes:
    return array("I", sorted(values)).tobytes()


def unpack(blob: bytes) -> array[int]:
    """The values as Python ints (the stats add them to lists)."""
    values = array("I")
    values.frombytes(blob)
    return values


def unpack_array(blob: bytes) -> npt.NDArray[np.uint32]:
    """The values as a numpy view without copying (the conversation counts mask them)."""
    return np.frombuffer(blob, dtype="<u4")
