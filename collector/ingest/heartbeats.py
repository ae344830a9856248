"""Storing a verified heartbeat batch exactly once."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import msgspec
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    String,
    Table,
    bindparam,
    case,
    func,
    null,
    update,
)

from collector.attendance import store as attendance
from collector.auth.signatures import AgentCaller
from collector.db import locks, retention, text
from collector.db.base import UTCDateTime
from collector.db.direct import Fixed
from collector.db.models import Device, Slice
from collector.db.text import count_of
from collector.db.upsert import count_inserted
from collector.devices import management
from collector.errors import ApiError
from collector.ingest import overlaps
from collector.stats import regular, rollups
from shared.protocol import (
    TIMING_FIELDS,
    AgentSettings,
    Heartbeat,
    HeartbeatBatch,
    HeartbeatReply,
    Problem,
    format_time,
    problem_text,
    validate_batch,
)

_decoder = msgspec.json.Decoder(HeartbeatBatch)
_devices = cast(Table, Device.__table__)
# One fixed statement for every batch (optional values keep the stored ones).
_DEVICE_SEEN = Fixed(
    update(_devices)
    .where(_devices.c.id == bindparam("device"))
    .values(
        last_seen_at=bindparam("now", type_=UTCDateTime),
        clock_skew_seconds=bindparam("skew"),
        slices_received=_devices.c.slices_received + bindparam("inserted"),
        seq_max=case(
            (bindparam("seq") > _devices.c.seq_max, bindparam("seq")), else_=_devices.c.seq_max
        ),
        agent_version=func.coalesce(bindparam("version", type_=String), _devices.c.agent_version),
        queue_health=func.coalesce(
            bindparam("queue", type_=JSON(none_as_null=True)), _devices.c.queue_health
        ),
        rotate_requested_at=case(
            (bindparam("clear_rotation", type_=Boolean), null()),
            else_=_devices.c.rotate_requested_at,
        ),
        # Sending again after an uninstall: it was reinstalled, when the batch was signed
        # after the retirement (an older batch sent again leaves the device uninstalled).
        **management.reinstalled_values(_devices),
    )
)


def decode_batch(body: bytes) -> HeartbeatBatch:
    try:
        return _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_batch", problem_text(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc}") from None


MAX_PROBLEMS_LISTED = 100


def check_batch(batch: HeartbeatBatch, settings: AgentSettings, now: dt.datetime) -> None:
    problems = validate_batch(batch, slice_seconds=settings.slice_seconds, now=now)
    for name, value, column in (
        ("batch_id", batch.batch_id, Slice.batch_id),
        ("agent_version", batch.agent_version, Device.agent_version),
    ):
        if value is None:
            continue
        # The schema's patterns end in "$", which also matches before a final line break.
        final_break = value.endswith("\n")
        wrong = "must not end with a line break" if final_break else text.problem(value, column)
        if wrong is not None:
            problems.append(Problem(name, wrong))
    if problems:
        listed = (
            "" if len(problems) <= MAX_PROBLEMS_LISTED else f" (first {MAX_PROBLEMS_LISTED} listed)"
        )
        raise ApiError(
            422,
            "invalid_batch",
            f"{count_of(len(problems), 'problem')} in batch {batch.batch_id}{listed}; "
            "nothing was stored",
            [p.as_dict() for p in problems[:MAX_PROBLEMS_LISTED]],
        )


def store_batch(
    connection: Connection,
    caller: AgentCaller,
    batch: HeartbeatBatch,
    settings: AgentSettings,
    now: dt.datetime,
) -> HeartbeatReply:
    """Insert the batch's new slices and note the device's health, in one transaction."""
    length = settings.slice_seconds if batch.slice_seconds is None else batch.slice_seconds
    if batch.heartbeats:
        # One batch of a chatter's devices at a time from here on: two racing batches
        # (of any of its devices, through any process) must each see the other's slices
        # before deciding they overlap nothing.
        locks.serialise(connection, locks.SLICES, caller.chatter_id)
        spans = [
            overlaps.Span(hb.start.astimezone(dt.UTC), length, hb.seq) for hb in batch.heartbeats
        ]
        overlaps.refuse_overlaps(
            connection, caller.chatter_id, caller.device_id, spans, batch.batch_id
        )
    rows = [_slice_row(caller, batch, hb, length, now) for hb in batch.heartbeats]
    inserted = count_inserted(connection, Slice, rows, ("device_id", "start"))
    if inserted:
        locks.serialise(connection, locks.ACTIVITY, caller.chatter_id)
        _refuse_purged(connection, batch)  # read under the lock a purge holds
        starts = [hb.start for hb in batch.heartbeats]
        # New slices may extend, join or break a run of regular input: flags nearby change.
        flipped = regular.refresh(connection, caller.device_id, starts)
        rollups.refresh_activity(connection, caller.chatter_id, [*starts, *flipped])
        attendance.refresh(connection, caller.chatter_id, [*starts, *flipped])

    seqs = sorted(hb.seq for hb in batch.heartbeats)
    requested = caller.rotate_requested_at
    rotate = requested is not None and caller.key_created_at < requested
    _DEVICE_SEEN.run(
        connection,
        {
            "device": caller.device_id,
            "now": now,
            "skew": round((batch.sent_at - now).total_seconds(), 3),
            "inserted": inserted,
            "seq": seqs[-1] if seqs else 0,
            "version": batch.agent_version,
            "queue": None if batch.queue is None else msgspec.to_builtins(batch.queue),
            "clear_rotation": requested is not None and not rotate,
            "unretired_before": management.unretired_before(caller.signed_at),
        },
    )
    return HeartbeatReply(
        accepted=inserted,
        duplicates=len(rows) - inserted,
        server_time=now,
        settings=settings,
        gaps=_gaps(caller.seq_max, seqs),
        rotate_key=rotate,
    )


# The input timing columns are NULL from an agent that sent none (or not all).
_NO_TIMING = (None,) * len(TIMING_FIELDS)


def _slice_row(
    caller: AgentCaller, batch: HeartbeatBatch, hb: Heartbeat, length: int, now: dt.datetime
) -> dict[str, Any]:
    bursts, keyed_bursts, gaps, gap_ms_sum, gap_ms_sum_sq = hb.timing() or _NO_TIMING
    return {
        "device_id": caller.device_id,
        "chatter_id": caller.chatter_id,
        "start": hb.start,
        "slice_seconds": length,
        "duration": hb.duration,
        "active_seconds": hb.active_seconds,
        "input_seconds": hb.input_seconds,
        "paused_seconds": hb.paused_seconds,
        "keystrokes": hb.keystrokes,
        "mouse_events": hb.mouse_events,
        "bursts": bursts,
        "keyed_bursts": keyed_bursts,
        "gaps": gaps,
        "gap_ms_sum": gap_ms_sum,
        "gap_ms_sum_sq": gap_ms_sum_sq,
        "seq": hb.seq,
        "batch_id": batch.batch_id,
        "received_at": now,
    }


def _refuse_purged(connection: Connection, batch: HeartbeatBatch) -> None:
    """Slices of a purged period would recompute its closed buckets from nothing."""
    closed = retention.watermarks(connection).slices
    if closed is None:
        return
    # Named like validate_batch's problems, so the agent parks just these slices.
    old = [
        Problem(f"heartbeats[{i}].start", f"before {format_time(closed)}: a purged period")
        for i, hb in enumerate(batch.heartbeats)
        if hb.start < closed
    ]
    if old:
        raise ApiError(
            422,
            "purged_period",
            f"{count_of(len(old), 'slice')} {'starts' if len(old) == 1 else 'start'} before "
            f"{format_time(closed)}, where raw slices have "
            "been purged (retention_slice_days); nothing was stored",
            [p.as_dict() for p in old[:MAX_PROBLEMS_LISTED]],
        )


def _gaps(previous_max: int, seqs: list[int]) -> list[tuple[int, int]]:
    """Seq ranges missing between the device's previous high mark and this batch."""
    gaps = []
    expected = previous_max + 1
    for seq in seqs:
        if seq > expected:
            gaps.append((expected, seq - 1))
        expected = max(expected, seq + 1)
    return gaps
