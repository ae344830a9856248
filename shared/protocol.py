"""Protocol v1 messages between agent and collector: enrollment and heartbeats.

Every timestamp is RFC 3339 with an offset (the agent sends UTC, ``...Z``).
Unknown fields are ignored on decode so that a newer agent can talk to an older
collector; the collector documents every field it reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast

import msgspec

UTC = dt.UTC
AwareDatetime = Annotated[dt.datetime, msgspec.Meta(tz=True)]
# What the collector's columns hold: INTEGER and BIGINT are signed 32 and 64 bits.  A
# larger number is refused on decode (422) rather than by the database (a 500 the agent
# would retry forever).
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
Int32 = Annotated[int, msgspec.Meta(ge=-(2**31), le=INT32_MAX)]
NonNegative = Annotated[int, msgspec.Meta(ge=0, le=INT32_MAX)]
Count = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
# PostgreSQL cannot store a NUL character in text; no field of the protocol needs one.
NO_NUL = r"^[^\x00]*$"
_NUL_REFUSED = f"Expected `str` matching regex {NO_NUL!r}"


def problem_text(exc: msgspec.ValidationError) -> str:
    """A decoding error in words: the no-NUL pattern is named for what it means."""
    return str(exc).replace(_NUL_REFUSED, "Expected text without NUL characters")


MAX_BATCH_SLICES = 1000
MAX_HEARTBEAT_BODY = 1 << 20  # 1 MiB
MAX_SLICE_DURATION = 3600
ALLOWED_SLICE_SECONDS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)
# Beyond these rates a slice is not a person at a keyboard (or a jiggler is
# running); refusing it keeps manufactured activity out of the figures.
MAX_KEYSTROKES_PER_SECOND = 50
MAX_MOUSE_EVENTS_PER_SECOND = 200
# Input bursts (Heartbeat.bursts): events closer than this are one burst, so burst
# starts are at least this far apart.  The longest interval counted is the longest
# idle threshold the collector allows (a longer interval is idle time, not a gap).
BURST_GAP_MS = 1000
MAX_GAP_MS = 86_400 * 1000
TIMING_FIELDS = ("bursts", "keyed_bursts", "gaps", "gap_ms_sum", "gap_ms_sum_sq")
# The agent keeps 30 days; a few more days cover a long final flush.
MAX_SLICE_AGE = dt.timedelta(days=35)


class AgentSettings(msgspec.Struct, kw_only=True):
    """What the collector tells an agent to use; sent at enrollment and in every reply."""

    slice_seconds: int = 60
    idle_threshold_seconds: int = 180
    outbox_max_days: int = 30


class EnrollRequest(msgspec.Struct, kw_only=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
    hostname: Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=NO_NUL)]
    platform: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]
    agent_version: Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=NO_NUL)]
    # A random id the agent keeps for this token until it has its key: when the reply was
    # lost (a timeout after the collector enrolled it), asking again with the same id
    # gets the same device and key instead of "token used".  Optional (after v1).
    request_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{16,64}$")] | None = None


class EnrollResponse(msgspec.Struct, kw_only=True):
    device_id: str
    key_id: str
    secret: str
    server_time: dt.datetime
    settings: AgentSettings
    # Whom the device counts for, and where they see their numbers (a path on the
    # collector), for ``chatter-agent status``.  Optional: added after protocol v1.
    chatter_name: str | None = None
    stats_path: str | None = None


class RotateKeyResponse(msgspec.Struct, kw_only=True):
    key_id: str
    secret: str
    previous_key_expires_at: dt.datetime
    server_time: dt.datetime


class RetireRequest(msgspec.Struct, kw_only=True):
    """Sent (signed) by ``chatter-agent retire`` when the agent is uninstalled: the device
    shows as uninstalled, with the slices it leaves unsent on the computer."""

    # None: the agent could not read its outbox (damaged), so nobody knows.
    unsent_slices: Count | None = 0


class RetireReply(msgspec.Struct, kw_only=True):
    device_id: str
    retired_at: dt.datetime


class Heartbeat(msgspec.Struct, kw_only=True, frozen=True):
    """One sealed slice of ``[start, start + slice_seconds)``.

    ``duration`` is how many seconds of the slice the agent was running;
    ``active_seconds`` and ``paused_seconds`` are parts of it (never more
    than it together); ``input_seconds`` counts seconds that saw any input.
    """

    seq: Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)]
    start: AwareDatetime
    duration: Int32
    active_seconds: NonNegative
    input_seconds: NonNegative
    keystrokes: NonNegative
    mouse_events: NonNegative
    paused_seconds: NonNegative = 0
    # Input timing (added after protocol v1; all five or none, so older agents and
    # collectors keep working).  Input is grouped into *bursts*: events less than
    # BURST_GAP_MS apart.  ``bursts`` start in this slice, ``keyed_bursts`` of them
    # included a key press (the rest were mouse-only); ``gaps`` are the intervals between
    # consecutive burst starts that end in this slice (the earlier start may lie in the
    # previous slice; intervals longer than the idle threshold are idle, not counted),
    # given as their count, sum and sum of squares in milliseconds so the collector can
    # pool several slices' intervals exactly (METRICS.md "Regular (machine-like) input").
    # Moments only: nothing about which key or where the mouse is.
    bursts: NonNegative | None = None
    keyed_bursts: NonNegative | None = None
    gaps: NonNegative | None = None
    gap_ms_sum: Count | None = None
    gap_ms_sum_sq: Count | None = None

    def timing(self) -> tuple[int, int, int, int, int] | None:
        """The five timing fields, or None when the agent sent none of them."""
        values = (self.bursts, self.keyed_bursts, self.gaps, self.gap_ms_sum, self.gap_ms_sum_sq)
        if None in values:
            return None
        return cast(tuple[int, int, int, int, int], values)


class QueueHealth(msgspec.Struct, kw_only=True):
    """The agent's own view of its outbox, shown to admins.

    ``lost`` and ``lost_reason`` (added after protocol v1 shipped; optional, so older
    agents and collectors keep working) report slices the agent sealed and then lost
    before the collector had them: a damaged outbox set aside, or sealed slices held in
    memory on a full disk when the agent stopped.  ``lost`` is a running total.
    """

    queued: Count = 0
    parked: Count = 0
    dropped: Count = 0
    oldest: AwareDatetime | None = None
    lost: Count = 0
    lost_reason: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)] | None = None


class HeartbeatBatch(msgspec.Struct, kw_only=True):
    batch_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    sent_at: AwareDatetime
    heartbeats: list[Heartbeat]
    # The slice length these slices use; defaults to the device's current
    # setting.  Stating it keeps queued slices valid after the setting changes.
    slice_seconds: int | None = None
    agent_version: Annotated[str, msgspec.Meta(max_length=50, pattern=NO_NUL)] | None = None
    queue: QueueHealth | None = None


class HeartbeatReply(msgspec.Struct, kw_only=True):
    accepted: int
    duplicates: int
    server_time: dt.datetime
    settings: AgentSettings
    # Inclusive seq ranges this device skipped, seen from this batch.
    gaps: list[tuple[int, int]] = []
    rotate_key: bool = False


class ErrorBody(msgspec.Struct, kw_only=True):
    error: str
    message: str
    details: list[Any] = []


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request, pointing at the offending field."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def encode(message: msgspec.Struct | dict[str, Any] | list[Any]) -> bytes:
    return msgspec.json.encode(message)


def utc_now() -> dt.datetime:
    return dt.datetime.now(UTC)


def format_time(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as the protocol writes every timestamp."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def validate_batch(batch: HeartbeatBatch, *, slice_seconds: int, now: dt.datetime) -> list[Problem]:
    """Every cross-field rule a batch must meet; an empty list means valid.

    Field types and signs are already checked by decoding.  Both sides use
    this: the collector to refuse a batch, the agent to check itself.
    """
    problems: list[Problem] = []
    if batch.slice_seconds is not None:
        slice_seconds = batch.slice_seconds
        if slice_seconds not in ALLOWED_SLICE_SECONDS:
            problems.append(Problem("slice_seconds", f"{slice_seconds} does not divide 60 evenly"))
            return problems
    if len(batch.heartbeats) > MAX_BATCH_SLICES:
        problems.append(
            Problem(
                "heartbeats",
                f"{len(batch.heartbeats)} slices in one batch; at most {MAX_BATCH_SLICES}",
            )
        )
        return problems

    latest_end = now + dt.timedelta(seconds=300)
    oldest_start = now - MAX_SLICE_AGE
    seen_starts: set[dt.datetime] = set()
    seen_seqs: set[int] = set()
    for i, hb in enumerate(batch.heartbeats):
        where = f"heartbeats[{i}]"

        def bad(field: str, message: str, where: str = where) -> None:
            problems.append(Problem(f"{where}.{field}", message))

        try:  # 9999-12-31T23:59:00Z or 0001-01-01T00:59:00+01:00 leave datetime's range
            start = hb.start.astimezone(UTC)
            end = start + dt.timedelta(seconds=hb.duration)
        except OverflowError:
            bad("start", f"{hb.start.isoformat()} is out of range")
            continue
        if start.microsecond or int(start.timestamp()) % slice_seconds:
            bad("start", f"{format_time(start)} is not aligned to {slice_seconds}-second slices")
        if not 1 <= hb.duration <= MAX_SLICE_DURATION:
            bad("duration", f"{hb.duration} is outside 1..{MAX_SLICE_DURATION}")
        elif hb.duration > slice_seconds:
            bad("duration", f"{hb.duration} s is longer than the {slice_seconds}-second slice")
        if hb.active_seconds > hb.duration:
            bad("active_seconds", f"{hb.active_seconds} is more than duration {hb.duration}")
        if hb.input_seconds > hb.duration:
            bad("input_seconds", f"{hb.input_seconds} is more than duration {hb.duration}")
        if hb.active_seconds + hb.paused_seconds > hb.duration:
            bad(
                "paused_seconds",
                f"active {hb.active_seconds} + paused {hb.paused_seconds} exceed "
                f"duration {hb.duration}",
            )
        if hb.keystrokes > MAX_KEYSTROKES_PER_SECOND * max(hb.duration, 1):
            bad(
                "keystrokes",
                f"{hb.keystrokes} in {hb.duration} s is implausible "
                f"(more than {MAX_KEYSTROKES_PER_SECOND} a second)",
            )
        if hb.mouse_events > MAX_MOUSE_EVENTS_PER_SECOND * max(hb.duration, 1):
            bad(
                "mouse_events",
                f"{hb.mouse_events} in {hb.duration} s is implausible "
                f"(more than {MAX_MOUSE_EVENTS_PER_SECOND} a second)",
            )
        _check_timing(hb, slice_seconds, bad)
        if end > latest_end:
            bad(
                "start", f"{format_time(start)} ends in the future (server time {format_time(now)})"
            )
        elif start < oldest_start:
            bad("start", f"{format_time(start)} is older than {MAX_SLICE_AGE.days} days")
        # A batch's slices share one length and are aligned to it, so two of them
        # overlap exactly when their starts are equal.  Overlaps with slices already
        # stored are the collector's to find (collector/ingest/overlaps.py).
        if start in seen_starts:
            bad("start", f"{format_time(start)} appears twice in this batch")
        seen_starts.add(start)
        if hb.seq in seen_seqs:
            bad("seq", f"seq {hb.seq} appears twice in this batch")
        seen_seqs.add(hb.seq)
    return problems


# Live presence ----------------------------------------------------------------------
# A small signed message the agent sends every PRESENCE_INTERVAL seconds while it runs: the
# state and how long since the last input, rounded, and nothing else (no counts, no keys).
PRESENCE_INTERVAL = 30
PRESENCE_STATES = ("active", "idle", "paused")
PRESENCE_IDLE_STEP = 10
# "Idle for more than a day" says all a manager needs; a bound keeps the column's range.
MAX_PRESENCE_IDLE = 86400
MAX_PRESENCE_BODY = 4096
PresenceState = Literal["active", "idle", "paused"]


def presence_idle(seconds: float) -> int:
    """Seconds since the last input as a presence message carries them: rounded to the
    nearest 10 s (no finer timing leaves the computer) and at most a day."""
    if not seconds > 0:  # also NaN
        return 0
    rounded = int(round(min(seconds, MAX_PRESENCE_IDLE) / PRESENCE_IDLE_STEP))
    return min(rounded * PRESENCE_IDLE_STEP, MAX_PRESENCE_IDLE)


class Presence(msgspec.Struct, kw_only=True, frozen=True):
    """The agent's state now: ``active`` (input within the idle threshold), ``idle``, or
    ``paused`` (the chatter paused tracking).  ``idle_seconds`` is the time since the last
    input, a multiple of 10 (0 while paused: no input is observed then).  ``sent_at`` is
    the agent's corrected clock; the collector keeps the newest message per device."""

    state: PresenceState
    idle_seconds: Annotated[
        int, msgspec.Meta(ge=0, le=MAX_PRESENCE_IDLE, multiple_of=PRESENCE_IDLE_STEP)
    ]
    sent_at: AwareDatetime


class PresenceReply(msgspec.Struct, kw_only=True):
    """``stored`` is false when a newer message of the device was already there."""

    stored: bool
    server_time: dt.datetime
    interval_seconds: int = PRESENCE_INTERVAL


def _check_timing(hb: Heartbeat, slice_seconds: int, bad: Callable[[str, str], None]) -> None:
    """The input timing fields are all there or all absent, and could be real.

    Burst starts are at least BURST_GAP_MS apart, so a slice holds at most one per
    second of its length; every interval ends at a burst start of the slice, lasts at
    most MAX_GAP_MS and (but the first) lies inside the slice.  An interval lasts at
    least 1 ms, not BURST_GAP_MS: the agent's clock may step back a little (a corrected
    offset) or the agent restart within a second, and two burst starts then come closer
    (``agent.timeline`` counts every interval longer than 0).  A sum of squares below
    sum² / count (Cauchy-Schwarz), or above what the intervals give with all but one of
    them 1 ms long, or above sum x longest interval, describes no set of intervals.

    Keystrokes and keyed bursts are not compared: a burst belongs to the slice it starts
    in, so a key typed in a burst begun in the previous slice counts in this slice's
    keystrokes and the previous slice's keyed bursts.  All in Python integers: exact,
    no overflow.
    """
    present = [name for name in TIMING_FIELDS if getattr(hb, name) is not None]
    if not present:
        return
    if len(present) != len(TIMING_FIELDS):
        missing = ", ".join(n for n in TIMING_FIELDS if n not in present)
        bad(present[0], f"the input timing fields come together; missing {missing}")
        return
    timing = hb.timing()
    assert timing is not None
    bursts, keyed, gaps, total, squares = timing
    most_bursts = slice_seconds * 1000 // BURST_GAP_MS
    if bursts > most_bursts:
        bad("bursts", f"{bursts} in a {slice_seconds}-second slice; at most {most_bursts}")
    if keyed > bursts:
        bad("keyed_bursts", f"{keyed} is more than bursts {bursts}")
    if gaps > bursts:
        bad("gaps", f"{gaps} is more than bursts {bursts}")
    longest = slice_seconds * 1000 + MAX_GAP_MS
    if gaps == 0 and (total or squares):
        bad("gap_ms_sum", "no gaps, so the sum and the sum of squares must be 0")
    elif total > min(gaps * MAX_GAP_MS, longest):
        bad("gap_ms_sum", f"{total} ms is longer than {gaps} gap(s) can be")
    elif total < gaps:
        bad("gap_ms_sum", f"{total} ms is shorter than {gaps} gap(s) of at least 1 ms each")
    elif (
        squares * gaps < total * total
        or squares > total * MAX_GAP_MS
        or (gaps and squares > (total - gaps + 1) ** 2 + gaps - 1)
    ):
        bad(
            "gap_ms_sum_sq",
            f"{squares} is no sum of squares of {gaps} gap(s) summing to {total} ms",
        )
