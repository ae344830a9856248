"""The results table, the notes under it, and the JSON file for the owner."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.scenarios import ScenarioResult

RESULTS_DIR = Path(__file__).with_name("results")

TARGET_HEARTBEAT_RPS = 1000.0
TARGET_HEARTBEAT_P99_MS = 20.0
TARGET_BACKLOG_SPS = 50_000.0
REFERENCE = "ActivityWatch aw-server: 124 heartbeats/s, p99 12.8 ms"
TARGETS = (
    f"targets: heartbeat 1-slice >= {TARGET_HEARTBEAT_RPS:,.0f} req/s with p99 <= "
    f"{TARGET_HEARTBEAT_P99_MS:.0f} ms; backlog flush >= {TARGET_BACKLOG_SPS:,.0f} slices/s; "
    f"reference {REFERENCE}"
)


@dataclass
class LaneResult:
    lane: str
    status: str = "ran"  # ran | not run | failed
    reason: str = ""
    scenarios: list[ScenarioResult] = field(default_factory=list)
    worker_peak_rss_mib: list[float] = field(default_factory=list)
    server_log_problems: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lane": self.lane,
            "status": self.status,
            "reason": self.reason,
            "scenarios": [s.as_dict() for s in self.scenarios],
            "worker_peak_rss_mib": [round(v, 1) for v in self.worker_peak_rss_mib],
            "server_log_problems": self.server_log_problems,
        }


HEADER = ("lane", "scenario", "clients", "requests", "ok", "throughput", "p50 ms", "p99 ms", "db")
ALIGN = "<<>>>>>>>"


def _row(lane: str, s: ScenarioResult) -> tuple[str, ...]:
    db = "ok" if s.stored == s.accepted == s.expected else f"{s.stored}/{s.expected}"
    return (
        lane,
        s.name,
        str(s.clients),
        f"{s.requests:,}",
        f"{s.ok:,}",
        f"{s.throughput:,.0f} {s.unit}",
        f"{s.p50_ms:.1f}",
        f"{s.p99_ms:.1f}",
        db,
    )


def _verdict(s: ScenarioResult) -> str | None:
    if s.name == "heartbeat 1-slice":
        met = s.throughput >= TARGET_HEARTBEAT_RPS and s.p99_ms <= TARGET_HEARTBEAT_P99_MS
        return (
            f"{s.throughput:,.0f} req/s, p99 {s.p99_ms:.1f} ms: "
            f"{'meets' if met else 'misses'} target"
        )
    if s.name.startswith("backlog"):
        met = s.throughput >= TARGET_BACKLOG_SPS
        return f"{s.throughput:,.0f} slices/s: {'meets' if met else 'misses'} target"
    return None


def render(results: list[LaneResult], duration_s: float) -> str:
    rows = [_row(lane.lane, s) for lane in results for s in lane.scenarios]
    rows += [(lane.lane, f"({lane.status}: {lane.reason})") for lane in results if lane.reason]
    widths = [len(h) for h in HEADER]
    for row in rows:
        if len(row) == len(HEADER):
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def fmt(row: tuple[str, ...]) -> str:
        if len(row) != len(HEADER):
            return " | ".join(row)
        cells = [
            c.ljust(w) if a == "<" else c.rjust(w)
            for c, w, a in zip(row, widths, ALIGN, strict=True)
        ]
        return " | ".join(cells)

    lines = [fmt(HEADER), "-+-".join("-" * w for w in widths)]
    lines += [fmt(row) for row in rows]
    lines += ["", TARGETS]
    for lane in results:
        lines += _lane_notes(lane)
    lines.append(
        "ok = replies 200 with every item accepted and no duplicate; db = rows stored vs sent; "
        f"p50/p99 include the TCP connect. Whole run: {duration_s:.0f} s."
    )
    return "\n".join(lines)


def _lane_notes(lane: LaneResult) -> list[str]:
    notes = []
    for s in lane.scenarios:
        where = f"  {lane.lane} {s.name}:"
        verdict = _verdict(s)
        if verdict:
            notes.append(f"{where} {verdict}")
        if s.requests < s.planned:
            notes.append(
                f"{where} sent {s.requests} of {s.planned} before the {s.deadline_s:.0f} s limit"
            )
        for message, count in s.failures.items():
            notes.append(f"{where} {count} x {message}")
        if not s.all_ok:
            notes.append(f"{where} NOT ALL OK: {s.ok} of {s.requests} replies ok")
        if not s.exactly_once:
            notes.append(
                f"{where} EXACTLY-ONCE VIOLATED: replies acknowledged {s.accepted} items, "
                f"the database holds {s.stored}"
            )
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in s.cpu_s.items())
        per_request = s.cpu_s.get("app", 0.0) * 1000 / max(s.requests, 1)
        notes.append(
            f"{where} CPU s in {s.elapsed_s:.1f} s wall: {cpu} (app {per_request:.1f} ms/request)"
        )
    if lane.worker_peak_rss_mib:
        peaks = ", ".join(f"{v:.0f}" for v in lane.worker_peak_rss_mib)
        notes.append(f"  {lane.lane}: gunicorn worker peak RSS {peaks} MiB")
    for message, count in lane.server_log_problems.items():
        notes.append(f"  {lane.lane} server log: {count} x {message}")
    return notes


def _latest() -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    ignore = RESULTS_DIR / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*.json\n")
    return RESULTS_DIR / "latest.json"


def merge_json(section: str, value: dict[str, Any]) -> Path:
    """One part's results under ``section`` of latest.json, keeping what the rest wrote."""
    path = _latest()
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        document = {}
    if not isinstance(document, dict):
        document = {}
    document[section] = value
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def write_json(results: list[LaneResult], meta: dict[str, Any]) -> Path:
    path = _latest()
    document = meta | {
        "targets": {
            "heartbeat_1_slice_min_rps": TARGET_HEARTBEAT_RPS,
            "heartbeat_1_slice_max_p99_ms": TARGET_HEARTBEAT_P99_MS,
            "backlog_min_slices_per_s": TARGET_BACKLOG_SPS,
            "reference": REFERENCE,
        },
        "lanes": [lane.as_dict() for lane in results],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
